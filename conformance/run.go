package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Runtimes a scenario runs with: isowasm with JS workers, isowasm with
// Wasm workers, and Node with the original library (the live reference).
const (
	JS   = "js"
	Wasm = "wasm"
	Node = "node"
)

// Status is the outcome of one run.
type Status string

// The outcomes.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is the outcome of one scenario with one runtime.
type Result struct {
	Scenario string `json:"scenario"`
	Set      string `json:"set"`
	Runtime  string `json:"runtime"`
	Status   Status `json:"status"`
	// Reason says why a run was skipped, or how it failed in one line or
	// a few (the first difference, a timeout, no result line).
	Reason string `json:"reason,omitempty"`
	// Against says what the result was compared with, and on what.
	Against string `json:"against,omitempty"`
	// Diff is the readable diff of a failed comparison (see Diff).
	Diff       string        `json:"diff,omitempty"`
	Duration   time.Duration `json:"-"`
	DurationMS int64         `json:"durationMs"`
	// Line is the result line the run printed.
	Line json.RawMessage `json:"result,omitempty"`
	// Output is what a failed run printed (stdout, then stderr).
	Output string `json:"output,omitempty"`
}

// Runner runs scenarios with an isowasm binary, and with Node when given
// a live reference.
type Runner struct {
	// Binary is the isowasm executable.
	Binary string
	// Timeout bounds each run; 0 is DefaultTimeout.
	Timeout time.Duration
	// Env is added to the environment of each run.
	Env []string
	// Parallel bounds the runs at a time; 0 is one per CPU.
	Parallel int
	// Runtimes are the isowasm runtimes to run: JS and/or Wasm; none is
	// both.
	Runtimes []string
	// Guest is the built conformance Go guest (BuildGuest); without it the
	// Wasm runs that need it are skipped, saying GuestSkip.
	Guest, GuestSkip string
	// Reference, when set, runs every scenario under Node with the
	// original library first and compares isowasm's runs with that live
	// result instead of the recorded trace. ReferenceSkip, when set
	// instead, is why the Node runs are skipped (what to install).
	Reference     *NodeReference
	ReferenceSkip string
	// Progress, when set, is told of each finished run (one at a time).
	Progress func(done, total int, res Result)
}

type job struct {
	sc      *Scenario
	runtime string
	ref     *liveRef // the scenario's live reference run, nil without one
}

// liveRef is a scenario's Node run, which its isowasm runs wait for.
type liveRef struct {
	done chan struct{}
	line []byte // nil when Node printed no result
}

// RunSuite runs each scenario with each runtime, at most Parallel runs at
// a time, in temporary directories under tmp, and returns the results in
// scenario order (node, js, wasm for each).
func (r *Runner) RunSuite(ctx context.Context, tmp string, scenarios []*Scenario) []Result {
	runtimes := r.Runtimes
	if len(runtimes) == 0 {
		runtimes = []string{JS, Wasm}
	}
	var jobs []job
	for _, sc := range scenarios {
		var ref *liveRef
		if r.Reference != nil || r.ReferenceSkip != "" {
			if r.Reference != nil {
				ref = &liveRef{done: make(chan struct{})}
			}
			jobs = append(jobs, job{sc: sc, runtime: Node, ref: ref})
		}
		for _, rt := range runtimes {
			jobs = append(jobs, job{sc: sc, runtime: rt, ref: ref})
		}
	}
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	results := make([]Result, len(jobs))
	sem := make(chan struct{}, parallel)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	finish := func(i int, res Result) {
		res.DurationMS = res.Duration.Milliseconds()
		results[i] = res
		if r.Progress != nil {
			mu.Lock()
			done++
			r.Progress(done, len(jobs), res)
			mu.Unlock()
		}
	}
	// Jobs take a slot in order, so a scenario's Node run has one before
	// the isowasm runs that wait for it: no wait can block the pool.
	for i, j := range jobs {
		if res, ok := r.skipped(j); ok {
			if j.runtime == Node && j.ref != nil {
				close(j.ref.done)
			}
			finish(i, res)
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if j.runtime == Node {
				finish(i, r.runNode(ctx, tmp, j))
				return
			}
			finish(i, r.runIsowasm(ctx, tmp, j))
		}()
	}
	wg.Wait()
	return results
}

// skipped decides the runs that do not happen, and why.
func (r *Runner) skipped(j job) (Result, bool) {
	res := Result{Scenario: j.sc.Name, Set: j.sc.Set, Runtime: j.runtime, Status: Skip}
	switch {
	case j.runtime == Node && r.Reference == nil:
		res.Reason = r.ReferenceSkip
	case j.runtime == Wasm && j.sc.Wasm.Skip != "":
		res.Reason = j.sc.Wasm.Skip
	case j.runtime == Wasm && j.sc.Wasm.Guest && r.Guest == "":
		res.Reason = "no Go guest: " + r.GuestSkip
	case j.runtime != Node && j.sc.Expected == nil && j.ref == nil:
		res.Reason = "no recorded trace, and no live reference to compare with (--reference node)"
	default:
		return Result{}, false
	}
	return res, true
}

// run runs argv in the scenario copied under tmp and returns its result
// line, or a failed Result saying why there is none.
func (r *Runner) run(ctx context.Context, tmp string, j job, env []string, argv func(primary string) []string) (line []byte, res Result) {
	res = Result{Scenario: j.sc.Name, Set: j.sc.Set, Runtime: j.runtime, Status: Fail}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	dir, err := os.MkdirTemp(tmp, j.sc.Name+"-"+j.runtime+"-")
	if err != nil {
		res.Reason = err.Error()
		return nil, res
	}
	defer os.RemoveAll(dir)
	primary, err := j.sc.Prepare(dir)
	if err != nil {
		res.Reason = err.Error()
		return nil, res
	}
	if j.runtime == Wasm && j.sc.Wasm.Module != "" {
		env = append(env, EnvWorker+"="+filepath.Join(filepath.Dir(primary), filepath.FromSlash(j.sc.Wasm.Module)))
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := argv(primary)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = filepath.Dir(primary)
	cmd.Env = append(baseEnv(), r.Env...)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if j.runtime == Node {
		// node_modules beside the copy, so that Node resolves the original
		// library from the scenario's real path.
		if err := os.Symlink(r.Reference.Modules, filepath.Join(dir, "node_modules")); err != nil {
			res.Reason = err.Error()
			return nil, res
		}
	}
	runErr := cmd.Run()
	res.Output = "stdout:\n" + stdout.String() + "stderr:\n" + stderr.String()
	line, err = Extract(stdout.Bytes())
	if err != nil {
		if ctx.Err() != nil {
			res.Reason = fmt.Sprintf("timed out after %v with no result line", timeout)
		} else {
			exit := "it exited with code 0"
			if runErr != nil {
				exit = "it ended: " + runErr.Error()
			}
			res.Reason = "no result line in its output; " + exit
		}
		return nil, res
	}
	res.Line = json.RawMessage(line)
	return line, res
}

// baseEnv is this process's environment without the suite's own hooks.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvWorker+"=") && !strings.HasPrefix(kv, EnvScenario+"=") {
			env = append(env, kv)
		}
	}
	return env
}

func (r *Runner) runIsowasm(ctx context.Context, tmp string, j job) Result {
	want, against := j.sc.Expected, "the recorded trace ("+j.sc.Set+")"
	if j.ref != nil {
		<-j.ref.done
		if j.ref.line != nil {
			want, against = j.ref.line, "the live run of the original on Node"
		} else if want == nil {
			return Result{Scenario: j.sc.Name, Set: j.sc.Set, Runtime: j.runtime, Status: Skip,
				Reason: "the Node run gave no result and there is no recorded trace"}
		} else {
			against += ", the Node run having given no result"
		}
	}
	var env, ignore, flags []string
	if j.runtime == Wasm {
		// A guest sees only the environment it is granted.
		flags = []string{"--env", EnvScenario}
		// The hook in node/cluster.js forks the Go guest instead of
		// worker.js (run sets a scenario's own worker.wasm once copied);
		// the guest reads which scenario it plays.
		env = append(env, EnvScenario+"="+j.sc.Name)
		if j.sc.Wasm.Module == "" {
			env = append(env, EnvWorker+"="+r.Guest)
		}
		ignore = j.sc.Wasm.Ignore
		against += ", on " + j.sc.Wasm.Compared()
	}
	line, res := r.run(ctx, tmp, j, env, func(primary string) []string {
		return append(append([]string{r.Binary, "run"}, flags...), filepath.Base(primary))
	})
	res.Against = against
	if line == nil {
		return res
	}
	if diff := CompareIgnoring(line, want, ignore); diff != "" {
		res.Reason = diff
		res.Diff = Diff(line, want, ignore)
		return res
	}
	res.Status, res.Output = Pass, ""
	return res
}

func (r *Runner) runNode(ctx context.Context, tmp string, j job) Result {
	line, res := r.run(ctx, tmp, j, nil, func(primary string) []string {
		return []string{r.Reference.Node, filepath.Base(primary)}
	})
	j.ref.line = line
	close(j.ref.done)
	res.Against = "the recorded trace (" + j.sc.Set + ")"
	if j.sc.Expected == nil {
		res.Against = "nothing (no recorded trace): its result is the expectation"
	}
	if line == nil {
		return res
	}
	if j.sc.Expected == nil {
		res.Status, res.Output = Pass, ""
		return res
	}
	if diff := Compare(line, j.sc.Expected); diff != "" {
		res.Reason = "the original no longer gives its recorded trace: " + diff
		res.Diff = Diff(line, j.sc.Expected, nil)
		return res
	}
	res.Status, res.Output = Pass, ""
	return res
}
