package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/runtimes/js"
	"github.com/isowasm/isowasm/runtimes/wasm"
)

// Config is one run of the benchmark. The zero value of each field is its
// default, as the flags give them.
type Config struct {
	Workers  []int         // worker counts (default 2 and 4)
	Duration time.Duration // measured load per configuration (default 5s)
	Warmup   time.Duration // load before measuring (default 1s)
	Conns    int           // load generator connections (default 64)
	Node     string        // the peer's node ("": "node"; "off": no peer)
	Only     *regexp.Regexp
	Dir      string // the repository ("": found from this program's source)
	// GOMAXPROCS of isowasm's worker processes (0: Go's default, the
	// number of CPUs).
	GOMAXPROCS int
}

func (c Config) withDefaults() Config {
	if len(c.Workers) == 0 {
		c.Workers = []int{2, 4}
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Conns <= 0 {
		c.Conns = 64
	}
	if c.Node == "" {
		c.Node = "node"
	}
	if c.Dir == "" {
		c.Dir = repoDir()
	}
	return c
}

// side is one kind of cluster serving hello world.
type side struct {
	name   string // node, js, wasm-go, wasm-c
	label  string
	target float64 // the req/s ratio to Node, 0: none
	start  func(ctx context.Context, workers, port int) (stop func(), err error)
	skip   string // why it does not run
}

// row is one measured configuration.
type row struct {
	side    *side
	workers int
	st      stats
	err     error
}

// Run measures every selected configuration and prints the table on out;
// progress and skips go to log.
func Run(ctx context.Context, cfg Config, out, log io.Writer) error {
	cfg = cfg.withDefaults()
	tmp, err := os.MkdirTemp("", "isowasm-httpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	peerDir := filepath.Join(cfg.Dir, "cmd", "isowasm-httpbench", "peer")
	sides := []*side{
		{name: "node", label: "Node cluster", start: nodeSide(cfg.Node, peerDir)},
		{name: "js", label: "isowasm JS workers", target: 1.0, start: isowasmSide("js", filepath.Join(peerDir, "worker.js"), cfg.GOMAXPROCS)},
		{name: "wasm-go", label: "isowasm Wasm (Go guest)", target: 1.5},
		{name: "wasm-c", label: "isowasm Wasm (C guest)", target: 1.5, start: isowasmSide("wasm", filepath.Join(cfg.Dir, "examples", "http-wasm-c", "worker.wasm"), cfg.GOMAXPROCS)},
	}
	if cfg.Node == "off" {
		sides[0].skip = "-node off"
	} else if _, err := exec.LookPath(cfg.Node); err != nil {
		sides[0].skip = fmt.Sprintf("node not found (-node %q): install Node.js 20+ to compare", cfg.Node)
	}
	selected := func(s *side) bool { return cfg.Only == nil || cfg.Only.MatchString(s.name) }
	if selected(sides[2]) {
		fmt.Fprintln(log, "isowasm-httpbench: building examples/http-wasm-go (GOOS=wasip1)…")
		module := filepath.Join(tmp, "http-wasm-go.wasm")
		if err := buildGoGuest(ctx, filepath.Join(cfg.Dir, "examples", "http-wasm-go"), module); err != nil {
			sides[2].skip = err.Error()
		} else {
			sides[2].start = isowasmSide("wasm", module, cfg.GOMAXPROCS)
		}
	}
	for _, s := range sides {
		if selected(s) && s.skip != "" {
			fmt.Fprintf(log, "isowasm-httpbench: %s skipped: %s\n", s.name, s.skip)
		}
	}

	var rows []row
	for _, n := range cfg.Workers {
		for _, s := range sides {
			if !selected(s) || s.skip != "" {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(log, "isowasm-httpbench: %s, %d workers: %s warm-up + %s…\n", s.name, n, cfg.Warmup, cfg.Duration)
			st, err := measure(ctx, cfg, s, n)
			if err != nil {
				fmt.Fprintf(log, "isowasm-httpbench: %s, %d workers: %v\n", s.name, n, err)
			}
			rows = append(rows, row{side: s, workers: n, st: st, err: err})
		}
	}
	report(out, cfg, rows)
	return nil
}

// measure starts one cluster, loads it and stops it.
func measure(ctx context.Context, cfg Config, s *side, workers int) (stats, error) {
	port, err := freePort()
	if err != nil {
		return stats{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	stop, err := s.start(sctx, workers, port)
	if err != nil {
		return stats{}, err
	}
	defer stop()
	l := load{Addr: "127.0.0.1:" + strconv.Itoa(port), Path: "/", Conns: cfg.Conns, Warmup: cfg.Warmup, Duration: cfg.Duration}
	return l.run(ctx)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// isowasmSide runs a Go primary on package engine whose workers are this
// program; it is started once every worker listens (workerListening).
func isowasmSide(kind, script string, gomaxprocs int) func(context.Context, int, int) (func(), error) {
	return func(ctx context.Context, workers, port int) (func(), error) {
		// What `isowasm run` does before forking: check the script, and
		// warm the caches the workers share.
		var err error
		if kind == "wasm" {
			err = wasm.Check(ctx, script, "")
		} else {
			err = js.Check(script, "")
		}
		if err != nil {
			return nil, err
		}
		env := []string{"PORT=" + strconv.Itoa(port)}
		if gomaxprocs > 0 {
			env = append(env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
		}
		// Silent: the workers' stdout (a "listening" line each) is
		// dropped, as the Node peer's workers print nothing; stderr shows.
		p, err := engine.New(engine.Config{WorkerScript: script, Env: env, Silent: true, Stderr: os.Stderr})
		if err != nil {
			return nil, err
		}
		stop := func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = p.Close(cctx)
		}
		listening := make(chan struct{})
		exited := make(chan error, 1)
		err = p.Do(ctx, func() {
			n := 0
			p.On("workerListening", func(*engine.Event) {
				if n++; n == workers {
					close(listening)
				}
			})
			p.On("workerExit", func(e *engine.Event) {
				select {
				case exited <- fmt.Errorf("worker %d exited before listening", e.Worker.ID()):
				default:
				}
			})
			p.Fork(workers)
		})
		if err == nil {
			select {
			case <-listening:
				return stop, nil
			case err = <-exited:
			case <-ctx.Done():
				err = fmt.Errorf("the workers did not listen: %w", ctx.Err())
			}
		}
		stop()
		return nil, err
	}
}

// nodeSide runs peer/primary.js, which prints "listening" once every
// worker listens.
func nodeSide(node, peerDir string) func(context.Context, int, int) (func(), error) {
	return func(ctx context.Context, workers, port int) (func(), error) {
		cmd := exec.Command(node, filepath.Join(peerDir, "primary.js"), strconv.Itoa(workers), strconv.Itoa(port))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		listening := make(chan struct{})
		read := make(chan struct{})
		go func() {
			// Reads to the end, so the peer never blocks on its stdout.
			defer close(read)
			s := bufio.NewScanner(stdout)
			seen := false
			for s.Scan() {
				if s.Text() == "listening" && !seen {
					seen = true
					close(listening)
				}
			}
		}()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			t := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
			<-read
			_ = cmd.Wait()
			t.Stop()
		}
		select {
		case <-listening:
			return stop, nil
		case <-read:
			stop()
			return nil, errors.New("node peer exited before listening")
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("node peer did not listen: %w", ctx.Err())
		}
	}
}

func buildGoGuest(ctx context.Context, dir, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", dir, err, b)
	}
	return nil
}

// report prints the table: per worker count, each side's figures and its
// ratio to Node's.
func report(out io.Writer, cfg Config, rows []row) {
	procs := "Go's default GOMAXPROCS"
	if cfg.GOMAXPROCS > 0 {
		procs = "GOMAXPROCS=" + strconv.Itoa(cfg.GOMAXPROCS)
	}
	fmt.Fprintf(out, "\nhello world over HTTP/1.1 keep-alive on 127.0.0.1: %d connections, %s measured after %s warm-up, %d CPUs; isowasm workers with %s\n\n",
		cfg.Conns, cfg.Duration, cfg.Warmup, runtime.NumCPU(), procs)
	fmt.Fprintf(out, "%-26s %7s %10s %9s %9s %7s  %s\n", "configuration", "workers", "req/s", "p50", "p99", "errors", "vs Node (target)")
	fmt.Fprintln(out, strings.Repeat("-", 92))
	node := map[int]float64{}
	for _, r := range rows {
		if r.side.name == "node" && r.err == nil {
			node[r.workers] = r.st.rate()
		}
	}
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(out, "%-26s %7d  failed: %v\n", r.side.label, r.workers, r.err)
			continue
		}
		ratio := ""
		if base := node[r.workers]; base > 0 && r.side.name != "node" {
			ratio = fmt.Sprintf("%.2fx", r.st.rate()/base)
			if r.side.target > 0 {
				verdict := "met"
				if r.st.rate()/base < r.side.target {
					verdict = "MISSED"
				}
				ratio += fmt.Sprintf(" (≥ %.1fx: %s)", r.side.target, verdict)
			}
		}
		fmt.Fprintf(out, "%-26s %7d %10.0f %9s %9s %7d  %s\n", r.side.label, r.workers, r.st.rate(),
			round(r.st.percentile(50)), round(r.st.percentile(99)), r.st.Errors+r.st.Non2xx, ratio)
	}
}

func round(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

// repoDir is the repository holding this program's source.
func repoDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
