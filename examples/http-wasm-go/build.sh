#!/bin/sh
# Builds worker.wasm from main.go (Go is all it needs).
set -eu
cd "$(dirname "$0")"
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o worker.wasm .
