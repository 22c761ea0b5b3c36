//go:build race

package wasm_test

// raceEnabled: the race detector multiplies a worker process's resident
// memory (its shadow memory) and slows the host several times over.
const raceEnabled = true
