package wasm_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	isowasm "github.com/isowasm/isowasm/hostabi/guest/go"
	"github.com/isowasm/isowasm/runtimes/wasm"
)

// TestGuestInItsOwnModule builds examples/wasm-go-module, a Go module of
// its own that depends on the guest SDK with a replace line (as the README
// says to until the SDK is published), and runs it: msg.Decode fills a Go
// struct from its cbor tags, and encoding/json writes an Object in order.
func TestGuestInItsOwnModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go guest")
	}
	dir := filepath.Join(repoRoot(t), "examples", "wasm-go-module")
	module := filepath.Join(t.TempDir(), "worker.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", module, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", dir, err, out)
	}
	// Compiled first, under a budget for a race-enabled, loaded machine, so
	// that the worker loads it from the cache within the session's wait.
	if _, err := wasm.Prepare(context.Background(), module, wasm.PrepareConfig{CacheDir: cacheDir, CompileTimeout: 5 * time.Minute, CompileMemory: 8 << 30}); err != nil {
		t.Fatal(err)
	}
	s := start(t, module)
	s.expectReady()
	// In this order, as a JavaScript primary would send it.
	task, err := isowasm.Marshal(isowasm.Obj("type", "task", "id", 7, "numbers", []any{1.5, 2, 3}, "zeta", true, "alpha", nil))
	if err != nil {
		t.Fatal(err)
	}
	s.send(cbor.RawMessage(task))
	want := obj("type", "result", "id", int64(7), "sum", 6.5,
		"json", `{"type":"task","id":7,"numbers":[1.5,2,3],"zeta":true,"alpha":null}`)
	if m := s.message(); !equalJSON(m, want) {
		t.Errorf("reply %#v\nwant %#v", m, want)
	}
	s.send(obj("type", "task", "id", "seven"))
	if m := s.message(); !equalJSON(m, obj("type", "error", "message", "isowasm: decoding .id: cannot store a string in a Go int")) {
		t.Errorf("reply to a bad task %#v", m)
	}
	if out := s.stdout.String(); !strings.Contains(out, `task {"type":"task","id":7,`) {
		t.Errorf("stdout %q", out)
	}
	s.disconnect()
	s.expectEOF()
	s.exit(0)
}
