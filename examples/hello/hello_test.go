// Package hello is the smallest isowasm worker (worker.js); this test runs
// it the way the README does: isowasm run --workers 4 worker.js.
package hello

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/isowasm/isowasm/internal/proctest"
)

func TestHelloCluster(t *testing.T) {
	bin, err := proctest.BuildIsowasm(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := proctest.NewLines(), proctest.NewLines()
	cmd := exec.Command(bin, "run", "--workers", "4", "worker.js")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr)
		}
	}()
	stderr.Wait(t, "4 of 4 workers ready")
	for id := 1; id <= 4; id++ {
		stdout.Wait(t, fmt.Sprintf("worker %d: hello! the primary answered in", id))
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("isowasm ended with %v after Ctrl-C, want exit 0", err)
		}
	case <-time.After(proctest.WaitTimeout):
		t.Fatal("isowasm did not stop after Ctrl-C")
	}
}
