#!/bin/sh
# Rebuilds the .wasm fixtures from their .wat sources (wabt: apt-get install -y wabt),
# and corrupt.wasm, a module whose code section is cut short.
set -eu
cd "$(dirname "$0")"
for f in *.wat; do wat2wasm "$f" -o "${f%.wat}.wasm"; done
head -c 40 echo.wasm > corrupt.wasm
