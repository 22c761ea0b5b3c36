// Package engine is the isowasm primary: it forks worker processes (the same
// executable re-run in worker mode), supervises them, exchanges frames with
// them over a socket pair each, and publishes what happens as events with
// isotropic-cluster's ClusterPrimary semantics (see SEMANTICS.md). The
// processes themselves (spawning, handshake, channel I/O, reaping) are
// package engine/process; this package is the cluster built on them.
//
// # One loop
//
// All of a Primary's state belongs to one loop. The goroutines that read and
// write the channels and wait for the processes only post functions to it.
// The loop is Config.Executor when given (a JavaScript primary passes its
// event loop, so that JS handlers run synchronously inside a dispatch, as in
// Node); otherwise the engine runs a goroutine of its own.
//
// The methods of Primary and Worker, and every event handler, run on that
// loop: call them from an event handler, or wrap the call in Primary.Do.
// The exceptions, safe from any goroutine, are New, Do, Done, Close,
// Worker.ID and Worker.PID, and the methods of Delivery. The race detector
// reports a call made elsewhere.
//
// # Events
//
// Each event runs the stages before → on → complete → after; complete is
// the primary's own action (the ClusterPrimary's _event… methods), and an
// event published from a handler or a complete stage nests inside the outer
// one. The events: fork, workerFork, workerOnline, workerMessage,
// workerReady, addWorker, removeWorker, workerListening, workerError,
// workerExit, workerDisconnect, shutDown, shutDownComplete, destroy and
// destroyComplete; and, only with a Config.Restart policy, workerRestart
// (a replacement waits for its backoff; Prevent cancels it) and
// workerGiveUp (a worker is not replaced: the restart limit is reached).
//
// # Supervision
//
// Beyond the original's replace-at-once, Config can slow down and cap the
// replacement of crash-looping workers (RestartPolicy), kill workers that
// are not ready in time (ReadyTimeout), whose event loop stops answering
// heartbeats (HeartbeatInterval) or whose memory grows past MaxRSS, and
// bound the messages queued to a slow worker (MaxQueued, MaxQueuedBytes).
// What a worker sends is bounded without asking: past a few MiB of its
// messages not yet handled on the loop (process.DefaultMaxUndelivered),
// its channel is not read until the loop catches up, so a worker that
// floods the primary blocks as on a pipe; a message that would decode to
// more than frame.MaxDecodedOverhead of the primary's memory is refused as
// a protocol error. A killed worker
// is reported as a workerError whose cause is a *KillError, then exits and
// is replaced like any other. A resolved send means the frame was written
// to the worker's channel, as in Node (not that the worker handled it);
// messages still queued to a worker whose channel closes are rejected with
// a *SendError wrapping ErrChannelClosed.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/isowasm/isowasm/engine/internal/loop"
	"github.com/isowasm/isowasm/engine/internal/pubsub"
	"github.com/isowasm/isowasm/engine/process"
)

// Executor runs functions one at a time, in the order they were posted, on
// the goroutine that owns the primary's state. Post must not block and must
// be safe to call from any goroutine.
type Executor interface {
	Post(fn func())
}

// TuneProcess gives the Go runtime of a primary process the settings a
// primary runs best with, PrimaryGCPercent and PrimaryProcs, except those
// the environment sets itself (GOGC, GOMAXPROCS; getenv is os.Getenv).
// A program that is a primary calls it first; the isowasm command does.
func TuneProcess(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(PrimaryGCPercent)
	}
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(PrimaryProcs(runtime.NumCPU()))
	}
}

// PrimaryGCPercent is the GOGC a primary process is best run with. A
// primary keeps little, a few megabytes, and allocates a little for every
// message (the decoded value, its event): with Go's default of 100 the
// collector ran every few thousand messages and took a quarter of the
// primary's CPU under load.
const PrimaryGCPercent = 400

// DefaultPrimaryMemoryLimit is the soft memory limit (debug.SetMemoryLimit)
// of a primary that runs no user code: `isowasm run`'s default primary.
// With PrimaryGCPercent its heap may grow to five times what is live, and
// under a flood from every worker what is live is mostly messages in
// flight: four Go workers sending 16 KiB pings, each answered, took the
// primary to 290 MiB of RSS; under the limit it took 157 MiB at the same
// rate. A primary that keeps more than this live collects more often.
const DefaultPrimaryMemoryLimit = 160 << 20

// LimitPrimaryMemory sets DefaultPrimaryMemoryLimit, unless the
// environment sets GOMEMLIMIT (getenv is os.Getenv). A primary that holds
// no state of its own calls it; the isowasm command's default primary does.
func LimitPrimaryMemory(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultPrimaryMemoryLimit)
	}
}

// PrimaryProcs is the GOMAXPROCS a primary process is best run with on a
// machine of cpus cores: a quarter of the cores, at least one. The workers
// are what needs the cores; the primary's state lives on one loop, and with
// a P per core its reader, loop and writer goroutines were woken on other
// threads for every message. On 2 cores one P measured 1.8x the round
// trips/s of sequential pings with a compiled worker and 1.7x the
// pipelined messages/s.
func PrimaryProcs(cpus int) int { return max(1, cpus/4) }

// Config says how a Primary starts its workers. Its zero value is the
// defaults; New validates it once.
type Config struct {
	// Executable is the program run as each worker (default: this one,
	// os.Executable).
	Executable string
	// WorkerScript and WorkerArgs follow the executable on the worker's
	// command line, which reads as Node's: [Executable, WorkerScript,
	// WorkerArgs...]. An empty WorkerScript is left out.
	WorkerScript string
	WorkerArgs   []string
	// Env is added to this process's environment for each worker
	// ("KEY=value"; later entries win).
	Env []string
	// Silent pipes each worker's stdout and stderr, line by line, to Stdout
	// and Stderr (nil: discarded). Otherwise the workers write to this
	// process's descriptors 1 and 2 directly.
	Silent         bool
	Stdout, Stderr io.Writer
	// ReportFatal has each worker send the error that ends it (an uncaught
	// exception, as it would print it) to the primary instead of printing
	// it; Worker.FatalError holds it at workerExit, for a primary that
	// reports start failures once rather than once per worker.
	ReportFatal bool
	// MaxFrameSize bounds a frame both ways (0: frame.DefaultMaxSize).
	MaxFrameSize int
	// HelloTimeout is how long a new worker has to say hello before it is
	// killed (0: 10s).
	HelloTimeout time.Duration
	// Logger receives the primary's log (nil: discarded).
	Logger *slog.Logger
	// Executor is the loop that owns the primary's state (nil: the engine
	// runs its own goroutine, started by New and stopped by Close).
	Executor Executor

	// Supervision. The zero values keep isotropic-cluster's behaviour:
	// a dead worker is replaced at once, forever, and nothing is watched.

	// Restart says when a worker that exits while the primary is active is
	// replaced (zero: at once, always).
	Restart RestartPolicy
	// ReadyTimeout is how long a forked worker has to say 'ready'; one
	// that has not is killed (SIGKILL) and reported as a workerError
	// wrapping ErrReadyTimeout, and its exit counts as a failed start
	// (0: no limit).
	ReadyTimeout time.Duration
	// HeartbeatInterval is how often each worker's event loop is asked
	// whether it still turns (a heartbeat frame, answered from the worker's
	// loop); one that leaves a heartbeat unanswered for HeartbeatTimeout
	// (0: five intervals) is reported as a workerError wrapping
	// ErrUnresponsive, killed and replaced. 0: no heartbeats.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	// MaxRSS caps each worker's resident memory in bytes, read from
	// /proc/PID/status every heartbeat interval (every second without
	// heartbeats); a worker over it is reported as a workerError wrapping
	// ErrMemoryLimit and killed. 0: no cap.
	MaxRSS int64
	// MaxQueued caps the messages waiting to be written to one worker
	// (it reads slowly or not at all); a send beyond it fails at once with
	// a *SendError wrapping ErrQueueFull, so a stuck worker cannot make the
	// primary grow without bound. 0: no cap.
	MaxQueued int
	// MaxQueuedBytes caps the same queue in bytes of encoded messages; a
	// send that would take it past the cap fails the same way, unless
	// nothing else waits for that worker. 0: no cap.
	MaxQueuedBytes int64
}

// withDefaults fills in the defaults of the engine's own fields; the
// process group validates the others.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	c.WorkerArgs = append([]string(nil), c.WorkerArgs...)
	c.Env = append([]string(nil), c.Env...)
	c.Restart = c.Restart.withDefaults()
	return c
}

// Primary is a ClusterPrimary: it forks workers, tracks which are ready,
// routes messages, replaces workers that die while it is active and shuts
// them all down.
type Primary struct {
	cfg  Config
	log  *slog.Logger
	exec Executor
	own  *loop.Loop   // the engine's loop, when Config.Executor is nil
	now  func() int64 // Date.now(), milliseconds

	// Owned by the loop.
	hub       *pubsub.Hub
	active    bool
	destroyed bool
	nextID    int
	cluster   map[int]*Worker // Node's cluster.workers: forked, not yet removed
	intercom  []func()        // cluster.disconnect callbacks
	ready     map[int]*Worker
	readyList []*Worker // ready workers in ascending id order
	rrStamps  map[string]map[*Worker]int64
	handlers  map[string]func(*Event)
	running   int   // processes started and not yet exited
	scheduled int   // replacements waiting for their backoff
	inherit   *slot // the slot of the replacement being forked

	// Safe from any goroutine.
	timers     timerSet // backoffs and ready timeouts, stopped by Close
	group      *process.Group
	outMu      sync.Mutex    // serialises lines forwarded from silent workers
	isDestroy  atomic.Bool   // mirrors destroyed for Close
	done       chan struct{} // closed with destroyComplete
	closed     atomic.Bool
	closeOnce  sync.Once
	closeDone  chan struct{}
	closeError error
}

// New validates cfg and returns an active primary with no workers.
func New(cfg Config) (*Primary, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	group, err := process.NewGroup(process.Config{
		Executable:        cfg.Executable,
		Env:               cfg.Env,
		MaxFrameSize:      cfg.MaxFrameSize,
		HelloTimeout:      cfg.HelloTimeout,
		HeartbeatInterval: cfg.HeartbeatInterval,
		HeartbeatTimeout:  cfg.HeartbeatTimeout,
		MaxRSS:            cfg.MaxRSS,
		MaxQueued:         cfg.MaxQueued,
		MaxQueuedBytes:    cfg.MaxQueuedBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	p := &Primary{
		cfg:       cfg,
		log:       cfg.Logger,
		exec:      cfg.Executor,
		now:       func() int64 { return time.Now().UnixMilli() },
		hub:       pubsub.New(),
		active:    true,
		cluster:   map[int]*Worker{},
		ready:     map[int]*Worker{},
		rrStamps:  map[string]map[*Worker]int64{},
		handlers:  map[string]func(*Event){},
		group:     group,
		done:      make(chan struct{}),
		closeDone: make(chan struct{}),
	}
	p.defineEvents()
	if p.exec == nil {
		p.own = loop.Start()
		p.exec = p.own
	}
	return p, nil
}

// post runs fn on the loop, unless the primary is closed by then.
func (p *Primary) post(fn func()) {
	p.exec.Post(func() {
		if !p.closed.Load() {
			fn()
		}
	})
}

// Do runs fn on the loop and waits for it to return (or for ctx). It must
// not be called on the loop itself.
func (p *Primary) Do(ctx context.Context, fn func()) error {
	if p.closed.Load() {
		return ErrClosed
	}
	ran := make(chan struct{})
	p.post(func() {
		defer close(ran)
		fn()
	})
	select {
	case <-ran:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the primary is destroyed (after destroyComplete).
func (p *Primary) Done() <-chan struct{} { return p.done }

// Close ends the primary and waits for everything it started. An active
// primary is first destroyed on the loop (shutting its workers down
// gracefully) and its workers are given until ctx is done to exit; those
// still running then are killed (SIGKILL) and Close returns the ctx error.
// Close must not be called on the loop; with an external Executor, call it
// while the executor still runs (or with a short ctx). Safe to call twice.
func (p *Primary) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closeError = p.close(ctx)
		close(p.closeDone)
	})
	<-p.closeDone
	return p.closeError
}

func (p *Primary) close(ctx context.Context) error {
	var err error
	if !p.isDestroy.Load() {
		err = p.Do(ctx, func() {
			if !p.destroyed {
				p.Destroy()
			}
		})
	}
	gctx := ctx
	if err != nil { // no graceful shutdown: kill the workers now
		var cancel context.CancelFunc
		gctx, cancel = context.WithCancel(context.Background())
		cancel()
	}
	if gerr := p.group.Close(gctx); gerr != nil && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		err = fmt.Errorf("engine: closing the primary: %w; killed the workers still running", err)
	}
	p.closed.Store(true)
	p.timers.stopAll()
	if p.own != nil {
		p.own.Stop()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		p.log.Warn("closing: workers killed", "error", err)
	}
	return err
}
