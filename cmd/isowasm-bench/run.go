package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/isowasm/isowasm/runtimes/worker"
)

// Config says what to measure. Its zero value is a full run of every
// workload, 5 rounds, against the node on PATH.
type Config struct {
	// Rounds of A B per workload (0: 5).
	Rounds int
	// Only selects workloads by name (nil: all).
	Only *regexp.Regexp
	// Quick shrinks counts and worker numbers for a smoke run.
	Quick bool
	// Node is the peer's node executable ("": "node"; "off": no peer).
	Node string
	// Executable is run in primary mode for the isowasm side ("": this
	// program, os.Executable).
	Executable string
	// Dir holds peer/ and workers/ ("": this program's source directory).
	Dir string
	// List prints the workload names instead of running them.
	List bool
}

// job is one workload on one isowasm runtime, compared with the peer under
// one or more of Node's serializations.
type job struct {
	name    string
	spec    spec
	runtime string   // "js" or "wasm"
	peers   []string // Node serializations to compare with
}

func jobs(quick bool) []job {
	starts := []int{1, 4, 16}
	memN, pingN, pipeN := 16, 20000, 100000
	echo := []struct {
		name        string
		size, count int
	}{{"1KiB", 1 << 10, 5000}, {"64KiB", 64 << 10, 1000}, {"1MiB", 1 << 20, 100}}
	settle := 500 * time.Millisecond
	if quick {
		starts, memN, pingN, pipeN, settle = []int{1, 4}, 4, 300, 2000, 50*time.Millisecond
		echo[0].count, echo[1].count, echo[2].count = 50, 20, 5
	}
	json := []string{"json"}
	var out []job
	for _, rt := range []string{"js", "wasm"} {
		for _, n := range starts {
			out = append(out, job{fmt.Sprintf("start/%d/%s", n, rt), spec{Workload: "start", Workers: n}, rt, json})
		}
		out = append(out, job{fmt.Sprintf("mem/%d/%s", memN, rt), spec{Workload: "mem", Workers: memN, Settle: settle}, rt, json})
		out = append(out, job{"ping/" + rt, spec{Workload: "ping", Workers: 1, Count: pingN}, rt, json})
		for _, n := range []int{1, 4} {
			out = append(out, job{fmt.Sprintf("pipeline/%d/%s", n, rt), spec{Workload: "pipeline", Workers: n, Count: pipeN}, rt, json})
		}
		for _, e := range echo {
			out = append(out, job{fmt.Sprintf("echo/%s/%s", e.name, rt), spec{Workload: "echo", Workers: 1, Count: e.count, Size: e.size}, rt, []string{"json", "advanced"}})
		}
	}
	return out
}

// Run measures the selected workloads and prints the table on out;
// progress and skips go to log.
func Run(ctx context.Context, cfg Config, out, log io.Writer) error {
	if cfg.Rounds <= 0 {
		cfg.Rounds = 5
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this executable to run as the isowasm primary: %w", err)
		}
		cfg.Executable = exe
	}
	if cfg.Dir == "" {
		cfg.Dir = assetsDir()
	}
	var selected []job
	for _, j := range jobs(cfg.Quick) {
		if cfg.Only == nil || cfg.Only.MatchString(j.name) {
			selected = append(selected, j)
		}
	}
	if cfg.List {
		for _, j := range selected {
			fmt.Fprintln(out, j.name)
		}
		return nil
	}
	if len(selected) == 0 {
		return fmt.Errorf("-only %v matches no workload (see -list)", cfg.Only)
	}

	node, nodeVersion := findNode(cfg.Node)
	if node == "" {
		fmt.Fprintf(log, "isowasm-bench: node not found (-node %q): the Node peer is skipped, isowasm figures only; install Node.js 20+ to compare\n", cfg.Node)
	}
	scripts := map[string]string{
		"js":   filepath.Join(cfg.Dir, "workers", "worker.js"),
		"wasm": filepath.Join(cfg.Dir, "workers", "worker.wasm"),
	}
	skipRuntime := map[string]error{}
	// A build whose worker entry cannot run .wasm skips the wasm workloads
	// with the reason, never a made-up figure.
	if _, err := worker.Kind(scripts["wasm"]); err != nil {
		skipRuntime["wasm"] = err
	}
	for rt, err := range skipRuntime {
		fmt.Fprintf(log, "isowasm-bench: %s workers skipped: %v\n", rt, err)
	}

	d := &driver{cfg: cfg, node: node, log: log, scripts: scripts}
	load0 := loadAverage()
	started := time.Now()
	// Warm up both sides once (page cache, the bundle and compilation
	// caches) so that round 1 is not the cold one.
	warmStart := time.Now()
	warm := spec{Workload: "start", Workers: 1}
	for rt := range scripts {
		if skipRuntime[rt] == nil {
			if _, err := d.isowasm(ctx, warm, rt); err != nil {
				return fmt.Errorf("warm-up of the %s side: %w", rt, err)
			}
		}
	}
	if node != "" {
		if _, err := d.peer(ctx, warm, "json"); err != nil {
			return fmt.Errorf("warm-up of the Node peer: %w", err)
		}
	}

	fmt.Fprintf(log, "isowasm-bench: warm-up done in %v\n", time.Since(warmStart).Round(time.Millisecond))
	var rows []*row
	for _, j := range selected {
		if err := skipRuntime[j.runtime]; err != nil {
			continue
		}
		peers := j.peers
		if node == "" {
			peers = nil
		}
		jr := newJobRows(j, peers)
		jobStart := time.Now()
		for r := 1; r <= cfg.Rounds; r++ {
			fmt.Fprintf(log, "isowasm-bench: %s round %d/%d\n", j.name, r, cfg.Rounds)
			a, err := d.isowasm(ctx, j.spec, j.runtime)
			if err != nil {
				return fmt.Errorf("%s, round %d, isowasm: %w", j.name, r, err)
			}
			jr.addA(a)
			for _, ser := range peers {
				b, err := d.peer(ctx, j.spec, ser)
				if err != nil {
					return fmt.Errorf("%s, round %d, node (%s): %w", j.name, r, ser, err)
				}
				jr.addB(ser, b)
			}
		}
		fmt.Fprintf(log, "isowasm-bench: %s done in %v\n", j.name, time.Since(jobStart).Round(time.Millisecond))
		rows = append(rows, jr.rows()...)
	}

	fmt.Fprintf(out, "isowasm-bench: %d round(s)%s, %s %s/%s, %d CPUs, %s; load average %s at the start, %s at the end; %s in all\n\n",
		cfg.Rounds, map[bool]string{true: " -quick (smoke figures, not to quote)"}[cfg.Quick],
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), nodeLabel(nodeVersion),
		load0, loadAverage(), time.Since(started).Round(time.Second))
	printTable(out, rows, node != "")
	if len(skipRuntime) > 0 {
		fmt.Fprintln(out)
		for rt, err := range skipRuntime {
			fmt.Fprintf(out, "%s workers: not measured: %v\n", rt, err)
		}
	}
	return nil
}

func nodeLabel(v string) string {
	if v == "" {
		return "no node (peer skipped)"
	}
	return "node " + v
}

// findNode returns the node executable and its version, or "" when there is
// none (or the peer is turned off).
func findNode(name string) (path, version string) {
	if name == "" {
		name = "node"
	}
	if name == "off" {
		return "", ""
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", ""
	}
	v, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "", ""
	}
	return path, strings.TrimSpace(string(v))
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// driver runs one side of a round as a primary process and collects its
// figures.
type driver struct {
	cfg     Config
	node    string
	log     io.Writer
	scripts map[string]string
}

// figures are one side's numbers for one round, by figure name.
type figures map[string]float64

func (d *driver) isowasm(ctx context.Context, s spec, rt string) (figures, error) {
	return d.primary(ctx, s, exec.CommandContext(ctx, d.cfg.Executable, s.primaryArgs(rt, d.scripts[rt])...))
}

func (d *driver) peer(ctx context.Context, s spec, serialization string) (figures, error) {
	args := []string{filepath.Join(d.cfg.Dir, "peer", "primary.js"), s.Workload,
		fmt.Sprint(s.Workers), fmt.Sprint(s.Count), fmt.Sprint(s.Size), serialization, fmt.Sprint(s.Settle.Milliseconds())}
	return d.primary(ctx, s, exec.CommandContext(ctx, d.node, args...))
}

// primary runs cmd, a primary process of either side, answers its measure
// request, and turns its result line and its wall time into figures.
func (d *driver) primary(ctx context.Context, s spec, cmd *exec.Cmd) (figures, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := figures{}
	var res result
	var protoErr error
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			protoErr = fmt.Errorf("primary printed %q: %w", sc.Text(), err)
			continue
		}
		if r.Measure {
			m, err := measure(r.Pids)
			if err != nil {
				protoErr = err
			}
			for k, v := range m {
				f[k] = v
			}
			fmt.Fprintln(stdin)
			stdin.Close()
			continue
		}
		res = r
	}
	stdin.Close()
	err = cmd.Wait()
	wall := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%v: %w\n%s", cmd.Args, err, strings.TrimSpace(stderr.String()))
	}
	if protoErr != nil {
		return nil, protoErr
	}
	if res.ReadyMs == 0 {
		return nil, fmt.Errorf("%v printed no result\n%s", cmd.Args, stderr.String())
	}
	switch s.Workload {
	case "start":
		f[figReady] = res.ReadyMs
		f[figWhole] = ms(wall)
	case "ping":
		f[figRoundTrips] = float64(res.Count) / (res.ElapsedMs / 1000)
	case "pipeline":
		f[figMessages] = float64(res.Count) / (res.ElapsedMs / 1000)
	case "echo":
		rate := float64(res.Count) / (res.ElapsedMs / 1000)
		f[figRoundTrips] = rate
		f[figMBps] = rate * float64(s.Size) / 1e6
	}
	return f, nil
}

// sourceDir is the directory of this file at build time.
func sourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return filepath.Dir(file)
}
