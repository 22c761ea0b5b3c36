package worker

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isowasm/isowasm/runtimes/host/hosttest"
)

// A JavaScript worker that allocates without end dies at its heap cap,
// saying so, with Node's status for a heap out of memory; the process's
// peak resident size (the kernel's, from wait4) stays near the cap.
// Without the cap the script grows to 512 MiB and exits 0.
func TestHeapCapHolds(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector a process's resident size is its shadow memory's, and goja crawls")
	}
	const capMiB = 64
	script := filepath.Join(t.TempDir(), "bomb.js")
	bomb := `const keep = [];
for (let i = 0; i < 512; i++) keep.push(new Uint8Array(1 << 20).fill(1)); // 1 MiB each, touched
console.log('grew to', keep.length, 'MiB');
process.exit(0);
`
	if err := os.WriteFile(script, []byte(bomb), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := Options{MaxHeap: capMiB << 20}.Environ()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], script)
	cmd.Env = append(append(os.Environ(), envTestWorker+"=1", "XDG_CACHE_HOME="+t.TempDir()), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	conn := hosttest.Start(t, cmd, 1)
	defer conn.Close()
	go io.Copy(io.Discard, conn) // the primary reads what comes
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	cmd.Wait()

	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss >> 10 // MiB
	t.Logf("peak RSS %d MiB under a %d MiB heap cap", peak, capMiB)
	if code := cmd.ProcessState.ExitCode(); code != heapExitCode {
		t.Errorf("exit code %d, want %d", code, heapExitCode)
	}
	want := fmt.Sprintf("isowasm: worker 1: %s: out of memory: its JavaScript heap holds ", script)
	if !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), fmt.Sprintf("the %d MiB limit leaves no room to collect garbage in; raise --max-heap", capMiB)) {
		t.Errorf("stderr %q, want %q…", stderr.String(), want)
	}
	if peak > capMiB+heapSlackMiB {
		t.Errorf("peak RSS %d MiB, over the %d MiB cap by more than %d MiB", peak, capMiB, heapSlackMiB)
	}
}

// heapSlackMiB is what a JavaScript worker process holds besides its heap:
// the binary's pages, the runtime, goroutine stacks.
const heapSlackMiB = 48
