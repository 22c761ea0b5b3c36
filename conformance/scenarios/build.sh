#!/bin/sh
# Rebuilds each scenario's worker.wasm from its worker.wat (wabt: apt-get install -y wabt).
# The .wasm files are committed, so the suite runs without wabt.
set -eu
cd "$(dirname "$0")"
for f in */worker.wat; do wat2wasm "$f" -o "${f%.wat}.wasm"; done
