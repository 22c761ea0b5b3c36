//go:build race

package wasm

// budgetFactor stretches the compile budgets in a race-enabled binary (a
// test binary), whose compiles take many times the time and memory.
const budgetFactor = 10
