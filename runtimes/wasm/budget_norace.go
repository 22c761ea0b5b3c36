//go:build !race

package wasm

// budgetFactor stretches the compile budgets in a race-enabled binary.
const budgetFactor = 1
