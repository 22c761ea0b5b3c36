package wasm_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
	"github.com/isowasm/isowasm/runtimes/host/hosttest"
	"github.com/isowasm/isowasm/runtimes/wasm"
)

// The test binary re-runs itself as a worker process (the os/exec
// TestMain pattern) when envTestModule is set: what the isowasm binary's
// worker mode does, without the rest of the binary.
const (
	envTestModule = "ISOWASM_TEST_WASM_MODULE"
	envTestCache  = "ISOWASM_TEST_WASM_CACHE"
	envTestPages  = "ISOWASM_TEST_WASM_PAGES" // Config.MemoryLimitPages
	// envBenchBinary names a binary to fork instead of the test binary,
	// run as "binary module.wasm" in a worker's environment: the isowasm
	// binary itself, to measure what users get.
	envBenchBinary = "ISOWASM_BENCH_BINARY"
)

func workerProcess(module string) int {
	cfg, _, err := host.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ch, err := host.Open(cfg, "wasm")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pages, _ := strconv.Atoi(os.Getenv(envTestPages))
	code, err := wasm.Run(context.Background(), wasm.Config{
		Module:           module,
		Channel:          ch,
		CacheDir:         os.Getenv(envTestCache),
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		MemoryLimitPages: uint32(pages),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "isowasm: worker %d: %v\n", cfg.WorkerID, err)
	}
	return code
}

// proc is a worker process and the primary's end of its channel.
type proc struct {
	cmd    *exec.Cmd
	conn   net.Conn
	r      *frame.Reader
	w      *frame.Writer
	stderr strings.Builder
}

// fork starts a worker process for module and returns once it said hello;
// env is added to its environment.
func fork(tb testing.TB, module, cache string, env ...string) *proc {
	tb.Helper()
	p := &proc{}
	if bin := os.Getenv(envBenchBinary); bin != "" {
		p.cmd = exec.Command(bin, module) // a binary with the worker mode wired
	} else {
		p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	}
	p.cmd.Env = append(append(os.Environ(), envTestModule+"="+module, envTestCache+"="+cache), env...)
	p.cmd.Stderr = &p.stderr
	p.conn = hosttest.Start(tb, p.cmd, 1)
	p.r, p.w = frame.NewReader(p.conn, 0), frame.NewWriter(p.conn, 0)
	return p
}

func (p *proc) read(tb testing.TB) frame.Frame {
	tb.Helper()
	p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	f, err := p.r.Read()
	if err != nil {
		tb.Fatalf("reading from the worker: %v\nstderr: %s", err, p.stderr.String())
	}
	return f
}

func (p *proc) readyAfterHello(tb testing.TB) {
	tb.Helper()
	if f := p.read(tb); f.Type != frame.TypeHello {
		tb.Fatalf("got %s, want hello", f.Type)
	}
	f := p.read(tb)
	var m any
	if f.Type != frame.TypeMessage || frame.Unmarshal(f.Body, &m) != nil || m != "ready" {
		tb.Fatalf("got %s %v, want the message ready", f.Type, m)
	}
}

func (p *proc) wait(tb testing.TB) int {
	tb.Helper()
	p.cmd.Wait()
	p.conn.Close()
	return p.cmd.ProcessState.ExitCode()
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// A real worker process: channel on fd 3, exit codes as the OS sees them.
func TestWorkerProcess(t *testing.T) {
	cases := []struct {
		name   string
		module func(testing.TB) string
		send   any
		code   int
	}{
		{"c disconnect", cGuest, nil, 0},
		{"c trap", cGuest, obj("type", "trap"), 1},
		{"go exit", goGuest, obj("type", "exit", "code", 5), 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := fork(t, c.module(t), cacheDir)
			p.readyAfterHello(t)
			if c.send != nil {
				body, _ := frame.Marshal(c.send)
				p.w.Write(frame.Message(body))
			} else {
				p.w.Write(frame.Frame{Type: frame.TypeDisconnect})
			}
			if code := p.wait(t); code != c.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, c.code, p.stderr.String())
			}
		})
	}
}

// BenchmarkForkToReady measures a worker process from exec to its "ready"
// with a warm compilation cache, and its RSS once idle (rss-MiB). The
// process is this test binary unless ISOWASM_BENCH_BINARY names another
// (the isowasm binary): a larger binary costs more to start and has more
// of its (shared, file-backed) pages resident.
//
//	go test -run '^$' -bench . -benchtime 20x ./runtimes/wasm/
func BenchmarkForkToReady(b *testing.B) {
	for _, g := range []guest{{"c", cGuest}, {"wat", watGuest}, {"go", goGuest}} {
		b.Run(g.name, func(b *testing.B) {
			module := g.path(b)
			if err := wasm.Check(context.Background(), module, cacheDir); err != nil {
				b.Fatal(err)
			}
			var rss, n int
			for b.Loop() {
				p := fork(b, module, cacheDir)
				p.readyAfterHello(b)
				b.StopTimer()
				time.Sleep(20 * time.Millisecond) // idle
				rss += rssKiB(p.cmd.Process.Pid)
				n++
				p.w.Write(frame.Frame{Type: frame.TypeDisconnect})
				if code := p.wait(b); code != 0 {
					b.Fatalf("exit %d: %s", code, p.stderr.String())
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(rss)/float64(n)/1024, "rss-MiB")
		})
	}
}

// BenchmarkCompile compares compiling a module (cold: an empty cache) with
// loading it from a warm cache, which is what every worker after the
// primary's Check does.
func BenchmarkCompile(b *testing.B) {
	for _, g := range []guest{{"c", cGuest}, {"go", goGuest}} {
		module := g.path(b)
		b.Run(g.name+"/cold", func(b *testing.B) {
			for b.Loop() {
				if err := wasm.Check(context.Background(), module, b.TempDir()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(g.name+"/warm", func(b *testing.B) {
			if err := wasm.Check(context.Background(), module, cacheDir); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := wasm.Check(context.Background(), module, cacheDir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A guest that allocates without end stops at its memory cap: the Go
// guest's allocator fails there, it traps, the worker says why and exits
// 1; the process's peak resident size (the kernel's, from wait4) stays
// near the cap, where wazero's own growth by copying reached 3-4 times
// it.
func TestMemoryCapHolds(t *testing.T) {
	const capMiB = 64
	p := fork(t, sandboxGuest(t), cacheDir, fmt.Sprintf("%s=%d", envTestPages, capMiB*16))
	p.readyAfterHello(t)
	body, _ := frame.Marshal(obj("type", "grow", "mib", 1000))
	p.w.Write(frame.Message(body))
	if code := p.wait(t); code != 1 {
		t.Fatalf("exit code %d, want 1; stderr: %s", code, p.stderr.String())
	}
	peak := p.cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss >> 10 // MiB
	t.Logf("peak RSS %d MiB under a %d MiB cap", peak, capMiB)
	for _, want := range []string{"out of memory", fmt.Sprintf("of its %d MiB limit: raise --max-memory", capMiB)} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr does not say %q: %s", want, p.stderr.String())
		}
	}
	if peak > capMiB+capSlackMiB && !raceEnabled {
		t.Errorf("peak RSS %d MiB, over the %d MiB cap by more than %d MiB", peak, capMiB, capSlackMiB)
	}
}

// capSlackMiB is what a worker process holds besides its guest's memory:
// the runtime, the compiled guest, the binary's pages.
const capSlackMiB = 48
