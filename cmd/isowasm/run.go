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
			"{type: 'ping', ...} message with the same message typed 'pong', and on Ctrl-C\n" +
			"or SIGTERM shuts the cluster down gracefully (a second Ctrl-C kills the\n" +
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
				Usage: "compiled workers: let the guest use this directory (DIR, or HOSTDIR:GUESTDIR); repeat for more; by default a guest has no filesystem",
			},
			&cli.UintFlag{
				Name:        "max-memory",
				Usage:       "compiled workers: cap each guest's linear memory at this many MiB (a module that declares more initial memory is refused before forking)",
				DefaultText: "the module's own maximum",
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
				return runPrimary(c.Context, primaryOptions{
					script:  script,
					args:    c.Args().Tail(),
					stdout:  c.App.Writer,
					stderr:  c.App.ErrWriter,
					process: processLimits(c, true),
					// Compiled workers of the script get --max-memory too.
					memoryPages: uint32(c.Uint("max-memory") * 16),
				})
			}
			sup, err := supervisionFromFlags(c)
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
			}
			for _, dir := range c.StringSlice("allow-dir") {
				if strings.Contains(dir, "\n") {
					return fmt.Errorf("run: --allow-dir %q: a directory name with a newline is not supported", dir)
				}
			}
			if dirs := c.StringSlice("allow-dir"); len(dirs) > 0 {
				opts.env = append(opts.env, worker.EnvAllowDirs+"="+strings.Join(dirs, "\n"))
			}
			if mib := c.Uint("max-memory"); mib > 0 {
				opts.memoryPages = uint32(mib * 16)
				opts.env = append(opts.env, fmt.Sprintf("%s=%d", worker.EnvMemoryPages, opts.memoryPages))
			}
			return runCluster(c.Context, opts)
		},
	}
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
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.stderr, "isowasm: "+format+"\n", args...)
	}

	sup := opts.supervision
	cfg := engine.Config{
		WorkerScript:      abs,
		WorkerArgs:        opts.args,
		Env:               opts.env,
		Silent:            opts.silent,
		Restart:           sup.restart,
		ReadyTimeout:      sup.readyTimeout,
		HeartbeatInterval: sup.limits.HeartbeatInterval,
		HeartbeatTimeout:  sup.limits.HeartbeatTimeout,
		MaxRSS:            sup.limits.MaxRSS,
		MaxQueued:         sup.limits.MaxQueued,
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
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(ch)
		signals = ch
	}

	start := time.Now()
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
		p.On("workerRestart", func(e *engine.Event) {
			delayed[e.Worker.ID()] = time.Now().Add(e.Delay)
			logf("worker %d died young: replacing it in %s (restart backoff)", e.Worker.ID(), e.Delay)
		})
		p.On("workerGiveUp", func(e *engine.Event) {
			var rl *engine.RestartLimitError
			if errors.As(e.Error, &rl) {
				lastGive = fmt.Errorf("worker %d died after %d replacements within %s (--max-restarts %d, --restart-window %s)",
					rl.WorkerID, rl.Restarts, rl.Window, sup.restart.MaxRestarts, sup.restart.Window)
			} else {
				lastGive = e.Error
			}
			logf("not replacing worker %d: %v", e.Worker.ID(), lastGive)
		})
		p.On("workerExit", func(e *engine.Event) {
			w := e.Worker
			delete(forkedAt, w.ID())
			how := fmt.Sprintf("exited with code %d", e.Code)
			if e.Signal != "" {
				how = "killed by " + e.Signal
			}
			if w.ExitedAfterDisconnect() {
				how += " after disconnecting"
			}
			logf("worker %d %s", w.ID(), how)
			live--
			if stopping && live == 0 {
				close(allGone)
			}
		})
		p.After("workerExit", func(*engine.Event) { checkGone() })
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
			failure = fmt.Errorf("%w: %v; fix what makes the workers exit, then run again", failure, why)
		}
	}
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
	logf("stopped in %s", since(start))
	return failure
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
	procs, err := newJSProcesses(opts.process)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	procs.modules.memoryPages, procs.modules.progress = opts.memoryPages, opts.stderr
	signals := opts.signals
	if signals == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
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
	// running; reap them, and kill any that are left.
	now, cancel := context.WithCancel(context.Background())
	cancel()
	_ = procs.Close(now)
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

func since(t time.Time) string {
	return time.Since(t).Round(100 * time.Microsecond).String()
}
