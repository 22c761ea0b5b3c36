// Package hello is the smallest isowasm worker (worker.js); this test runs
// it the way the README does: isowasm run --workers 4 worker.js.
package hello

import (
	"fmt"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
)

func TestHelloCluster(t *testing.T) {
	bin, err := enginetest.BuildIsowasm(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	enginetest.ReadyThenInterrupt(t, ".", bin, 4, "worker.js", func(r *enginetest.Run) {
		for id := 1; id <= 4; id++ {
			// Messages both ways: each worker pings, the primary's pong is logged.
			r.Stdout.Wait(t, fmt.Sprintf("worker %d: hello! the primary answered in", id))
		}
	})
}
