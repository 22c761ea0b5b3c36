#!/bin/sh
# Rebuilds worker.wasm from worker.c. Needs clang 14+, lld and wasi-libc:
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
set -eu
cd "$(dirname "$0")"
clang --target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-all \
    -I ../../hostabi/guest/c -o worker.wasm worker.c
