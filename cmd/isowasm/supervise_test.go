package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isowasm/isowasm/engine/enginetest"
)

// A worker that always crashes: the replacements slow down, stop at the
// limit, and isowasm exits 1 saying why, leaving nothing behind.
func TestCrashLoopGivesUp(t *testing.T) {
	script := writeScript(t, "crash.js", `process.exit(1);`)
	c := start(t, "run", "-w", "2", "--max-restarts", "2", "--max-start-failures", "0", "--restart-backoff", "10ms", script)
	if code := c.Wait(); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	out := c.Stderr.String()
	for _, want := range []string{
		"worker 1 exited with code 1 during start; replacing it in 10ms",
		"exited with code 1 during start; replacing it in 20ms",
		"exited with code 1 during start; not replacing it: it died after 2 replacements within 1m0s (--max-restarts 2, --restart-window 1m0s)",
		"every worker of " + script + " is gone and none will be replaced",
		"fix what makes the workers exit, then run again",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the log", want)
		}
	}
	for id, pid := range c.PIDs() {
		if enginetest.Alive(pid) {
			t.Errorf("worker %d (pid %d) left running", id, pid)
		}
	}
}

// Hung workers of both kinds are found by the heartbeat, killed and
// replaced; the others carry on.
func TestHungWorkers(t *testing.T) {
	t.Run("js", func(t *testing.T) {
		script := writeScript(t, "hang.js", `
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
const w = _ClusterWorker();
if (_ClusterWorker.workerId === 1) {
    setTimeout(() => { for (;;) {} }, 50);
}
`)
		c := start(t, "run", "-w", "2", "--heartbeat-interval", "50ms", "--heartbeat-timeout", "500ms", script)
		c.Stderr.Wait(t, "worker 1 did not answer the heartbeat for")
		c.Stderr.Wait(t, "worker 1 killed by SIGKILL")
		c.Stderr.Wait(t, "worker 3 ready")
		c.Signal(syscall.SIGINT)
		if code := c.Wait(); code != 0 {
			t.Fatalf("exit code %d", code)
		}
		if strings.Contains(c.Stderr.String(), "worker 2 did not answer") {
			t.Error("the healthy worker was killed")
		}
	})
	t.Run("wasm", func(t *testing.T) {
		c := start(t, "run", "-w", "1", "--heartbeat-interval", "50ms", "--heartbeat-timeout", "500ms",
			"--max-restarts", "1", "--restart-backoff", "10ms", "../../runtimes/wasm/testdata/spin_later.wasm")
		if code := c.Wait(); code != 1 {
			t.Fatalf("exit code %d, want 1", code)
		}
		out := c.Stderr.String()
		for _, want := range []string{"worker 1 did not answer the heartbeat", "worker 2 did not answer the heartbeat", "every worker of"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in the log", want)
			}
		}
	})
}

func TestMemoryBomb(t *testing.T) {
	script := writeScript(t, "bomb.js", `
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
const w = _ClusterWorker();
const hog = [];
setInterval(() => { hog.push(new Array(1e6).fill(1)); }, 5);
`)
	c := start(t, "run", "-w", "1", "--max-rss", "200", "--heartbeat-interval", "100ms", "--max-restarts", "0", script)
	c.Stderr.Wait(t, "MiB of resident memory, over the limit of 200 MiB: killed")
	c.Stderr.Wait(t, "worker 1 killed by SIGKILL")
	c.Stderr.Wait(t, "worker 2 ready")
	c.Signal(syscall.SIGINT)
	c.Stderr.Wait(t, "shutting down the workers")
	c.Signal(syscall.SIGINT) // the second kills the workers at once
	c.Stderr.Wait(t, "again: killing the workers")
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// --grace bounds how long a worker that ignores the disconnect may linger.
func TestGrace(t *testing.T) {
	script := writeScript(t, "stubborn.js", `
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
const w = _ClusterWorker();
setInterval(() => {}, 1000);
`)
	c := start(t, "run", "-w", "1", "--grace", "200ms", script)
	c.Stderr.Wait(t, "1 of 1 workers ready")
	pids := c.PIDs()
	c.Signal(os.Interrupt)
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(c.Stderr.String(), "killing the workers still running") {
		t.Error("the worker was not killed after the grace period")
	}
	for id, pid := range pids {
		if enginetest.Alive(pid) {
			t.Errorf("worker %d (pid %d) left running", id, pid)
		}
	}
}

func TestSupervisionFlagsChecked(t *testing.T) {
	primary := writeScript(t, "primary.js", `
import cluster from 'node:cluster';
if (cluster.isWorker) { process.send('ready'); }
`)
	worker := writeScript(t, "worker.js", `1;`)
	for _, args := range [][]string{
		{"run", "--max-restarts", "3", primary},
		{"run", "--heartbeat-interval", "1s", "--heartbeat-timeout", "100ms", "-w", "1", worker},
		{"run", "--max-queued", "-1", "-w", "1", worker},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
		t.Logf("%v: %s", args, out)
	}
}

// A worker that dies by its own signal is counted against --max-restarts:
// the crash loop ends.
func TestSelfSignalCrashLoopGivesUp(t *testing.T) {
	t.Run("process.kill(process.pid, 'SIGKILL')", func(t *testing.T) {
		script := writeScript(t, "suicide.js", `process.kill(process.pid, 'SIGKILL');`)
		c := start(t, "run", "-w", "1", "--max-restarts", "2", "--max-start-failures", "0", "--restart-backoff", "10ms", script)
		if code := c.Wait(); code != 1 {
			t.Fatalf("exit code %d, want 1", code)
		}
		c.Stderr.Wait(t, "worker 3 killed by SIGKILL during start; not replacing it: it died after 2 replacements")
		c.Stderr.Wait(t, "every worker of "+script+" is gone")
		if strings.Contains(c.Stderr.String(), "protocol") {
			t.Error("the worker's word on its own signal broke the protocol")
		}
	})
	t.Run("SIGPIPE", func(t *testing.T) {
		script := writeScript(t, "chatty.js", `
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
_ClusterWorker();
setInterval(() => console.log('hello'), 5);
`)
		// The workers' stdout is a pipe nobody reads: their first line
		// raises SIGPIPE.
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		defer w.Close()
		stderr := enginetest.NewLines()
		cmd := exec.Command(bin, "run", "-w", "1", "--max-restarts", "2", "--max-start-failures", "0", "--restart-backoff", "10ms", script)
		cmd.Stdout, cmd.Stderr = w, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("%v, want exit status 1\n%s", err, stderr)
			}
		case <-time.After(enginetest.WaitTimeout):
			t.Fatalf("the crash loop did not end\n%s", stderr)
		}
		for _, want := range []string{"worker 1 killed by SIGPIPE", "worker 3 killed by SIGPIPE", "every worker of"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("no %q in the log:\n%s", want, stderr)
			}
		}
	})
}

// Kills from outside are replaced and never counted: the primary does not
// give up because someone killed its workers.
func TestOutsideKillsAreNotCounted(t *testing.T) {
	c := start(t, "run", "-w", "1", "--max-restarts", "1", "--restart-backoff", "10ms", "../../examples/hello/worker.js")
	for id := 1; id <= 3; id++ {
		c.Stderr.Wait(t, fmt.Sprintf("worker %d ready", id))
		syscall.Kill(c.PIDs()[id], syscall.SIGKILL)
		c.Stderr.Wait(t, fmt.Sprintf("worker %d killed by SIGKILL", id))
	}
	c.Stderr.Wait(t, "worker 4 ready")
	c.Signal(syscall.SIGTERM)
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// SIGHUP shuts the default primary down gracefully, as SIGTERM does.
func TestSIGHUPShutsDownGracefully(t *testing.T) {
	c := start(t, "run", "-w", "2", "../../examples/hello/worker.js")
	c.Stderr.Wait(t, "2 of 2 workers ready")
	pids := c.PIDs()
	c.Signal(syscall.SIGHUP)
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d after SIGHUP, want 0", code)
	}
	for id := 1; id <= 2; id++ {
		if !strings.Contains(c.Stderr.String(), fmt.Sprintf("worker %d exited with code 0 after disconnecting", id)) {
			t.Errorf("worker %d did not leave gracefully", id)
		}
		if enginetest.Alive(pids[id]) {
			t.Errorf("worker %d (pid %d) left running", id, pids[id])
		}
	}
}

// A worker script that throws at start: its error is printed once, each
// failed start is one line, and isowasm gives up within seconds saying
// what to fix.
func TestStartFailureReportedOnce(t *testing.T) {
	script := writeScript(t, "bad.js", `function boom () { throw new Error('bad config: missing PORT'); }
boom();
`)
	began := time.Now()
	c := start(t, "run", "-w", "2", script)
	if code := c.Wait(); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("gave up after %v", d)
	}
	out := c.Stderr.String()
	if n := strings.Count(out, "at boom ("); n != 1 {
		t.Errorf("the stack trace is printed %d times, want once", n)
	}
	// The first error printed is worker 1's or worker 2's.
	if !regexp.MustCompile(`\nisowasm: … the same error again ×5 \(workers [12]-6\)\n`).MatchString(out) {
		t.Error("the repeats are not summed up")
	}
	for _, want := range []string{
		"Error: bad config: missing PORT\n    at boom (" + script + ":1:",
		"exited with code 1 during start; replacing it in 100ms\n",
		"exited with code 1 during start (the same error); replacing it in 200ms\n",
		"exited with code 1 during start (the same error); not replacing it: 3 starts in a row failed (--max-start-failures 3)\n",
		"isowasm: run: every worker of " + script + " is gone and none will be replaced: the workers fail during start (3 times in a row): Error: bad config: missing PORT (at " + script + ":1:",
		"); fix that, then run again\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the log", want)
		}
	}
}

// A primary script's workers are replaced forever, as the original's, but
// the same error from each of them is printed once, then counted.
func TestPrimaryScriptWorkerErrorsCollapse(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "bad.js"), "function boom () { throw new Error('no database'); }\nboom();\n")
	mustWrite(t, filepath.Join(dir, "primary.js"), `
import _ClusterPrimary from 'isotropic-cluster/lib/cluster-primary.js';
const primary = _ClusterPrimary({workerScript: import.meta.dirname + '/bad.js'});
let exits = 0;
primary.after('workerExit', () => { if (++exits === 12) { console.log('12 exits'); primary.destroy(); } });
primary.fork({workerCount: 2});
`)
	c := start(t, "run", filepath.Join(dir, "primary.js"))
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	c.Stdout.Wait(t, "12 exits")
	out := c.Stderr.String()
	if n := strings.Count(out, "at boom ("); n != 1 {
		t.Errorf("the stack trace is printed %d times, want once:\n%s", n, out)
	}
	m := regexp.MustCompile(`the same error again ×(\d+)`).FindAllStringSubmatch(out, -1)
	total := 0
	for _, g := range m {
		n, _ := strconv.Atoi(g[1])
		total += n
	}
	if total < 11 {
		t.Errorf("repeats counted: %d, want at least 11:\n%s", total, out)
	}
}
