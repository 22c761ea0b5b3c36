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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/runtimes/js"
	"github.com/isowasm/isowasm/runtimes/wasm"
	"github.com/isowasm/isowasm/runtimes/worker"
)

// Config is one run of the benchmark. The zero value of each field is its
// default, as the flags give them.
type Config struct {
	Workers  []int         // worker counts (default 2 and 4)
	Duration time.Duration // measured load per configuration (default 5s)
	Warmup   time.Duration // load before measuring (default 1s)
	Conns    int           // load generator connections (default 64)
	Rounds   int           // times each configuration is measured, in turn with the others (default 1)
	Node     string        // the peer's node ("": "node"; "off": no peer)
	Only     *regexp.Regexp
	Dir      string // the repository ("": found from this program's source)
	// GOMAXPROCS of isowasm's worker processes (0: theirs, 1 unless
	// GOMAXPROCS is in the environment; see runtimes/worker).
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
	if c.Rounds <= 0 {
		c.Rounds = 1
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
	target float64 // the req/s ratio to Node aimed for, 0: none
	// start runs the cluster; pids lists its worker processes.
	start func(ctx context.Context, workers, port int) (c cluster, err error)
	skip  string // why it does not run
}

// cluster is one started side.
type cluster struct {
	stop func()
	pids func() []int // the worker processes, whose CPU time is measured
}

// row is one measurement of a configuration.
type row struct {
	side    *side
	workers int
	round   int
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
		// Rounds interleave the sides (node, js, wasm…, node, js…), so that
		// a change in the machine's load falls on all of them.
		for round := 1; round <= cfg.Rounds; round++ {
			for _, s := range sides {
				if !selected(s) || s.skip != "" {
					continue
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				fmt.Fprintf(log, "isowasm-httpbench: %s, %d workers, round %d/%d: %s warm-up + %s…\n", s.name, n, round, cfg.Rounds, cfg.Warmup, cfg.Duration)
				st, err := measure(ctx, cfg, s, n)
				if err != nil {
					fmt.Fprintf(log, "isowasm-httpbench: %s, %d workers: %v\n", s.name, n, err)
				}
				rows = append(rows, row{side: s, workers: n, round: round, st: st, err: err})
			}
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
	c, err := s.start(sctx, workers, port)
	if err != nil {
		return stats{}, err
	}
	defer c.stop()
	pids := c.pids()
	var cpuFrom, selfFrom time.Duration
	l := load{Addr: "127.0.0.1:" + strconv.Itoa(port), Path: "/", Conns: cfg.Conns, Warmup: cfg.Warmup, Duration: cfg.Duration,
		Measuring: func() { cpuFrom, selfFrom = cpuTime(pids), cpuTime([]int{os.Getpid()}) }}
	st, err := l.run(ctx)
	st.ServerCPU = cpuTime(pids) - cpuFrom
	st.LoadCPU = cpuTime([]int{os.Getpid()}) - selfFrom
	return st, err
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
func isowasmSide(kind, script string, gomaxprocs int) func(context.Context, int, int) (cluster, error) {
	return func(ctx context.Context, workers, port int) (cluster, error) {
		// What `isowasm run` does before forking: check the script, and
		// warm the caches the workers share.
		var err error
		if kind == "wasm" {
			err = wasm.Check(ctx, script, "")
		} else {
			err = js.Check(script, "")
		}
		if err != nil {
			return cluster{}, err
		}
		env := []string{"PORT=" + strconv.Itoa(port)}
		if kind == "wasm" {
			// A guest sees only the environment and addresses granted.
			grants, err := worker.Options{GuestEnv: env, AllowListen: []string{":" + strconv.Itoa(port)}}.Environ()
			if err != nil {
				return cluster{}, err
			}
			env = append(env, grants...)
		}
		if gomaxprocs > 0 {
			env = append(env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
		}
		// Silent: the workers' stdout (a "listening" line each) is
		// dropped, as the Node peer's workers print nothing; stderr shows.
		p, err := engine.New(engine.Config{WorkerScript: script, Env: env, Silent: true, Stderr: os.Stderr})
		if err != nil {
			return cluster{}, err
		}
		var pids []int // the listening workers', read once listening is closed
		stop := func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = p.Close(cctx)
		}
		listening := make(chan struct{})
		exited := make(chan error, 1)
		err = p.Do(ctx, func() {
			n := 0
			p.On("workerListening", func(e *engine.Event) {
				if n++; n <= workers {
					pids = append(pids, e.Worker.PID())
				}
				if n == workers {
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
				return cluster{stop: stop, pids: func() []int { return pids }}, nil
			case err = <-exited:
			case <-ctx.Done():
				err = fmt.Errorf("the workers did not listen: %w", ctx.Err())
			}
		}
		stop()
		return cluster{}, err
	}
}

// nodeSide runs peer/primary.js, which prints "listening" once every
// worker listens.
func nodeSide(node, peerDir string) func(context.Context, int, int) (cluster, error) {
	return func(ctx context.Context, workers, port int) (cluster, error) {
		cmd := exec.Command(node, filepath.Join(peerDir, "primary.js"), strconv.Itoa(workers), strconv.Itoa(port))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return cluster{}, err
		}
		if err := cmd.Start(); err != nil {
			return cluster{}, err
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
			return cluster{stop: stop, pids: func() []int { return children(cmd.Process.Pid) }}, nil
		case <-read:
			stop()
			return cluster{}, errors.New("node peer exited before listening")
		case <-ctx.Done():
			stop()
			return cluster{}, fmt.Errorf("node peer did not listen: %w", ctx.Err())
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

// report prints the table: per worker count, each side's figures (the
// median over the rounds) and its ratio to Node's (the median of each
// round's ratio, which compares runs made close together).
func report(out io.Writer, cfg Config, rows []row) {
	procs := "GOMAXPROCS=1 (the default)"
	if env := os.Getenv("GOMAXPROCS"); env != "" {
		procs = "GOMAXPROCS=" + env + " (from the environment)"
	}
	if cfg.GOMAXPROCS > 0 {
		procs = "GOMAXPROCS=" + strconv.Itoa(cfg.GOMAXPROCS)
	}
	rounds := ""
	if cfg.Rounds > 1 {
		rounds = fmt.Sprintf(", medians of %d rounds", cfg.Rounds)
	}
	fmt.Fprintf(out, "\nhello world over HTTP/1.1 keep-alive on 127.0.0.1: %d connections, %s measured after %s warm-up%s, %d CPUs; isowasm workers with %s\n\n",
		cfg.Conns, cfg.Duration, cfg.Warmup, rounds, runtime.NumCPU(), procs)
	fmt.Fprintf(out, "%-26s %7s %10s %9s %9s %7s %9s %9s %8s  %s\n", "configuration", "workers", "req/s", "p50", "p99", "errors", "CPU/req", "load/req", "CPU eff", "req/s vs Node (target)")
	fmt.Fprintln(out, strings.Repeat("-", 121))
	type key struct {
		side    *side
		workers int
	}
	var order []key
	byKey := map[key][]row{}
	node := map[[2]int]float64{}   // workers, round → Node's req/s
	nodeCPU := map[int][]float64{} // workers → Node's CPU/req in each round
	for _, r := range rows {
		k := key{r.side, r.workers}
		if byKey[k] == nil {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], r)
		if r.side.name == "node" && r.err == nil {
			node[[2]int{r.workers, r.round}] = r.st.rate()
			nodeCPU[r.workers] = append(nodeCPU[r.workers], perRequest(r.st.ServerCPU, r.st.Requests))
		}
	}
	for _, k := range order {
		var ok []row
		var failure error
		for _, r := range byKey[k] {
			if r.err != nil {
				failure = r.err
				continue
			}
			ok = append(ok, r)
		}
		if len(ok) == 0 {
			fmt.Fprintf(out, "%-26s %7d  failed: %v\n", k.side.label, k.workers, failure)
			continue
		}
		var rate, p50, p99, cpu, load, ratios []float64
		errs := 0
		for _, r := range ok {
			rate = append(rate, r.st.rate())
			p50 = append(p50, float64(r.st.percentile(50)))
			p99 = append(p99, float64(r.st.percentile(99)))
			cpu = append(cpu, perRequest(r.st.ServerCPU, r.st.Requests))
			load = append(load, perRequest(r.st.LoadCPU, r.st.Requests))
			errs += r.st.Errors + r.st.Non2xx
			if base := node[[2]int{r.workers, r.round}]; base > 0 && k.side.name != "node" {
				ratios = append(ratios, r.st.rate()/base)
			}
		}
		ratio := ""
		if len(ratios) > 0 {
			m := median(ratios)
			ratio = fmt.Sprintf("%.2fx", m)
			if k.side.target > 0 {
				verdict := "met"
				if m < k.side.target {
					verdict = "MISSED"
				}
				ratio += fmt.Sprintf(" (≥ %.1fx: %s)", k.side.target, verdict)
			}
			if len(ratios) > 1 {
				each := make([]string, len(ratios))
				for i, x := range ratios {
					each[i] = fmt.Sprintf("%.2f", x)
				}
				ratio += " rounds: " + strings.Join(each, " ")
			}
		}
		eff := ""
		if base, own := median(slices.Clone(nodeCPU[k.workers])), median(cpu); k.side.name != "node" && base > 0 && own > 0 {
			eff = fmt.Sprintf("%.2fx", base/own)
		}
		fmt.Fprintf(out, "%-26s %7d %10.0f %9s %9s %7d %9s %9s %8s  %s\n", k.side.label, k.workers, median(rate),
			round(time.Duration(median(p50))), round(time.Duration(median(p99))), errs,
			micros(median(cpu)), micros(median(load)), eff, ratio)
	}
}

// median of xs (not empty), which it sorts; -1 entries (unknown) are
// left out unless all are.
func median(xs []float64) float64 {
	known := xs[:0:0]
	for _, x := range xs {
		if x >= 0 {
			known = append(known, x)
		}
	}
	if len(known) == 0 {
		return -1
	}
	slices.Sort(known)
	if n := len(known); n%2 == 0 {
		return (known[n/2-1] + known[n/2]) / 2
	}
	return known[len(known)/2]
}

func micros(x float64) string {
	if x < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fµs", x)
}

// perRequest is CPU time per request: CPU/req is the workers' (user +
// system, while measured), what serving one costs whatever else runs on
// the machine; load/req is this program's (the load generator, and the
// isowasm primary, idle meanwhile), what the servers could not have.
// It is in µs, -1 when unknown.
func perRequest(cpu time.Duration, requests int) float64 {
	if requests == 0 || cpu <= 0 {
		return -1
	}
	return float64(cpu) / float64(time.Microsecond) / float64(requests)
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
