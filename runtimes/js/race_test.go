//go:build race

package js

// raceEnabled: the race detector slows goja several times over, which
// stretches the reference scenarios' real-time windows (a worker must
// leave within 1.5 s…) past what they allow.
const raceEnabled = true
