// Package conformance runs the isotropic-cluster reference scenarios
// (reference/, recorded by running the original library on Node) against an
// isowasm binary and compares each result line with its recorded trace.
//
// A scenario is a folder holding primary.js (and often worker.js) that
// prints one line starting with {"scenario":. The runner copies the folder
// and the shared _common/ helpers to a temporary directory, runs
// `isowasm run primary.js` there, extracts that line and compares it with
// reference/traces/<name>.json as JSON values. The scenarios already
// normalise what varies between runs (ports, timings, cross-worker order),
// so the comparison is exact. The traces are never edited to fit.
package conformance

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Reference is the recorded suite: README.md, scenarios/ and traces/.
//
//go:embed all:reference
var Reference embed.FS

// resultPrefix starts the one line a scenario prints as its result.
const resultPrefix = `{"scenario":`

// DefaultTimeout bounds one scenario run. The slowest reference scenario
// takes about 10 s (a worker's 6.5 s destroy grace period and more).
const DefaultTimeout = 60 * time.Second

// Scenarios lists the names of the reference scenarios, sorted.
func Scenarios() []string {
	entries, _ := fs.ReadDir(Reference, "reference/scenarios")
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Trace returns the recorded result of a scenario.
func Trace(name string) ([]byte, error) {
	data, err := Reference.ReadFile("reference/traces/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("conformance: no trace for scenario %s: %w", name, err)
	}
	return data, nil
}

// Prepare copies scenario name and the shared helpers into dir (dir/name
// and dir/_common, as they sit in reference/scenarios, since the scripts
// import ../_common/…) and returns the path of its primary.js. A
// package.json marks the copies as ES modules, as the recording's project
// did.
func Prepare(dir, name string) (string, error) {
	for _, sub := range []string{name, "_common"} {
		root := "reference/scenarios/" + sub
		err := fs.WalkDir(Reference, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			dst := filepath.Join(dir, sub, filepath.FromSlash(strings.TrimPrefix(p, root)))
			if d.IsDir() {
				return os.MkdirAll(dst, 0o755)
			}
			data, err := Reference.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o644)
		})
		if err != nil {
			return "", fmt.Errorf("conformance: copying scenario %s: %w", name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type": "module"}`+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("conformance: %w", err)
	}
	return filepath.Join(dir, name, "primary.js"), nil
}

// ErrNoResult is a run whose output has no result line.
var ErrNoResult = errors.New("conformance: no result line in the output")

// Extract returns the result line of a scenario's output.
func Extract(stdout []byte) ([]byte, error) {
	for _, line := range bytes.Split(stdout, []byte("\n")) {
		if bytes.HasPrefix(line, []byte(resultPrefix)) {
			return bytes.TrimRight(line, "\r"), nil
		}
	}
	return nil, ErrNoResult
}

// Compare compares a result line with a recorded trace as JSON values and
// returns "" when they are equal, else a description of the first
// difference (its JSON path, both values) followed by both documents.
func Compare(got, want []byte) string {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Sprintf("the result line is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return fmt.Sprintf("the trace is not JSON: %v", err)
	}
	if reflect.DeepEqual(g, w) {
		return ""
	}
	at, gv, wv := firstDifference("$", g, w)
	return fmt.Sprintf("first difference at %s:\n  got:  %s\n  want: %s", at, show(gv), show(wv))
}

// missing stands for an absent key or array element in a difference.
type missing struct{}

func show(v any) string {
	if _, ok := v.(missing); ok {
		return "(absent)"
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// firstDifference walks both values in document order and returns the
// path of the first place they differ.
func firstDifference(at string, got, want any) (string, any, any) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return at, got, want
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				return at + "." + k, missing{}, wv
			case !wok:
				return at + "." + k, gv, missing{}
			case !reflect.DeepEqual(gv, wv):
				return firstDifference(at+"."+k, gv, wv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return at, got, want
		}
		for i := 0; i < max(len(g), len(w)); i++ {
			p := at + "[" + strconv.Itoa(i) + "]"
			switch {
			case i >= len(g):
				return p, missing{}, w[i]
			case i >= len(w):
				return p, g[i], missing{}
			case !reflect.DeepEqual(g[i], w[i]):
				return firstDifference(p, g[i], w[i])
			}
		}
	}
	return at, got, want
}

// Result is the outcome of one scenario run.
type Result struct {
	Name     string
	Pass     bool
	Duration time.Duration
	// Diff says how the result line differs from the trace (or why there
	// is none); Output is what the run printed, for a failure's report.
	Diff   string
	Output string
}

// Runner runs scenarios with an isowasm binary.
type Runner struct {
	// Binary is the isowasm executable.
	Binary string
	// Timeout bounds each run; 0 is DefaultTimeout.
	Timeout time.Duration
	// Env is added to the environment of each run.
	Env []string
}

// Run runs one scenario in a fresh temporary directory under tmp and
// compares its result with the trace.
func (r Runner) Run(ctx context.Context, tmp, name string) Result {
	start := time.Now()
	res := Result{Name: name}
	fail := func(diff string) Result {
		res.Diff = diff
		res.Duration = time.Since(start)
		return res
	}
	want, err := Trace(name)
	if err != nil {
		return fail(err.Error())
	}
	dir, err := os.MkdirTemp(tmp, "scenario-")
	if err != nil {
		return fail(err.Error())
	}
	defer os.RemoveAll(dir)
	primary, err := Prepare(dir, name)
	if err != nil {
		return fail(err.Error())
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Binary, "run", path.Base(filepath.ToSlash(primary)))
	cmd.Dir = filepath.Dir(primary)
	cmd.Env = append(os.Environ(), r.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	res.Output = "stdout:\n" + stdout.String() + "stderr:\n" + stderr.String()
	got, err := Extract(stdout.Bytes())
	if err != nil {
		if ctx.Err() != nil {
			return fail(fmt.Sprintf("timed out after %v with no result line", timeout))
		}
		return fail(fmt.Sprintf("%v (exit: %v)", err, runErr))
	}
	if diff := Compare(got, want); diff != "" {
		return fail(diff)
	}
	res.Pass = true
	res.Duration = time.Since(start)
	return res
}

// RunAll runs the named scenarios (all of them when names is empty), at
// most parallel at a time (0: one per CPU), and returns the results in the
// order of names.
func (r Runner) RunAll(ctx context.Context, tmp string, names []string, parallel int) []Result {
	if len(names) == 0 {
		names = Scenarios()
	}
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	results := make([]Result, len(names))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = r.Run(ctx, tmp, name)
		}()
	}
	wg.Wait()
	return results
}

// Table is a per-scenario pass/fail table of results, one line each, with
// a count at the end.
func Table(results []Result) string {
	var b strings.Builder
	width := len("scenario")
	for _, res := range results {
		width = max(width, len(res.Name))
	}
	fmt.Fprintf(&b, "%-*s  %-6s  %s\n", width, "scenario", "result", "time")
	passed := 0
	for _, res := range results {
		status := "FAIL"
		if res.Pass {
			status = "pass"
			passed++
		}
		fmt.Fprintf(&b, "%-*s  %-6s  %.1fs\n", width, res.Name, status, res.Duration.Seconds())
	}
	fmt.Fprintf(&b, "%d/%d scenarios pass\n", passed, len(results))
	return b.String()
}
