package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/engine/enginetest"
)

// bin is the isowasm binary built once for these tests, run as a user would.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "isowasm-cli-")
	if err != nil {
		panic(err)
	}
	if bin, err = enginetest.BuildIsowasm(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func start(t *testing.T, args ...string) *enginetest.Run {
	t.Helper()
	return enginetest.Start(t, "", bin, args...)
}

func TestRunHelloFourWorkers(t *testing.T) {
	c := start(t, "run", "--workers", "4", "../../examples/hello/worker.js")
	c.Stderr.Wait(t, "4 of 4 workers ready")
	for id := 1; id <= 4; id++ {
		// Messages both ways: each worker pinged the primary and logs its pong.
		c.Stdout.Wait(t, fmt.Sprintf("worker %d: hello! the primary answered", id))
	}
	pids := c.PIDs()
	if len(pids) != 4 {
		t.Fatalf("pids %v", pids)
	}
	c.Signal(syscall.SIGINT)
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d after Ctrl-C, want 0", code)
	}
	for id, pid := range pids {
		if enginetest.Alive(pid) {
			t.Errorf("worker %d (pid %d) left running", id, pid)
		}
	}
	for id := 1; id <= 4; id++ {
		if !strings.Contains(c.Stderr.String(), fmt.Sprintf("worker %d exited with code 0 after disconnecting", id)) {
			t.Errorf("no graceful exit logged for worker %d", id)
		}
	}
}

func TestKilledWorkerIsReplaced(t *testing.T) {
	c := start(t, "run", "-w", "2", "../../examples/hello/worker.js")
	c.Stderr.Wait(t, "2 of 2 workers ready")
	victim := c.PIDs()[1]
	syscall.Kill(victim, syscall.SIGKILL)
	c.Stderr.Wait(t, "worker 1 killed by SIGKILL")
	c.Stderr.Wait(t, "worker 3 forked (pid")
	c.Stderr.Wait(t, "to replace worker 1")
	c.Stderr.Wait(t, "worker 3 ready")
	c.Signal(syscall.SIGTERM)
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}

func TestKilledPrimaryTakesWorkersWithIt(t *testing.T) {
	c := start(t, "run", "-w", "3", "../../examples/hello/worker.js")
	c.Stderr.Wait(t, "3 of 3 workers ready")
	pids := c.PIDs()
	c.Signal(syscall.SIGKILL)
	c.Wait()
	for id, pid := range pids {
		if !enginetest.WaitGone(pid, 10*time.Second) {
			t.Errorf("worker %d (pid %d) outlived its primary", id, pid)
		}
	}
}

func TestCrashingWorkerIsReplaced(t *testing.T) {
	script := writeScript(t, "crash.js", `
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
const w = _ClusterWorker();
if (_ClusterWorker.workerId === 1) {
    setTimeout(() => { throw new Error('boom in worker one'); }, 10);
}
`)
	c := start(t, "run", "-w", "1", script)
	c.Stderr.Wait(t, "boom in worker one")
	c.Stderr.Wait(t, "worker 1 exited with code 1")
	c.Stderr.Wait(t, "worker 2 ready")
	c.Signal(syscall.SIGINT)
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func writeScript(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadScriptsFailAtOnce(t *testing.T) {
	syntax := writeScript(t, "bad.js", "const a = 1;\nconst b = ;\n")
	missingImport := writeScript(t, "imp.js", "import x from 'no-such-package-here';\nx();\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"syntax error", []string{"run", syntax}, syntax + ":2:11: "},
		{"missing script", []string{"run", "nope.js"}, "nope.js: no such file"},
		{"unknown extension", []string{"run", writeScript(t, "w.py", "print(1)")}, `unknown script type ".py"`},
		{"unresolvable import", []string{"run", missingImport}, `no-such-package-here`},
		{"no script", []string{"run"}, "give a script"},
		{"zero workers", []string{"run", "-w", "0", "../../examples/hello/worker.js"}, "--workers must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() == 0 {
				t.Fatalf("err = %v, want a non-zero exit", err)
			}
			text := strings.TrimSpace(stderr.String())
			if !strings.Contains(text, tt.want) {
				t.Fatalf("stderr %q does not contain %q", text, tt.want)
			}
			if n := strings.Count(text, "\n"); n > 0 {
				t.Fatalf("want one line, got %d:\n%s", n+1, text)
			}
			if strings.Contains(text, "goroutine") || strings.Contains(text, "forked") {
				t.Fatalf("stack trace or forked workers:\n%s", text)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"USAGE", "run", "version"}},
		{[]string{"run", "--help"}, []string{"--workers", "--silent", "SCRIPT [ARGS...]", "primary script"}},
		{[]string{"version"}, []string{"isowasm ", "github.com/dop251/goja"}},
		{[]string{"--version"}, []string{"isowasm ", "github.com/dop251/goja"}},
		{[]string{"help", "run"}, []string{"--workers", "--max-restarts", "SCRIPT [ARGS...]"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := exec.Command(bin, tt.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tt.want {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// A bad flag value is one line that says what was expected, and status 2.
func TestBadFlagValues(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--workers", "abc", "w.js"}, `isowasm: --workers: "abc" is not a whole number`},
		{[]string{"run", "-w", "1.5", "w.js"}, `isowasm: -w: "1.5" is not a whole number`},
		{[]string{"run", "--grace", "5m3", "w.js"}, `isowasm: --grace: "5m3" is not a duration, use e.g. 10s`},
		{[]string{"run", "--heartbeat-timeout", "soon", "w.js"}, `isowasm: --heartbeat-timeout: "soon" is not a duration, use e.g. 10s`},
		{[]string{"run", "--max-rss", "-5", "w.js"}, `isowasm: --max-rss: "-5" is not a whole number (0 or more)`},
		{[]string{"run", "--max-restarts", "ten", "w.js"}, `isowasm: --max-restarts: "ten" is not a whole number`},
		{[]string{"conformance", "-j", "x"}, `isowasm: -j: "x" is not a whole number`},
		{[]string{"run", "--wrokers", "2", "w.js"}, `isowasm: unknown flag --wrokers (isowasm help run lists them)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Errorf("err = %v, want exit status 2", err)
			}
			if got := stderr.String(); got != tt.want+"\n" {
				t.Errorf("stderr %q, want the one line %q", got, tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}

// "stopped in" is the time the shutdown took, not the time the cluster ran.
func TestStoppedInMeasuresTheShutdown(t *testing.T) {
	c := start(t, "run", "-w", "1", "../../examples/hello/worker.js")
	c.Stderr.Wait(t, "1 of 1 workers ready")
	signalled := time.Now()
	c.Signal(syscall.SIGINT)
	if code := c.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	bound := time.Since(signalled)
	m := regexp.MustCompile(`stopped in (\S+)`).FindStringSubmatch(c.Stderr.String())
	if m == nil {
		t.Fatalf("no stopped-in line:\n%s", c.Stderr.String())
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if d > bound {
		t.Errorf("stopped in %v, but the signal was sent %v before isowasm ended", d, bound)
	}
}

func TestSilentDropsWorkerOutput(t *testing.T) {
	c := start(t, "run", "-w", "2", "--silent", "../../examples/hello/worker.js")
	c.Stderr.Wait(t, "2 of 2 workers ready")
	// A pong answer reaches the worker after ready; wait for the round trip
	// through the default primary, then stop and check nothing was printed.
	c.Signal(syscall.SIGINT)
	c.Wait()
	if s := c.Stdout.String(); s != "" {
		t.Fatalf("silent workers printed:\n%s", s)
	}
}

// Main runs in-process too; the unknown-command path must not panic.
func TestMainInProcess(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"isowasm", "version"}, &out, &errOut); code != 0 {
		t.Fatalf("code %d: %s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "isowasm ") {
		t.Fatalf("version output %q", out.String())
	}
}

// A primary script is run as the primary itself (no --workers): it forks two
// workers of its worker script, exchanges messages with them, shuts down and
// ends with its own exit code, leaving no worker behind.
func TestRunPrimaryScript(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"primary.js": `
import _ClusterPrimary from 'isotropic-cluster/lib/cluster-primary.js';
import _process from 'node:process';

const replies = [];
const primary = _ClusterPrimary({
    workerArgs: ['--greeting', 'hello'],
    workerScript: ` + "`${import.meta.dirname}/worker.js`" + `
});
primary.after('workerFork', ({data: {worker}}) => {
    console.log('forked ' + worker.id + ' pid ' + worker.process.pid);
});
primary.after('workerReady', () => {
    if (primary.workers.length === 2) {
        primary.send({message: {type: 'ask', n: 21}}).then(sent => console.log('asked ' + sent.length));
    }
});
primary.after('workerMessage', ({data: {message, worker}}) => {
    if (message && message.type === 'answer') {
        replies.push(worker.id + ':' + message.n + ':' + message.greeting);
        if (replies.length === 2) {
            console.log('replies ' + replies.sort().join(' '));
            primary.shutDown();
        }
    }
});
primary.after('workerExit', ({data: {code, signal, worker}}) => {
    console.log('exit ' + worker.id + ' ' + code + ' ' + signal + ' ' + worker.exitedAfterDisconnect);
});
primary.after('shutDownComplete', () => {
    console.log('shut down');
    _process.exitCode = 3;
});
primary.fork({workerCount: 2});
`,
		"worker.js": `
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
import _process from 'node:process';

const worker = _ClusterWorker();
worker.after('primaryMessage', ({data: {message}}) => {
    if (message.type === 'ask') {
        worker.send({message: {type: 'answer', n: message.n * 2, greeting: _process.argv[3]}});
    }
});
`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := start(t, "run", filepath.Join(dir, "primary.js"))
	if code := c.Wait(); code != 3 {
		t.Fatalf("exit code %d, want the script's 3", code)
	}
	out := c.Stdout.String()
	for _, want := range []string{
		"asked 2\n",
		"replies 1:42:hello 2:42:hello\n",
		"exit 1 0 null true\n",
		"exit 2 0 null true\n",
		"shut down\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Index(out, "shut down") < strings.LastIndex(out, "replies") {
		t.Error("shut down before the replies")
	}
	pids := regexp.MustCompile(`forked (\d) pid (\d+)`).FindAllStringSubmatch(out, -1)
	if len(pids) != 2 {
		t.Fatalf("forked lines %q", pids)
	}
	for _, m := range pids {
		pid, _ := strconv.Atoi(m[2])
		if !enginetest.WaitGone(pid, 10*time.Second) {
			t.Errorf("worker %s (pid %d) outlived the primary script", m[1], pid)
		}
	}
	if s := c.Stderr.String(); s != "" {
		t.Errorf("stderr:\n%s", s)
	}
}

// A primary script killed by a signal it does not handle ends as Node's
// would (128+signal) and takes its workers with it.
func TestPrimaryScriptSignal(t *testing.T) {
	dir := t.TempDir()
	primary := filepath.Join(dir, "primary.js")
	if err := os.WriteFile(primary, []byte(`
import cluster from 'node:cluster';
if (cluster.isPrimary) {
    cluster.fork().on('online', function () { console.log('online pid ' + this.process.pid); });
} else {
    setInterval(() => {}, 1000);
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := start(t, "run", primary)
	c.Stdout.Wait(t, "online pid ")
	m := regexp.MustCompile(`online pid (\d+)`).FindStringSubmatch(c.Stdout.String())
	pid, _ := strconv.Atoi(m[1])
	c.Signal(syscall.SIGTERM)
	if code := c.Wait(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if !enginetest.WaitGone(pid, 10*time.Second) {
		t.Errorf("worker (pid %d) outlived the primary script", pid)
	}
}

// A primary script stuck in JavaScript still ends at once on a signal it
// has no listener for, with 128+signal, and its workers leave with it (they
// see their channel close and exit 0, running their 'exit' listeners). With
// listeners, the handler runs when the loop gets to it, and a second signal
// that arrives before it has ends the script.
func TestPrimaryScriptBusySignals(t *testing.T) {
	const worker = `
} else {
    process.on('exit', (code) => console.log('worker exit ' + code));
    setInterval(() => {}, 1000);
}
`
	run := func(t *testing.T, primary string) (*enginetest.Run, int) {
		t.Helper()
		c := start(t, "run", writeScript(t, "primary.js", `
import cluster from 'node:cluster';
if (cluster.isPrimary) {
    cluster.fork().on('online', function () {
        console.log('online pid ' + this.process.pid);
`+primary+`
    });
`+worker))
		c.Stdout.Wait(t, "busy")
		m := regexp.MustCompile(`online pid (\d+)`).FindStringSubmatch(c.Stdout.String())
		pid, _ := strconv.Atoi(m[1])
		return c, pid
	}
	ended := func(t *testing.T, c *enginetest.Run, pid int, want ...int) {
		t.Helper()
		if code := c.Wait(); !slices.Contains(want, code) {
			t.Errorf("exit code %d, want %v", code, want)
		}
		if !enginetest.WaitGone(pid, 10*time.Second) {
			t.Errorf("worker (pid %d) outlived the primary script", pid)
		}
		if pids, _ := exec.Command("pgrep", "-P", strconv.Itoa(c.Cmd.Process.Pid)).Output(); len(pids) > 0 {
			t.Errorf("children left: %s", pids)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run("no listener, "+unix.SignalName(sig), func(t *testing.T) {
			c, pid := run(t, `setTimeout(() => { console.log('busy'); for (;;) {} }, 50);`)
			c.Signal(sig)
			ended(t, c, pid, 128+int(sig))
			c.Stdout.Wait(t, "worker exit 0") // released, not killed
		})
	}
	t.Run("listener, busy for a while", func(t *testing.T) {
		c, pid := run(t, `
process.on('SIGTERM', (name) => { console.log('handled ' + name); process.exit(7); });
setTimeout(() => { console.log('busy'); const end = Date.now() + 500; while (Date.now() < end) {} }, 50);`)
		c.Signal(syscall.SIGTERM)
		ended(t, c, pid, 7)
		c.Stdout.Wait(t, "handled SIGTERM")
	})
	t.Run("listener, stuck: a second signal ends it", func(t *testing.T) {
		c, pid := run(t, `
process.on('SIGTERM', () => console.log('handled'));
process.on('SIGINT', () => console.log('handled'));
setTimeout(() => { console.log('busy'); for (;;) {} }, 50);`)
		// Two different signals, so that the kernel does not merge them;
		// whichever arrives second ends the script.
		c.Signal(syscall.SIGTERM)
		c.Signal(syscall.SIGINT)
		ended(t, c, pid, 128+int(syscall.SIGTERM), 128+int(syscall.SIGINT))
		if strings.Contains(c.Stdout.String(), "handled") {
			t.Error("a handler ran in a stuck script")
		}
	})
}

// --workers always runs the default primary, even for a primary script
// (which then runs as each worker); --silent is refused for a primary script.
func TestPrimaryScriptFlags(t *testing.T) {
	primary := writeScript(t, "primary.js", `
import cluster from 'node:cluster';
if (cluster.isWorker) {
    console.log('worker ' + cluster.worker.id);
    process.send('ready');
}
`)
	c := start(t, "run", "--workers", "1", primary)
	c.Stderr.Wait(t, "1 of 1 workers ready")
	c.Stdout.Wait(t, "worker 1")
	c.Signal(syscall.SIGINT)
	if code := c.Wait(); code != 0 {
		t.Errorf("exit code %d", code)
	}

	out, err := exec.Command(bin, "run", "--silent", primary).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !bytes.Contains(out, []byte("is a primary script: --silent is for the default primary")) {
		t.Errorf("--silent with a primary script: %v\n%s", err, out)
	}
}

// TestPrimaryScriptReadsOn: a primary script's loop reports the messages
// it has handled, so a worker that sends many times the per-worker read
// cap (process.DefaultMaxUndelivered) gets every message through.
func TestPrimaryScriptReadsOn(t *testing.T) {
	primary := writeScript(t, "primary.js", `
import cluster from 'node:cluster';
const n = 1000, pad = 'x'.repeat(8192); // 8 MiB in all
if (cluster.isWorker) {
    for (let i = 0; i < n; i++) process.send({i, pad});
} else {
    let got = 0;
    cluster.fork().on('message', () => {
        if (++got === n) {
            console.log('got ' + got);
            process.exit(0);
        }
    });
}
`)
	c := start(t, "run", primary)
	c.Stdout.Wait(t, "got 1000")
	if code := c.Wait(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestPrimaryScriptQueueBound: a primary script sending 1 MiB messages to a
// stopped worker has them refused (ERR_ISOWASM_QUEUE_FULL, through the send's
// callback) once --max-queued-size MiB (by default 8) wait, beyond what the
// channel's socket buffers took, instead of queuing them all.
func TestPrimaryScriptQueueBound(t *testing.T) {
	primary := writeScript(t, "primary.js", `
import cluster from 'node:cluster';
if (cluster.isPrimary) {
    const worker = cluster.fork(), big = 'x'.repeat(1 << 20);
    worker.on('online', () => {
        process.kill(worker.process.pid, 'SIGSTOP');
        let sent = 0;
        const next = () => {
            if (sent === 200) {
                console.log('all 200 taken');
                process.exit(1);
            }
            sent++;
            worker.send(big, error => {
                if (error) {
                    console.log('refused after ' + (sent - 1) + ': ' + error.code);
                    process.kill(worker.process.pid, 'SIGKILL');
                    process.exit(0);
                }
                next();
            });
        };
        next();
    });
}
`)
	c := start(t, "run", primary)
	c.Stdout.Wait(t, "refused")
	if code := c.Wait(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	out := c.Stdout.String()
	var n int
	var code string
	if _, err := fmt.Sscanf(out[strings.Index(out, "refused after "):], "refused after %d: %s", &n, &code); err != nil || code != "ERR_ISOWASM_QUEUE_FULL" {
		t.Fatalf("%q: %v", out, err)
	}
	// The socket buffers take some (4 MiB each way, doubled by Linux), the
	// queue 8 MiB.
	if n > 8+16+1 {
		t.Errorf("%d messages of 1 MiB taken for a stopped worker, want at most 25", n)
	}
}
