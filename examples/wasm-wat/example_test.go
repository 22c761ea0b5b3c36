// Package wasmwat runs the committed WAT worker, and the C one next door
// (a folder with C files holds no Go test), the way their READMEs do.
package wasmwat

import (
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
)

func TestRunFourWorkers(t *testing.T) {
	bin, err := enginetest.BuildIsowasm(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{".", "../wasm-c"} {
		t.Run(dir, func(t *testing.T) {
			enginetest.ReadyThenInterrupt(t, dir, bin, 4, "worker.wasm", nil)
		})
	}
}
