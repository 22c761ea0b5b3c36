//go:build race

package worker

// raceEnabled: the race detector multiplies a process's memory (shadow
// memory) and slows goja several times over.
const raceEnabled = true
