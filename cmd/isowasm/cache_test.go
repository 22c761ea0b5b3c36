package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
	"github.com/isowasm/isowasm/runtimes/wasm/wasmtest"
)

// runIsowasm runs the binary to its end with a cache directory of its own
// (XDG_CACHE_HOME) and returns its output and exit code.
func runIsowasm(t *testing.T, cache string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// startIsowasm is enginetest.Start with a cache directory of its own.
func startIsowasm(t *testing.T, cache string, args ...string) *enginetest.Run {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", cache)
	return start(t, args...)
}

// slowGuest is a guest that takes a second or more to compile: six
// functions of 10,000 nested blocks, each within the limits.
func slowGuest(t *testing.T) string {
	t.Helper()
	var slow [][]byte
	for range 6 {
		slow = append(slow, wasmtest.Nested(10_000))
	}
	path := filepath.Join(t.TempDir(), "slow.wasm")
	if err := os.WriteFile(path, wasmtest.Guest(1, slow), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCompileOnceBeforeForking: a primary script's compiled workers are
// compiled once, before the first fork, with a progress line; the default
// primary's "ready in" says whether it included the compile.
func TestCompileOnceBeforeForking(t *testing.T) {
	module := slowGuest(t)
	app := writeScript(t, "app.js", `
import cluster from 'node:cluster';
cluster.setupPrimary({exec: process.argv[2]});
for (let i = 0; i < 3; i++) cluster.fork();
let ready = 0;
cluster.on('message', (w, m) => {
    if (m === 'ready' && ++ready === 3) {
        console.log('3 ready');
        cluster.disconnect();
    }
});
`)
	cache := t.TempDir()
	stdout, stderr, code := runIsowasm(t, cache, "run", app, module)
	if code != 0 || !strings.Contains(stdout, "3 ready") {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if n := strings.Count(stderr, "isowasm: compiling slow.wasm ("); n != 1 || !strings.Contains(stderr, "… done in ") || !strings.Contains(stderr, " s, cached\n") {
		t.Errorf("%d progress lines, want one saying it was compiled and cached; stderr:\n%s", n, stderr)
	}

	// The default primary: loaded from the cache the script filled...
	t.Setenv("XDG_CACHE_HOME", cache)
	enginetest.ReadyThenInterrupt(t, "", bin, 2, module, func(r *enginetest.Run) {
		r.Stderr.Wait(t, "2 of 2 workers ready in ")
		r.Stderr.Wait(t, "(slow.wasm loaded from the compile cache)\n")
	})
	// ...and compiled, with an empty one.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	enginetest.ReadyThenInterrupt(t, "", bin, 2, module, func(r *enginetest.Run) {
		r.Stderr.Wait(t, "isowasm: compiling slow.wasm (")
		r.Stderr.Wait(t, " of it compiling slow.wasm)\n")
	})
}

// TestModulesRefusedBeforeForking: a module over a limit, or whose initial
// memory is above --max-memory, is refused in one line before any fork.
func TestModulesRefusedBeforeForking(t *testing.T) {
	dir := t.TempDir()
	locals := filepath.Join(dir, "locals.wasm")
	big := filepath.Join(dir, "big.wasm")
	os.WriteFile(locals, wasmtest.Module([][]byte{wasmtest.Locals(1<<32 - 1)}), 0o644)
	os.WriteFile(big, wasmtest.Guest(40, nil), 0o644) // 2.5 MiB
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "-w", "2", locals}, "isowasm: wasm: " + locals + ": 4294967295 locals in function 0, over the limit of 50000\n"},
		{[]string{"run", "-w", "2", "--max-memory", "2", big}, "isowasm: " + big + " declares 3 MiB of initial linear memory, more than --max-memory 2 allows: give --max-memory 3 or more, or leave it out\n"},
	}
	for _, tt := range tests {
		_, stderr, code := runIsowasm(t, t.TempDir(), tt.args...)
		if code != 1 || stderr != tt.want {
			t.Errorf("%v: exit code %d, stderr:\n%s\nwant 1 and:\n%s", tt.args, code, stderr, tt.want)
		}
	}
	// A primary script's workers of a refused module come online and exit
	// 1 saying why, as workers whose script cannot load, without
	// compiling it again each.
	app := writeScript(t, "app.js", `
import cluster from 'node:cluster';
cluster.setupPrimary({exec: process.argv[2]});
cluster.on('online', w => console.log('online ' + w.id));
cluster.on('exit', (w, code) => console.log('exit ' + w.id + ' ' + code));
cluster.fork();
cluster.fork();
`)
	stdout, stderr, code := runIsowasm(t, t.TempDir(), "run", app, locals)
	for id := 1; id <= 2; id++ {
		if !strings.Contains(stdout, fmt.Sprintf("online %d\n", id)) || !strings.Contains(stdout, fmt.Sprintf("exit %d 1\n", id)) {
			t.Errorf("worker %d did not come online and exit 1; stdout:\n%s", id, stdout)
		}
		if want := fmt.Sprintf("isowasm: worker %d: wasm: %s: 4294967295 locals in function 0, over the limit of 50000\n", id, locals); !strings.Contains(stderr, want) {
			t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
		}
	}
	if code != 0 || strings.Count(stderr, "compiling locals.wasm") > 1 {
		t.Errorf("exit code %d; stderr:\n%s", code, stderr)
	}

	// Within the limit, it runs.
	c := startIsowasm(t, t.TempDir(), "run", "-w", "1", "--max-memory", "3", big)
	c.Stderr.Wait(t, "1 of 1 workers ready")
	c.Signal(syscall.SIGINT)
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestCacheCommand(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "isowasm", "wasm")
	stdout, _, code := runIsowasm(t, cache, "cache", "info")
	if code != 0 || !strings.Contains(stdout, "dir      "+dir+"\n") || !strings.Contains(stdout, "entries  0 compiled modules\n") {
		t.Fatalf("info on an empty cache: %d\n%s", code, stdout)
	}
	t.Setenv("XDG_CACHE_HOME", cache)
	enginetest.ReadyThenInterrupt(t, "", bin, 1, "../../examples/wasm-wat/worker.wasm", nil)
	stdout, _, code = runIsowasm(t, cache, "cache", "info")
	if code != 0 || !strings.Contains(stdout, "entries  1 compiled modules\n") || !strings.Contains(stdout, "(cap 512 MiB;") {
		t.Fatalf("info after a run: %d\n%s", code, stdout)
	}
	stdout, _, code = runIsowasm(t, cache, "cache", "clean")
	if code != 0 || !strings.HasPrefix(stdout, "removed 1 compiled modules (") || !strings.HasSuffix(stdout, ") from "+dir+"\n") {
		t.Fatalf("clean: %d\n%s", code, stdout)
	}
	stdout, _, _ = runIsowasm(t, cache, "cache", "info")
	if !strings.Contains(stdout, "entries  0 compiled modules\n") {
		t.Fatalf("info after clean:\n%s", stdout)
	}
}
