package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/engine/process"
	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/js"
	"github.com/isowasm/isowasm/runtimes/worker"
)

// jsProcesses starts the workers a primary script's node:cluster forks, as
// isowasm worker processes on an engine/process group: each runs
// [isowasm, spec.Exec, spec.Args...], so that runtimes/worker runs spec.Exec
// in the runtime that fits it.
type jsProcesses struct {
	g      *process.Group
	fatals *fatalLog
	// modules prepares the compiled workers' modules, once each.
	modules moduleOnce
}

var _ js.Processes = (*jsProcesses)(nil)

// newJSProcesses makes the group; cfg.Executable "" is this executable.
// The errors that end workers are printed on stderr, a run of identical
// ones once (fatalLog), unless the worker is silent: its stderr is the
// script's to read, and the worker prints its error there itself.
func newJSProcesses(cfg process.Config, stderr io.Writer) (*jsProcesses, error) {
	g, err := process.NewGroup(cfg)
	if err != nil {
		return nil, err
	}
	return &jsProcesses{g: g, fatals: newFatalLog(stderr)}, nil
}

// Close waits for the workers until ctx is done, then kills those left.
func (j *jsProcesses) Close(ctx context.Context) error {
	err := j.g.Close(ctx)
	j.fatals.Close()
	return err
}

// exitedAfterDisconnecter is the optional event of a worker that says it
// leaves on purpose (its own cluster.worker.disconnect()).
type exitedAfterDisconnecter interface{ ExitedAfterDisconnect() }

// unhealthyReporter is the optional event of a worker the group killed
// for missing heartbeats or too much memory; without it, the kill is
// reported as a protocol error (the worker's 'error' event).
type unhealthyReporter interface{ Unhealthy(err error) }

// Start implements js.Processes.
func (j *jsProcesses) Start(spec js.WorkerSpec, ev js.WorkerEvents) (js.WorkerProcess, error) {
	h := process.Handlers{
		Online: ev.Online,
		Message: func(payload []byte) error {
			// The group's reader has checked it is well-formed; the runtime
			// decodes it into JavaScript values on its loop.
			if err := frame.CheckDecodedSize(payload); err != nil {
				return err
			}
			ev.Message(payload)
			return nil
		},
		Listening: func(l frame.Listening) {
			ev.Listening(l.Address, l.Port, l.AddressType)
		},
		ProtocolError: ev.ProtocolError,
		Disconnect:    ev.Disconnect,
		Exit:          ev.Exit,
		// The group reuses its line buffer; the events own what they get.
		Stdout: func(line []byte) { ev.Stdout(bytes.Clone(line)) },
		Stderr: func(line []byte) { ev.Stderr(bytes.Clone(line)) },
	}
	if x, ok := ev.(exitedAfterDisconnecter); ok {
		h.ExitedAfterDisconnect = x.ExitedAfterDisconnect
	}
	if !spec.Silent {
		h.Fatal = func(text string) { j.fatals.report(spec.ID, text) }
	}
	h.Unhealthy = ev.ProtocolError
	if x, ok := ev.(unhealthyReporter); ok {
		h.Unhealthy = x.Unhealthy
	}
	env := spec.Env
	if kind, _ := worker.Kind(spec.Exec); kind == "wasm" {
		path := spec.Exec
		if !filepath.IsAbs(path) && spec.Cwd != "" {
			path = filepath.Join(spec.Cwd, path)
		}
		env = slices.Clip(env)
		if err := j.modules.prepare(path); err != nil {
			// The worker still starts, comes online and exits 1 saying why
			// (as a JS worker whose script cannot load), without compiling.
			env = append(env, worker.EnvRefused+"="+strings.ReplaceAll(err.Error(), "\n", " "))
		}
		if j.modules.memoryPages > 0 {
			env = append(env, fmt.Sprintf("%s=%d", worker.EnvMemoryPages, j.modules.memoryPages))
		}
	}
	pr, err := j.g.Start(process.Spec{
		ID:     spec.ID,
		Args:   append([]string{spec.Exec}, spec.Args...),
		Env:    env,
		Dir:    spec.Cwd,
		Silent: spec.Silent,
	}, h)
	if err != nil {
		return nil, err
	}
	return jsWorker{pr}, nil
}

// moduleOnce prepares each module a primary script forks compiled
// workers of once, before the first fork, as the default primary does; a
// module rebuilt since (another size or time) is prepared again. A refusal
// is remembered too, so that replacements do not compile it again.
type moduleOnce struct {
	memoryPages uint32    // --max-memory, in pages
	progress    io.Writer // the progress line of a long compile
	mu          sync.Mutex
	done        map[string]moduleState
}

type moduleState struct {
	size  int64
	mtime time.Time
	err   error
}

func (m *moduleOnce) prepare(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("run: %s: %w", path, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.done[path]; ok && s.size == st.Size() && s.mtime.Equal(st.ModTime()) {
		return s.err
	}
	_, err = prepareModule(context.Background(), path, m.memoryPages, m.progress)
	if m.done == nil {
		m.done = map[string]moduleState{}
	}
	m.done[path] = moduleState{size: st.Size(), mtime: st.ModTime(), err: err}
	return err
}

// jsWorker is a started worker process, as js.WorkerProcess.
type jsWorker struct{ pr *process.Process }

func (w jsWorker) PID() int { return w.pr.PID() }

func (w jsWorker) Send(payload []byte, done func(error)) {
	if done == nil {
		w.pr.Send(payload, nil)
		return
	}
	w.pr.Send(payload, func(err error) {
		if errors.Is(err, process.ErrQueueFull) {
			err = fmt.Errorf("%w %d: it reads too slowly (--max-queued and --max-queued-size set the limits)", js.ErrQueueFull, w.pr.ID())
		}
		done(err)
	})
}

func (w jsWorker) Delivered(n int) { w.pr.Delivered(n) }

func (w jsWorker) Disconnect() { w.pr.Disconnect() }

func (w jsWorker) Release() { w.pr.CloseChannel() }

// Kill sends the signal named ("SIGTERM"; "" is SIGTERM, as Node's
// kill()); a process already gone is no error.
func (w jsWorker) Kill(signal string) error {
	sig := syscall.SIGTERM
	if signal != "" {
		if sig = unix.SignalNum(signal); sig == 0 {
			return fmt.Errorf("run: unknown signal %q", signal)
		}
	}
	return w.pr.Kill(sig)
}
