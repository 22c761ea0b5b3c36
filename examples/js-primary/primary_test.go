// Package jsprimary runs a primary script the way its comment says:
// isowasm run primary.js.
package jsprimary

import (
	"fmt"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
)

func TestPrimaryScript(t *testing.T) {
	bin, err := enginetest.BuildIsowasm(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := enginetest.Start(t, ".", bin, "run", "primary.js")
	if code := r.Wait(); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	for id := 1; id <= 8; id++ {
		r.Stdout.Wait(t, fmt.Sprintf("task %d done by worker ", id))
		r.Stdout.Wait(t, fmt.Sprintf("] working on task %d\n", id))
	}
	for _, want := range []string{"worker 1 ready", "worker 2 ready", "worker 3 ready", "all tasks done, shutting down", "shut down"} {
		r.Stdout.Wait(t, want)
	}
}
