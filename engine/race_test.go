//go:build race

package engine_test

// raceEnabled: the race detector multiplies the memory a process uses, so
// tests that bound the primary's memory do not hold it to their figures.
const raceEnabled = true
