// Package worker is the entry point of a worker process: a process that an
// isowasm primary started finds its channel here, says hello, and runs its
// script in the runtime that fits it. The isowasm binary calls Main first
// thing; a Go program that embeds the engine does the same, so that it can be
// its own worker executable.
package worker

import (
	"context"
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
		var opts wasmOptions
		if refused := getenv(EnvRefused); refused != "" {
			code, err = 1, errors.New(refused)
		} else if opts, err = wasmOptionsFromEnv(getenv); err == nil {
			code, err = wasm.Run(ctx, wasm.Config{
				Module:           script,
				Args:             args[2:],
				Env:              Environ(),
				Stdout:           stdout,
				Stderr:           stderr,
				Channel:          ch,
				AllowDirs:        opts.allowDirs,
				MemoryLimitPages: opts.memoryPages,
			})
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

// Environ is a worker script's process.env: this process's environment
// (the primary's process.env at fork time), without the variables that
// connect it to the primary.
func Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, hostabi.EnvCookie+"=") && !strings.HasPrefix(kv, hostabi.EnvChannelFD+"=") {
			env = append(env, kv)
		}
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

// The primary passes a compiled worker's grants through the environment.
const (
	// EnvAllowDirs lists the directories a Wasm worker may use, one a
	// line; each is "dir" or "hostdir:guestdir".
	EnvAllowDirs = "ISOWASM_ALLOW_DIRS"
	// EnvMemoryPages caps a Wasm worker's linear memory, in 64 KiB pages.
	EnvMemoryPages = "ISOWASM_MEMORY_PAGES"
	// EnvRefused is why the primary refused the worker's module (one
	// line): the worker reports it and exits 1 without compiling, as a JS
	// worker whose script cannot load exits.
	EnvRefused = "ISOWASM_WASM_REFUSED"
)

type wasmOptions struct {
	allowDirs   []string
	memoryPages uint32
}

func wasmOptionsFromEnv(getenv func(string) string) (wasmOptions, error) {
	var o wasmOptions
	if s := getenv(EnvAllowDirs); s != "" {
		o.allowDirs = strings.Split(s, "\n")
	}
	if s := getenv(EnvMemoryPages); s != "" {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 {
			return o, fmt.Errorf("%s=%q is not a number of pages", EnvMemoryPages, s)
		}
		o.memoryPages = uint32(n)
	}
	return o, nil
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
