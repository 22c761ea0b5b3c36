//go:build !wasip1

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
)

// TestRunFourWorkers builds the guest from source, as build.sh does, and
// runs it the way the README does.
func TestRunFourWorkers(t *testing.T) {
	dir := t.TempDir()
	bin, err := enginetest.BuildIsowasm(dir)
	if err != nil {
		t.Fatal(err)
	}
	module := filepath.Join(dir, "worker.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", module, ".")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the guest: %v\n%s", err, out)
	}
	enginetest.ReadyThenInterrupt(t, ".", bin, 4, module, nil)
}
