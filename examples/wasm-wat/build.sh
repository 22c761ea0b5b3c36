#!/bin/sh
# Rebuilds worker.wasm from worker.wat. Needs wabt: apt-get install -y wabt
set -eu
cd "$(dirname "$0")"
wat2wasm worker.wat -o worker.wasm
