package wasm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/isowasm/isowasm/runtimes/wasm/wasmtest"
)

// FuzzCheckLimits: the limit check reads untrusted bytes before anything
// else does, and must never panic on them; a minimum it reports was read
// from the bytes.
func FuzzCheckLimits(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.wasm"))
	for _, path := range fixtures {
		if bin, err := os.ReadFile(path); err == nil {
			f.Add(bin)
		}
	}
	f.Add(wasmtest.Module([][]byte{wasmtest.Locals(1<<32 - 1)}))
	f.Add(wasmtest.Module([][]byte{wasmtest.Nested(20)}))
	f.Add(wasmtest.Guest(1, [][]byte{wasmtest.Stack(10)}))
	f.Fuzz(func(t *testing.T, bin []byte) {
		facts, _ := checkLimits(bin)
		if !facts.hasMemory && facts.minPages != 0 {
			t.Fatalf("a minimum of %d pages without a memory", facts.minPages)
		}
	})
}

// The facts the check reports: the first memory's declared minimum.
func TestCheckLimitsFacts(t *testing.T) {
	facts, err := checkLimits(wasmtest.Guest(40, nil))
	if err != nil || !facts.hasMemory || facts.minPages != 40 {
		t.Fatalf("facts %+v, %v", facts, err)
	}
	facts, err = checkLimits(wasmtest.Module(nil))
	if err != nil || facts.hasMemory {
		t.Fatalf("a module without memory: %+v, %v", facts, err)
	}
}
