package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/engine/process"
	"github.com/isowasm/isowasm/runtimes/js"
	"github.com/isowasm/isowasm/runtimes/wasm"
	"github.com/isowasm/isowasm/runtimes/worker"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a cluster: a primary script, or the default primary forking workers that run SCRIPT",
		ArgsUsage: "SCRIPT [ARGS...]",
		Description: "A primary script (one that imports isotropic-cluster/lib/cluster-primary.js or\n" +
			"node:cluster) is run as the primary itself, as `node SCRIPT` would run it: it\n" +
			"forks its workers (itself again, or its workerScript) and isowasm exits with its\n" +
			"exit code. No worker outlives it. Signals are the script's to handle\n" +
			"(process.on('SIGINT')); without a handler it ends as Node's would.\n\n" +
			"Any other script is a worker script: the default primary forks --workers workers,\n" +
			"each running SCRIPT with ARGS (process.argv.slice(2) in the worker). It logs\n" +
			"each worker's life on stderr, replaces a worker that dies, answers a\n" +
			"{type: 'ping', ...} message with the same message typed 'pong', and on Ctrl-C,\n" +
			"SIGTERM or SIGHUP shuts the cluster down gracefully (a second Ctrl-C kills the\n" +
			"workers at once). Giving --workers always runs the default primary, even\n" +
			"for a primary script (which then runs as each worker).",
		Flags: append([]cli.Flag{
			&cli.IntFlag{
				Name:        "workers",
				Aliases:     []string{"w"},
				Usage:       "run the default primary with this many workers (a primary script runs as its own primary unless this is given)",
				Value:       runtime.NumCPU(),
				DefaultText: "the number of CPUs",
			},
			&cli.StringSliceFlag{
				Name:  "allow-dir",
				Usage: "compiled workers: let the guest use this directory and nothing outside it (DIR, HOSTDIR:GUESTDIR, either followed by :ro for read-only); repeat for more; by default a guest has no filesystem. JavaScript workers are not sandboxed: they have your rights",
			},
			&cli.StringSliceFlag{
				Name:  "allow-listen",
				Usage: "compiled workers: let the guest listen on this address (HOST:PORT, :PORT for any of this machine's addresses, :LOW-HIGH for a range; :0 for a port the system picks); repeat for more; by default a guest cannot listen",
			},
			&cli.StringSliceFlag{
				Name:  "env",
				Usage: "compiled workers: give the guest this environment variable (KEY copies yours, KEY=VALUE sets it); repeat for more; by default a guest's environment is empty. JavaScript workers get your whole environment",
			},
			&cli.UintFlag{
				Name:  "max-memory",
				Value: defaultMaxMemoryMiB,
				Usage: "compiled workers: cap each guest's linear memory at this many MiB (its allocations past it fail; a module that declares more initial memory is refused before forking); 0: the module's own maximum, up to 4096",
			},
			&cli.UintFlag{
				Name:  "max-heap",
				Value: defaultMaxHeapMiB,
				Usage: "cap each worker's heap at this many MiB (a JavaScript worker's objects; a compiled worker's host side): a worker over it exits with status 134, saying so; 0: no cap",
			},
			&cli.BoolFlag{
				Name:  "silent",
				Usage: "default primary: pipe the workers' stdout and stderr to the primary instead of the terminal (it drops them)",
			},
		}, supervisionFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return errors.New("run: give a script, for example: isowasm run app.js, or isowasm run --workers 4 worker.js")
			}
			script := c.Args().First()
			if !c.IsSet("workers") && isPrimaryScript(script) {
				if c.IsSet("silent") {
					return fmt.Errorf("run: %s is a primary script: --silent is for the default primary; set workerSilent in the script instead", script)
				}
				if name := defaultPrimaryOnly(c); name != "" {
					return fmt.Errorf("run: %s is a primary script: --%s is for the default primary (the script decides when to replace its workers)", script, name)
				}
				grants, env, err := workerEnv(c)
				if err != nil {
					return err
				}
				limits := processLimits(c, true)
				limits.Env = append(limits.Env, env...)
				return runPrimary(c.Context, primaryOptions{
					script:  script,
					args:    c.Args().Tail(),
					stdout:  c.App.Writer,
					stderr:  c.App.ErrWriter,
					process: limits,
					// Compiled workers of the script are checked against --max-memory too.
					memoryPages: grants.MemoryPages,
				})
			}
			sup, err := supervisionFromFlags(c)
			if err != nil {
				return err
			}
			grants, env, err := workerEnv(c)
			if err != nil {
				return err
			}
			opts := runOptions{
				script:      script,
				args:        c.Args().Tail(),
				workers:     c.Int("workers"),
				silent:      c.Bool("silent"),
				stderr:      c.App.ErrWriter,
				supervision: sup,
				env:         env,
				memoryPages: grants.MemoryPages,
			}
			return runCluster(c.Context, opts)
		},
	}
}

// The memory caps a worker gets unless told otherwise (Node caps a
// worker's heap too, at a few GiB): enough for a service, not for one
// runaway worker to take the machine.
const (
	defaultMaxMemoryMiB = 1024
	defaultMaxHeapMiB   = 1024
)

// workerEnv reads the sandbox and memory flags into the grants and the
// environment entries that carry them to every worker (worker.Options). --max-rss,
// when lower, lowers both caps: the worker then stops at its allocation
// instead of between two of the primary's once-a-heartbeat checks.
func workerEnv(c *cli.Context) (worker.Options, []string, error) {
	o := worker.Options{
		AllowDirs:   c.StringSlice("allow-dir"),
		AllowListen: c.StringSlice("allow-listen"),
	}
	for _, d := range o.AllowDirs {
		spec, err := wasm.ParseDir(d)
		if err != nil {
			return o, nil, fmt.Errorf("run: --allow-dir %q: write DIR, HOSTDIR:GUESTDIR, or either followed by :ro", d)
		}
		if st, err := os.Stat(spec.Host); err != nil || !st.IsDir() {
			return o, nil, fmt.Errorf("run: --allow-dir %q: %s is not a directory; create it or grant another", d, spec.Host)
		}
	}
	for _, l := range o.AllowListen {
		if _, err := wasm.ParseListen(l); err != nil {
			return o, nil, fmt.Errorf("run: --allow-listen %q: write HOST:PORT, :PORT or :LOW-HIGH (for example :8080 or 127.0.0.1:8000-8099)", l)
		}
	}
	for _, kv := range c.StringSlice("env") {
		k, _, set := strings.Cut(kv, "=")
		if k == "" {
			return o, nil, fmt.Errorf("run: --env %q: write KEY (to copy yours) or KEY=VALUE", kv)
		}
		if !set {
			v, ok := os.LookupEnv(k)
			if !ok {
				continue // as docker run -e KEY does with a KEY you do not have
			}
			kv = k + "=" + v
		}
		o.GuestEnv = append(o.GuestEnv, kv)
	}
	memoryMiB, heapMiB := uint64(c.Uint("max-memory")), uint64(c.Uint("max-heap"))
	if rss := uint64(c.Uint("max-rss")); rss > 0 {
		memoryMiB, heapMiB = capAt(memoryMiB, rss), capAt(heapMiB, rss)
	}
	if memoryMiB > 4096 {
		return o, nil, fmt.Errorf("run: --max-memory %d: a guest's memory is at most 4096 MiB", memoryMiB)
	}
	o.MemoryPages = uint32(memoryMiB * 16)
	o.MaxHeap = int64(heapMiB) << 20
	env, err := o.Environ()
	return o, env, err
}

// capAt is limit lowered to at most, 0 (no limit) counting as infinite.
func capAt(limit, at uint64) uint64 {
	if limit == 0 || limit > at {
		return at
	}
	return limit
}

type runOptions struct {
	script  string
	args    []string
	workers int
	silent  bool
	env     []string // added to the workers' environment
	// memoryPages is --max-memory in 64 KiB pages (0: none).
	memoryPages uint32
	stderr      io.Writer
	// signals, when set, replaces the process's SIGINT/SIGTERM (tests).
	signals <-chan os.Signal
	// started, when set, receives the primary once its workers are forked (tests).
	started func(*engine.Primary)
	// supervision is the restart policy, timeouts and limits (flags).
	supervision supervision
}

// checkScript finds the problems that would make every worker die at start:
// a missing file, an unknown kind, a script that does not build, a module
// refused or over --max-memory. A module is compiled here, once, for every
// worker to load (prepared says how long that took; nil for a script).
func checkScript(script string, memoryPages uint32, progress io.Writer) (abs string, prepared *wasm.Prepared, err error) {
	abs, err = filepath.Abs(script)
	if err != nil {
		return "", nil, err
	}
	if st, err := os.Stat(abs); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil, fmt.Errorf("%s: no such file", script)
		}
		return "", nil, err
	} else if st.IsDir() {
		return "", nil, fmt.Errorf("%s: is a directory, not a script", script)
	}
	kind, err := worker.Kind(script)
	if err != nil {
		return "", nil, err
	}
	switch kind {
	case "js":
		err = js.Check(abs, "")
	case "wasm":
		// Compiling here fills the on-disk cache that every worker loads
		// from, and refuses a module that breaks the ABI or a limit once,
		// not per fork.
		var p wasm.Prepared
		p, err = prepareModule(context.Background(), abs, memoryPages, progress)
		prepared = &p
	}
	if err != nil {
		return "", nil, err
	}
	return abs, prepared, nil
}

func runCluster(ctx context.Context, opts runOptions) error {
	if opts.workers < 1 {
		return fmt.Errorf("run: --workers must be at least 1, not %d", opts.workers)
	}
	begun := time.Now()
	abs, prepared, err := checkScript(opts.script, opts.memoryPages, opts.stderr)
	if err != nil {
		return err
	}
	engine.LimitPrimaryMemory(os.Getenv) // it runs no user code
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.stderr, "isowasm: "+format+"\n", args...)
	}

	// The workers send the error that ends them here, so that a crash
	// loop prints it once, not once per worker.
	fatals := newFatalLog(opts.stderr)
	defer fatals.Close()

	sup := opts.supervision
	cfg := engine.Config{
		WorkerScript:      abs,
		WorkerArgs:        opts.args,
		Env:               opts.env,
		Silent:            opts.silent,
		ReportFatal:       true,
		Restart:           sup.restart,
		ReadyTimeout:      sup.readyTimeout,
		HeartbeatInterval: sup.limits.HeartbeatInterval,
		HeartbeatTimeout:  sup.limits.HeartbeatTimeout,
		MaxRSS:            sup.limits.MaxRSS,
		MaxQueued:         sup.limits.MaxQueued,
		MaxQueuedBytes:    sup.limits.MaxQueuedBytes,
		MaxFrameSize:      sup.limits.MaxFrameSize,
	}
	p, err := engine.New(cfg)
	if err != nil {
		return err
	}
	defer p.Close(context.Background())

	signals := opts.signals
	if signals == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, shutdownSignals...)
		defer signal.Stop(ch)
		signals = ch
	}

	var (
		forkedAt  = map[int]time.Time{}
		replacing []int // workers whose workerExit is being published
		replaces  []int // for each fork to come, the worker it replaces (0: none)
		allReady  bool
		live      int
		stopping  bool
		allGone   = make(chan struct{})
		delayed   = map[int]time.Time{} // replacements waiting for a backoff: due time by the worker replaced
		gaveUp    = make(chan error, 1) // every worker is gone and none will be replaced
		lastGive  error
		// What the exit line of a worker says (workerExit): how it ended,
		// its restart delay, or why it is not replaced.
		exitText    = map[int]string{}
		restartIn   = map[int]time.Duration{}
		notReplaced = map[int]string{}
	)
	// checkGone: with no worker left and none to come, the primary has
	// nothing more to do.
	checkGone := func() {
		if !stopping && p.Active() && p.Live() == 0 {
			select {
			case gaveUp <- lastGive:
			default:
			}
		}
	}
	err = p.Do(ctx, func() {
		p.Before("workerExit", func(e *engine.Event) { replacing = append(replacing, e.Worker.ID()) })
		p.After("workerExit", func(e *engine.Event) { replacing = replacing[:len(replacing)-1] })
		p.After("fork", func(e *engine.Event) {
			old := 0
			if n := len(replacing); n > 0 {
				old = replacing[n-1]
			} else if len(delayed) > 0 {
				// A replacement whose backoff is over: the first due.
				for id, due := range delayed {
					if old == 0 || due.Before(delayed[old]) || due.Equal(delayed[old]) && id < old {
						old = id
					}
				}
				delete(delayed, old)
			}
			for range e.WorkerCount {
				replaces = append(replaces, old)
			}
		})
		p.On("workerFork", func(e *engine.Event) {
			w := e.Worker
			forkedAt[w.ID()] = time.Now()
			live++
			old := 0
			if len(replaces) > 0 {
				old, replaces = replaces[0], replaces[1:]
			}
			if old != 0 {
				logf("worker %d forked (pid %d) to replace worker %d", w.ID(), w.PID(), old)
			} else {
				logf("worker %d forked (pid %d)", w.ID(), w.PID())
			}
		})
		p.On("workerOnline", func(e *engine.Event) { logf("worker %d online", e.Worker.ID()) })
		p.After("workerReady", func(e *engine.Event) {
			id := e.Worker.ID()
			logf("worker %d ready in %s", id, since(forkedAt[id]))
			if !allReady && len(p.Workers()) == opts.workers {
				allReady = true
				logf("%d of %d workers ready in %s%s", opts.workers, opts.workers, since(begun), compileNote(prepared, opts.script))
			}
		})
		p.On("workerError", func(e *engine.Event) {
			var ke *engine.KillError
			if errors.As(e.Error, &ke) {
				logf("worker %d %s: killed", e.Worker.ID(), ke.Reason)
				return
			}
			logf("worker %d error: %v", e.Worker.ID(), e.Error)
			if e.Worker.PID() == 0 { // it could not be started: no exit follows
				live--
			}
		})
		p.After("workerError", func(*engine.Event) { checkGone() })
		// A worker's end is told in one line once its workerExit has run
		// its course: how it ended, then what follows (its replacement,
		// when, or why none), after the error that ended it.
		p.On("workerRestart", func(e *engine.Event) {
			delayed[e.Worker.ID()] = time.Now().Add(e.Delay)
			restartIn[e.Worker.ID()] = e.Delay
		})
		p.On("workerGiveUp", func(e *engine.Event) {
			w := e.Worker
			var (
				rl *engine.RestartLimitError
				sf *engine.StartFailureError
			)
			switch {
			case errors.As(e.Error, &rl):
				notReplaced[w.ID()] = fmt.Sprintf("it died after %d replacements within %s (--max-restarts %d, --restart-window %s)",
					rl.Restarts, rl.Window, sup.restart.MaxRestarts, sup.restart.Window)
				lastGive = fmt.Errorf("worker %d died after %d replacements within %s (--max-restarts %d, --restart-window %s); fix what makes the workers exit, then run again",
					rl.WorkerID, rl.Restarts, rl.Window, sup.restart.MaxRestarts, sup.restart.Window)
			case errors.As(e.Error, &sf):
				notReplaced[w.ID()] = fmt.Sprintf("%d starts in a row failed (--max-start-failures %d)", sf.Failures, sup.restart.MaxStartFailures)
				lastGive = startFailure(opts.script, fatals, sf.Failures, exitText[w.ID()])
			default:
				notReplaced[w.ID()] = e.Error.Error()
				lastGive = e.Error
			}
		})
		p.On("workerExit", func(e *engine.Event) {
			w := e.Worker
			delete(forkedAt, w.ID())
			how := fmt.Sprintf("exited with code %d", e.Code)
			if e.Signal != "" {
				how = "killed by " + e.Signal
			}
			switch {
			case w.ExitedAfterDisconnect():
				how += " after disconnecting"
			case !w.WasReady():
				how += " during start"
			}
			exitText[w.ID()] = how
			if fatals.report(w.ID(), w.FatalError()) {
				exitText[w.ID()] += " (the same error)"
			}
			live--
			if stopping && live == 0 {
				close(allGone)
			}
		})
		p.After("workerExit", func(e *engine.Event) {
			id := e.Worker.ID()
			line := fmt.Sprintf("worker %d %s", id, exitText[id])
			switch why, no := notReplaced[id]; {
			case no:
				line += "; not replacing it: " + why
			case stopping || !p.Active():
			case restartIn[id] > 0:
				line += fmt.Sprintf("; replacing it in %s", restartIn[id])
				if e.Worker.WasReady() {
					line += " (restart backoff: it died young)"
				}
			default:
				line += "; replacing it"
			}
			delete(exitText, id)
			delete(restartIn, id)
			delete(notReplaced, id)
			logf("%s", line)
			checkGone()
		})
		p.HandleType("ping", func(e *engine.Event) {
			m, ok := e.Message.(map[string]any)
			if !ok {
				return
			}
			reply := make(map[string]any, len(m))
			for k, v := range m {
				reply[k] = v
			}
			reply["type"] = "pong"
			e.Worker.Send(reply)
		})
		logf("starting %d workers: %s", opts.workers, opts.script)
		p.Fork(opts.workers)
	})
	if err != nil {
		return err
	}
	if opts.started != nil {
		opts.started(p)
	}

	var (
		sig     os.Signal
		failure error
	)
	select {
	case sig = <-signals:
	case <-ctx.Done():
	case why := <-gaveUp:
		failure = fmt.Errorf("run: every worker of %s is gone and none will be replaced", opts.script)
		if why != nil {
			failure = fmt.Errorf("%w: %v", failure, why)
		}
	}
	shutdownAt := time.Now() // "stopped in" measures the shutdown alone
	if failure != nil {
		logf("every worker is gone and none will be replaced: stopping")
	} else if sig != nil {
		logf("%s: shutting down the workers (Ctrl-C again to kill them)", sig)
	} else {
		logf("shutting down the workers")
	}
	_ = p.Do(context.Background(), func() {
		stopping = true
		_ = p.ShutDown()
		if live == 0 {
			close(allGone)
		}
	})

	grace, cancel := context.WithTimeout(context.Background(), sup.grace)
	defer cancel()
	go func() {
		select {
		case s := <-signals:
			logf("%s again: killing the workers", s)
			cancel()
		case <-grace.Done():
		}
	}()
	select {
	case <-allGone:
	case <-grace.Done():
		logf("killing the workers still running")
	}
	_ = p.Close(grace)
	fatals.Close()
	logf("stopped in %s", since(shutdownAt))
	return failure
}

// startFailure says why the workers of script are given up after failures
// starts in a row, and what to fix: the error they died of (the last one
// fatals printed), or how the last one ended.
func startFailure(script string, fatals *fatalLog, failures int, how string) error {
	first, where := fatals.headline()
	switch {
	case first != "" && where != "":
		return fmt.Errorf("the workers fail during start (%d times in a row): %s (at %s); fix that, then run again", failures, first, where)
	case first != "":
		return fmt.Errorf("the workers fail during start (%d times in a row): %s; fix that in %s, then run again", failures, first, script)
	}
	return fmt.Errorf("the workers fail during start (%d times in a row; the last %s); fix what makes %s exit before it is ready (a worker is ready when it sends 'ready', as ClusterWorker does), then run again", failures, how, script)
}

// isPrimaryScript reports whether script is a JavaScript cluster primary.
// A script that cannot be read or built is not: the default primary's
// checks report what is wrong with it.
func isPrimaryScript(script string) bool {
	if kind, err := worker.Kind(script); err != nil || kind != "js" {
		return false
	}
	info, err := js.Inspect(script, "")
	return err == nil && info.Primary
}

type primaryOptions struct {
	script         string
	args           []string
	stdout, stderr io.Writer
	// signals, when set, replaces the process's SIGINT/SIGTERM (tests).
	signals <-chan os.Signal
	// process holds the limits given on the command line.
	process process.Config
	// memoryPages is --max-memory for compiled workers, in pages (0: none).
	memoryPages uint32
}

// runPrimary runs a primary script in this process, its node:cluster
// forking workers on an engine/process group, and ends with its exit code.
func runPrimary(ctx context.Context, opts primaryOptions) error {
	abs, err := filepath.Abs(opts.script)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	procs, err := newJSProcesses(opts.process, opts.stderr)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	procs.modules.memoryPages, procs.modules.progress = opts.memoryPages, opts.stderr
	signals := opts.signals
	if signals == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, shutdownSignals...)
		defer signal.Stop(ch)
		signals = ch
	}
	code, err := js.Run(ctx, js.Config{
		Script:    abs,
		Args:      opts.args,
		Env:       os.Environ(),
		Stdout:    opts.stdout,
		Stderr:    opts.stderr,
		Processes: procs,
		Signals:   signals,
	})
	// No worker outlives the script: the runtime has killed those still
	// running, or released them (a signal's default action: they leave on
	// their own, as Node's workers do when their primary dies); reap them,
	// and kill any that are left after releaseTimeout.
	leave, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	_ = procs.Close(leave)
	cancel()
	if err != nil {
		fmt.Fprintf(opts.stderr, "isowasm: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// releaseTimeout is how long the workers of a primary script that a
// signal ended have to leave before they are killed.
const releaseTimeout = 2 * time.Second

// shutdownSignals end a cluster gracefully: the default primary shuts
// down, a primary script gets them as process events (Node's default
// action without a listener). SIGHUP is one: a closed terminal or a
// supervisor's reload request must not kill the workers on the spot.
var shutdownSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

func since(t time.Time) string {
	return time.Since(t).Round(100 * time.Microsecond).String()
}
