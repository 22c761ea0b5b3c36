// Package worker is the entry point of a worker process: a process that an
// isowasm primary started finds its channel here, says hello, and runs its
// script in the runtime that fits it. The isowasm binary calls Main first
// thing; a Go program that embeds the engine does the same, so that it can be
// its own worker executable.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/runtimes/host"
	"github.com/isowasm/isowasm/runtimes/js"
	"github.com/isowasm/isowasm/runtimes/wasm"
)

// Main runs this process as a worker when the environment says it is one.
// args are the process arguments: args[1] is the worker script, args[2:] its
// arguments. isWorker is false (and nothing is done) when the process was not
// started by a primary; otherwise code is the exit code to end with. A
// process that wasm.Prepare started to compile a module in isolation is
// served here too.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (isWorker bool, code int) {
	if ok, code := wasm.CompileMain(getenv, stdout, stderr); ok {
		return true, code
	}
	cfg, ok, err := host.FromEnv(getenv)
	if !ok {
		return false, 0
	}
	fail := func(err error) (bool, int) {
		fmt.Fprintf(stderr, "isowasm: worker %d: %v\n", cfg.WorkerID, err)
		return true, 1
	}
	if err != nil {
		return fail(err)
	}
	if len(args) < 2 {
		return fail(fmt.Errorf("no worker script given"))
	}
	if n := workerProcs(getenv); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	script := args[1]
	kind, err := Kind(script)
	if err != nil {
		return fail(err)
	}
	ch, err := host.Open(cfg, kind)
	if err != nil {
		return fail(err)
	}
	defer ch.Close()
	// A JavaScript worker's start-up (bundle, compile, the built-ins'
	// initialisation) leaves megabytes of garbage the idle worker never
	// needs again: once the worker is ready, collect it and give the pages
	// back to the system, off the worker's loop (with the GOGC below,
	// idle Pss 12.3 → 9.6 MB per worker on the benchmark). A Wasm worker leaves little: a forced
	// collection there costs more resident pages than it frees.
	//
	// Until then the collector runs less often (GOGC 400): start-up
	// allocates a few megabytes that are nearly all garbage by the time it
	// ends, and collecting them along the way only delays readiness. A
	// worker that never says "ready" (Node's bare process.send style) is
	// settled after startupGCWindow at the latest. From then on a worker
	// runs with GOGC 200: it keeps a few megabytes and every message
	// leaves a little garbage, and collecting at 2x instead of 1x its live
	// heap measured 10-30% more pipelined messages and HTTP requests per
	// second. GOGC in the environment wins over both.
	//
	// Once ready, every worker also drops the start-up pages of the binary
	// from its own mappings (trimImage).
	setGC := func(int) {}
	if getenv("GOGC") == "" {
		setGC = func(percent int) { debug.SetGCPercent(percent) }
	}
	if kind == "js" {
		setGC(startupGCPercent)
		settle := sync.OnceFunc(func() {
			setGC(runGCPercent)
			debug.FreeOSMemory()
			_, _ = trimImage()
		})
		ch.AfterReady(settle)
		t := time.AfterFunc(startupGCWindow, settle)
		defer t.Stop()
	} else {
		setGC(runGCPercent)
		ch.AfterReady(func() { _, _ = trimImage() })
	}
	opts, err := optionsFromEnv(getenv)
	if err != nil {
		return fail(err)
	}
	if opts.MaxHeap > 0 {
		stop := limitHeap(opts.MaxHeap, func(live uint64) {
			heapExceeded(stderr, cfg.WorkerID, kind, script, live, opts.MaxHeap)
		})
		defer stop()
	}
	switch kind {
	case "js":
		code, err = js.Run(ctx, js.Config{
			Script:  script,
			Args:    args[2:],
			Env:     Environ(),
			Stdout:  stdout,
			Stderr:  stderr,
			Channel: ch,
		})
	case "wasm":
		if refused := getenv(EnvRefused); refused != "" {
			code, err = 1, errors.New(refused)
			break
		}
		var wc wasm.Config
		wc, err = opts.wasmConfig(wasm.Config{
			Module:  script,
			Args:    args[2:],
			Stdout:  stdout,
			Stderr:  stderr,
			Channel: ch,
		})
		if err == nil {
			code, err = wasm.Run(ctx, wc)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "isowasm: worker %d: %v\n", cfg.WorkerID, err)
		if code == 0 {
			code = 1
		}
	}
	return true, code
}

// A worker's GOGC (unless the environment sets it): startupGCPercent for
// a JavaScript worker until it is ready, or for startupGCWindow at most;
// runGCPercent from then on, and for a compiled worker from the start.
const (
	startupGCPercent = 400
	startupGCWindow  = 2 * time.Second
	runGCPercent     = 200
)

// Environ is a JavaScript worker's process.env: this process's
// environment (the primary's process.env at fork time), without the
// variables that connect it to the primary or carry its Options.
func Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case hostabi.EnvCookie, hostabi.EnvChannelFD, EnvAllowDirs, EnvAllowListen, EnvGuestEnv, EnvMemoryPages, EnvMaxHeap:
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Kind names the runtime for a script by its extension: "js" or "wasm".
func Kind(script string) (string, error) {
	switch strings.ToLower(filepath.Ext(script)) {
	case ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts":
		return "js", nil
	case ".wasm":
		return "wasm", nil
	}
	return "", fmt.Errorf("%s: unknown script type %q: give a .js, .mjs, .cjs, .ts, .mts or .wasm file", script, filepath.Ext(script))
}

// The primary passes a worker's grants and limits through the
// environment of the worker process (Options.Environ writes them).
const (
	// EnvAllowDirs lists the directories a Wasm guest may use, one a
	// line, as wasm.ParseDir reads them.
	EnvAllowDirs = "ISOWASM_ALLOW_DIRS"
	// EnvAllowListen lists the addresses a Wasm guest may listen on, one
	// a line, as wasm.ParseListen reads them.
	EnvAllowListen = "ISOWASM_ALLOW_LISTEN"
	// EnvGuestEnv is a Wasm guest's whole environment, a JSON array of
	// "KEY=value" strings.
	EnvGuestEnv = "ISOWASM_GUEST_ENV"
	// EnvMemoryPages caps a Wasm guest's linear memory, in 64 KiB pages.
	EnvMemoryPages = "ISOWASM_MEMORY_PAGES"
	// EnvMaxHeap caps a worker process's Go heap (a JavaScript worker's
	// objects), in bytes.
	EnvMaxHeap = "ISOWASM_MAX_HEAP"
	// EnvRefused is why the primary refused the worker's module (one
	// line): the worker reports it and exits 1 without compiling, as a JS
	// worker whose script cannot load exits.
	EnvRefused = "ISOWASM_WASM_REFUSED"
)

// Options are what a primary grants its workers and the limits they run
// under. The grants are for compiled (Wasm) workers: a guest reaches
// nothing but its own memory and its channel unless granted here. A
// JavaScript worker is not sandboxed: it has the user's rights and the
// primary's whole environment, and only MaxHeap applies to it.
type Options struct {
	// AllowDirs are directories the guest may use (wasm.ParseDir).
	AllowDirs []string
	// AllowListen are the addresses the guest may listen on
	// (wasm.ParseListen).
	AllowListen []string
	// GuestEnv is the guest's whole environment, "KEY=value" entries.
	GuestEnv []string
	// MemoryPages caps the guest's linear memory in 64 KiB pages; 0 is
	// the module's own maximum (at most 4 GiB).
	MemoryPages uint32
	// MaxHeap caps the worker process's Go heap in bytes: the collector
	// works harder near it, and a worker whose live heap goes over it
	// ends with a message saying so. 0: no cap.
	MaxHeap int64
}

// Environ returns the environment entries that pass o to worker
// processes (engine.Config.Env, process.Config.Env), after checking each
// grant.
func (o Options) Environ() ([]string, error) {
	var env []string
	for _, d := range o.AllowDirs {
		if strings.Contains(d, "\n") {
			return nil, fmt.Errorf("worker: directory %q: a name with a newline is not supported", d)
		}
		if _, err := wasm.ParseDir(d); err != nil {
			return nil, err
		}
	}
	for _, l := range o.AllowListen {
		if _, err := wasm.ParseListen(l); err != nil {
			return nil, err
		}
	}
	if len(o.AllowDirs) > 0 {
		env = append(env, EnvAllowDirs+"="+strings.Join(o.AllowDirs, "\n"))
	}
	if len(o.AllowListen) > 0 {
		env = append(env, EnvAllowListen+"="+strings.Join(o.AllowListen, "\n"))
	}
	if len(o.GuestEnv) > 0 {
		for _, kv := range o.GuestEnv {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return nil, fmt.Errorf("worker: guest environment entry %q is not KEY=value", kv)
			}
		}
		b, err := json.Marshal(o.GuestEnv)
		if err != nil {
			return nil, fmt.Errorf("worker: guest environment: %w", err)
		}
		env = append(env, EnvGuestEnv+"="+string(b))
	}
	if o.MemoryPages > 0 {
		env = append(env, EnvMemoryPages+"="+strconv.FormatUint(uint64(o.MemoryPages), 10))
	}
	if o.MaxHeap > 0 {
		env = append(env, EnvMaxHeap+"="+strconv.FormatInt(o.MaxHeap, 10))
	}
	return env, nil
}

// optionsFromEnv reads what Environ wrote.
func optionsFromEnv(getenv func(string) string) (Options, error) {
	var o Options
	if s := getenv(EnvAllowDirs); s != "" {
		o.AllowDirs = strings.Split(s, "\n")
	}
	if s := getenv(EnvAllowListen); s != "" {
		o.AllowListen = strings.Split(s, "\n")
	}
	if s := getenv(EnvGuestEnv); s != "" {
		if err := json.Unmarshal([]byte(s), &o.GuestEnv); err != nil {
			return o, fmt.Errorf("%s is not a JSON array of strings: %w", EnvGuestEnv, err)
		}
	}
	if s := getenv(EnvMemoryPages); s != "" {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 {
			return o, fmt.Errorf("%s=%q is not a number of pages", EnvMemoryPages, s)
		}
		o.MemoryPages = uint32(n)
	}
	if s := getenv(EnvMaxHeap); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("%s=%q is not a number of bytes", EnvMaxHeap, s)
		}
		o.MaxHeap = n
	}
	return o, nil
}

// wasmConfig turns the grants into the Wasm runtime's terms.
func (o Options) wasmConfig(cfg wasm.Config) (wasm.Config, error) {
	for _, spec := range o.AllowDirs {
		d, err := wasm.ParseDir(spec)
		if err != nil {
			return cfg, err
		}
		cfg.AllowDirs = append(cfg.AllowDirs, d)
	}
	for _, spec := range o.AllowListen {
		l, err := wasm.ParseListen(spec)
		if err != nil {
			return cfg, err
		}
		cfg.AllowListen = append(cfg.AllowListen, l)
	}
	cfg.Env = o.GuestEnv
	cfg.MemoryLimitPages = o.MemoryPages
	return cfg, nil
}

// workerProcs is the GOMAXPROCS a worker process runs with, 0 to leave the
// runtime's own choice. A worker runs one guest or one JavaScript loop at a
// time, and a cluster has one worker per core: with a P per core in every
// worker, their schedulers and collectors only compete. One P measured 8%
// faster to start 16 JavaScript workers, 7-17% more pipelined messages and
// 5-10% more HTTP requests per second on 2 cores. GOMAXPROCS in the
// environment wins.
func workerProcs(getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" {
		return 0
	}
	return 1
}
