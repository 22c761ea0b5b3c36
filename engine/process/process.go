// Package process owns isowasm's worker processes at the operating-system
// level: it starts the executable in worker mode with a socket pair on
// descriptor 3 (hostabi.ChannelFD), checks the worker's Hello against a
// cookie, reads and writes frames, forwards a silent worker's output line by
// line, reaps the process and reports all of it through handlers. It knows
// nothing of cluster semantics (readiness, replacement, shutdown): the Go
// primary (package engine) and a JavaScript primary's node:cluster build
// those on top.
//
// Health checks belong here too, since they need nothing but the channel
// and the pid: heartbeats answered from the worker's event loop, a cap on
// resident memory, and a cap on the messages queued to a process that
// reads too slowly (Config). A process found unhealthy is reported
// (Handlers.Unhealthy) and killed.
//
// What the primary holds for a process is bounded both ways. Messages read
// from it count until the caller reports them delivered
// (Process.Delivered); past Config.MaxUndelivered bytes its channel is not
// read, so the process blocks writing as it would on a pipe. Messages
// queued to it count until written, against Config.MaxQueued and
// Config.MaxQueuedBytes.
//
// A Group is the set of processes one primary starts. No process outlives
// it: each is started with the parent-death signal set, from one thread
// locked for the group's whole life, and Close kills whatever is still
// running when its context ends.
package process

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// Sentinel errors callers test with errors.Is.
var (
	// ErrChannelClosed: the process's channel is closed, or broke while a
	// frame was written.
	ErrChannelClosed = errors.New("process: channel closed")
	// ErrClosed: the group is closed; it starts nothing more.
	ErrClosed = errors.New("process: group closed")
	// ErrProtocol: a process broke the channel protocol. A *ProtocolError
	// matches it.
	ErrProtocol = errors.New("process: protocol violation")
	// ErrQueueFull: Config.MaxQueued messages, or Config.MaxQueuedBytes
	// bytes of them, already wait to be written to the process (it reads
	// too slowly, or not at all); the message was not queued.
	ErrQueueFull = errors.New("process: too many messages queued")
	// ErrUnresponsive: the process did not answer a heartbeat within
	// Config.HeartbeatTimeout. A *KillError matches it.
	ErrUnresponsive = errors.New("process: worker did not answer the heartbeat")
	// ErrMemoryLimit: the process's resident memory went over
	// Config.MaxRSS. A *KillError matches it.
	ErrMemoryLimit = errors.New("process: worker over its memory limit")
)

// KillError says why the group killed a process it judged unhealthy
// (Handlers.Unhealthy): Err is ErrUnresponsive or ErrMemoryLimit, Reason
// the words for a log ("did not answer the heartbeat for 5s").
type KillError struct {
	ID     int
	Reason string
	Err    error
}

func (e *KillError) Error() string {
	return fmt.Sprintf("process: worker %d %s: killed", e.ID, e.Reason)
}

func (e *KillError) Unwrap() error { return e.Err }

// ProtocolError says how a process broke the channel protocol: no Hello in
// time, a wrong cookie, version or id, a malformed, oversize or truncated
// frame, or a message its Handlers.Message refused. The process is killed.
type ProtocolError struct {
	ID  int   // the Spec.ID of the process
	Err error // what was wrong
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("process: worker %d broke the protocol: %v", e.ID, e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// Is makes a *ProtocolError match ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// Config says how a Group starts its processes. Its zero value is the
// defaults; NewGroup validates it once.
type Config struct {
	// Executable is the program run as each worker (default: this one,
	// os.Executable).
	Executable string
	// Env is added to this process's environment for every process
	// ("KEY=value"; later entries win).
	Env []string
	// MaxFrameSize bounds a frame both ways (0: frame.DefaultMaxSize).
	MaxFrameSize int
	// HelloTimeout is how long a new process has to say hello before it is
	// killed (0: 10s).
	HelloTimeout time.Duration
	// HeartbeatInterval is how often a process is asked (a TypeHeartbeat
	// frame) whether its event loop still turns; 0 never asks.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a heartbeat may go unanswered before the
	// process is reported through Handlers.Unhealthy and killed (0: five
	// intervals).
	HeartbeatTimeout time.Duration
	// MaxRSS caps a process's resident memory in bytes, read from
	// /proc/PID/status every heartbeat interval (every second without
	// heartbeats); a process over it is reported through
	// Handlers.Unhealthy and killed. 0: no cap.
	MaxRSS int64
	// MaxQueued caps the messages queued for one process and not yet
	// written (its socket is full: it reads slowly or not at all); beyond
	// it Send fails at once with ErrQueueFull. 0: no cap.
	MaxQueued int
	// MaxQueuedBytes caps the same queue in bytes of message payloads: a
	// Send that would take it past the cap fails at once with
	// ErrQueueFull, unless the queue is empty (one message of any size up
	// to MaxFrameSize may always wait). 0: no cap.
	MaxQueuedBytes int64
	// MaxUndelivered caps the bytes of messages read from one process and
	// not yet reported delivered (Process.Delivered): past it the group
	// stops reading the process's channel until the caller catches up, so
	// that a process that sends faster than the primary handles blocks, as
	// on a pipe, instead of the primary holding what it sent. One message
	// of any size is always read. 0: DefaultMaxUndelivered.
	MaxUndelivered int64
}

// DefaultMaxUndelivered is Config.MaxUndelivered's default: a thousand
// messages of 1 KiB, enough that a primary keeping up with its workers
// does not wait on it; small enough that a flood from every worker costs
// the primary little (1 MiB of payloads per worker, and what they decode
// to, which frame.MaxDecodedOverhead bounds).
const DefaultMaxUndelivered = 1 << 20

const (
	defaultHelloTimeout = 10 * time.Second
	socketBuffer        = 4 << 20
	// exitDrainTimeout bounds how long a dead process's channel and pipes
	// are read for what it wrote before exiting (a grandchild may hold them
	// open).
	exitDrainTimeout = 2 * time.Second
	// lineBuffer is the longest line forwarded whole from a silent process;
	// a longer one is forwarded in pieces of this size.
	lineBuffer = 64 << 10
)

func (c Config) validate() (Config, error) {
	if c.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("process: finding this executable to run as workers: %w; set Config.Executable", err)
		}
		c.Executable = exe
	}
	fi, err := os.Stat(c.Executable)
	switch {
	case err != nil:
		return c, fmt.Errorf("process: worker executable: %w", err)
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return c, fmt.Errorf("process: worker executable %s is not an executable file", c.Executable)
	case c.MaxFrameSize < 0:
		return c, fmt.Errorf("process: MaxFrameSize %d is negative", c.MaxFrameSize)
	case c.HelloTimeout < 0:
		return c, fmt.Errorf("process: HelloTimeout %v is negative", c.HelloTimeout)
	case c.HeartbeatInterval < 0 || c.HeartbeatTimeout < 0:
		return c, fmt.Errorf("process: heartbeat interval %v or timeout %v is negative", c.HeartbeatInterval, c.HeartbeatTimeout)
	case c.MaxRSS < 0 || c.MaxQueued < 0 || c.MaxQueuedBytes < 0 || c.MaxUndelivered < 0:
		return c, fmt.Errorf("process: MaxRSS %d, MaxQueued %d, MaxQueuedBytes %d or MaxUndelivered %d is negative", c.MaxRSS, c.MaxQueued, c.MaxQueuedBytes, c.MaxUndelivered)
	}
	if c.MaxUndelivered == 0 {
		c.MaxUndelivered = DefaultMaxUndelivered
	}
	if c.HelloTimeout == 0 {
		c.HelloTimeout = defaultHelloTimeout
	}
	if c.HeartbeatInterval > 0 && c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = 5 * c.HeartbeatInterval
	}
	c.Env = append([]string(nil), c.Env...)
	return c, nil
}

// Spec is one process to start.
type Spec struct {
	// ID is the worker id the process is given (hostabi.EnvWorkerID) and
	// must repeat in its Hello.
	ID int
	// Args follow the executable on the command line: [Executable, Args...].
	Args []string
	// Env is added after Config.Env.
	Env []string
	// Dir is the working directory ("" this process's).
	Dir string
	// Silent pipes the process's stdout and stderr to Handlers.Stdout and
	// Handlers.Stderr; otherwise it writes to this process's descriptors 1
	// and 2 directly, as a Node cluster worker does.
	Silent bool
}

// Handlers receive what happens to a started process. They are called from
// the group's goroutines, one at a time for a given process and in this
// order: Online, then the frames as they arrive (Message, Listening,
// ExitedAfterDisconnect, Problem, SelfSignal, Fatal) interleaved with the output lines (Stdout,
// Stderr), then ProtocolError if the protocol was broken, then Disconnect,
// then Exit. They may be called before Start returns. They must not block
// for long (post to the caller's loop and return), and must not call
// Group.Close. A nil handler is skipped.
type Handlers struct {
	// Online: the process said hello with the right cookie, version and id.
	Online func()
	// Message is a user message; payload is well-formed CBOR and belongs to
	// the callee, who reports it delivered (Process.Delivered) once it has
	// handled it or dropped it. An error refuses it as malformed: the
	// process is then treated as having broken the protocol (nothing is
	// to be reported delivered).
	Message func(payload []byte) error
	// Listening: a server in the process listens.
	Listening func(frame.Listening)
	// ExitedAfterDisconnect: the process says it is leaving on purpose.
	ExitedAfterDisconnect func()
	// Problem: the process reports a protocol problem it saw (to log).
	Problem func(frame.Problem)
	// SelfSignal: the process is about to send itself the signal named
	// ("SIGKILL"): a death by it is its own doing.
	SelfSignal func(signal string)
	// Fatal: the error that ends the process, as it would have printed it
	// on its stderr. Setting it asks the process (hostabi.EnvReportFatal)
	// to send it instead of printing it.
	Fatal func(text string)
	// ProtocolError: the process broke the protocol (a *ProtocolError); it
	// has been sent SIGKILL and its channel is closed.
	ProtocolError func(err error)
	// Disconnect: the channel is closed, by either side. Sends fail with
	// ErrChannelClosed from now on.
	Disconnect func()
	// Unhealthy: the process stopped answering heartbeats or went over its
	// memory limit (a *KillError); it is sent SIGKILL right after the call.
	// Disconnect and Exit follow.
	Unhealthy func(err error)
	// Exit: the process was reaped; code is -1 when a signal ended it,
	// and signal then names it ("SIGTERM").
	Exit func(code int, signal string)
	// Stdout and Stderr receive a silent process's output a line at a time
	// (newline included; a line longer than 64 KiB comes in pieces). The
	// slice is only valid during the call.
	Stdout, Stderr func(line []byte)
}

// Group starts processes and owns them until Close.
type Group struct {
	cfg     Config
	cookie  string
	spawner *spawner

	mu      sync.Mutex
	closing bool
	live    map[*Process]struct{}
	changed chan struct{} // signalled when a process is reaped

	wg        sync.WaitGroup // every goroutine of every process
	closeOnce sync.Once
	closeDone chan struct{}
	closeErr  error
}

// NewGroup validates cfg and returns a group with no process.
func NewGroup(cfg Config) (*Group, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	var c [16]byte
	if _, err := rand.Read(c[:]); err != nil {
		return nil, fmt.Errorf("process: making the worker cookie: %w", err)
	}
	return &Group{
		cfg:       cfg,
		cookie:    hex.EncodeToString(c[:]),
		spawner:   startSpawner(),
		live:      map[*Process]struct{}{},
		changed:   make(chan struct{}, 1),
		closeDone: make(chan struct{}),
	}, nil
}

// Executable is the program the group runs as each process.
func (g *Group) Executable() string { return g.cfg.Executable }

// Start starts a process and the goroutines that serve it. An error means
// no process was started and no handler will be called. Safe from any
// goroutine.
func (g *Group) Start(spec Spec, h Handlers) (*Process, error) {
	pr, err := g.spawn(spec, h)
	if err != nil {
		return nil, err
	}
	pr.run()
	return pr, nil
}

// Close waits until every process has exited, or ctx is done; then it
// kills (SIGKILL) those still running, waits for them to be reaped and for
// every goroutine of the group, and starts nothing more. The error wraps
// ctx's when processes had to be killed. Handlers still running may post
// to a loop; Close does not wait for what they posted. Safe to call twice.
func (g *Group) Close(ctx context.Context) error {
	g.closeOnce.Do(func() {
		if !g.waitIdle(ctx) {
			n := g.shut()
			g.closeErr = fmt.Errorf("process: closing: %w; killed %d processes still running", ctx.Err(), n)
		} else {
			g.shut()
		}
		g.wg.Wait() // every exit waiter has run: nothing is live
		g.spawner.stop()
		close(g.closeDone)
	})
	<-g.closeDone
	return g.closeErr
}

// waitIdle waits until no process is left, or ctx is done (false).
func (g *Group) waitIdle(ctx context.Context) bool {
	for {
		g.mu.Lock()
		n := len(g.live)
		g.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-g.changed:
		case <-ctx.Done():
			return false
		}
	}
}

// shut refuses new processes and kills the live ones, closing their
// channels and outboxes; it returns how many it killed.
func (g *Group) shut() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closing = true
	for pr := range g.live {
		_ = pr.cmd.Process.Kill()
		pr.stopReading()
		pr.out.close()
	}
	return len(g.live)
}

func (g *Group) exited(pr *Process) {
	g.mu.Lock()
	delete(g.live, pr)
	g.mu.Unlock()
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

// spawn starts the process; its goroutines are started by run.
func (g *Group) spawn(spec Spec, h Handlers) (*Process, error) {
	conn, child, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("process: creating the channel of worker %d: %w", spec.ID, err)
	}
	defer child.Close()

	env := append(os.Environ(), g.cfg.Env...)
	env = append(env, spec.Env...)
	env = append(env,
		hostabi.EnvWorkerID+"="+strconv.Itoa(spec.ID),
		hostabi.EnvCookie+"="+g.cookie,
		hostabi.EnvChannelFD+"="+strconv.Itoa(hostabi.ChannelFD),
	)
	if g.cfg.MaxFrameSize > 0 {
		env = append(env, frame.EnvMaxSize+"="+strconv.Itoa(g.cfg.MaxFrameSize))
	}
	if h.Fatal != nil {
		env = append(env, hostabi.EnvReportFatal+"=1")
	}
	cmd := &exec.Cmd{
		Path:       g.cfg.Executable,
		Args:       append([]string{g.cfg.Executable}, spec.Args...),
		Env:        env,
		Dir:        spec.Dir,
		ExtraFiles: []*os.File{child}, // descriptor 3 = hostabi.ChannelFD
		SysProcAttr: &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGKILL, // no worker outlives its primary
			Setpgid:   true,            // Ctrl-C reaches the primary only; it shuts down
		},
	}
	pr := &Process{
		g: g, id: spec.ID, h: h, cmd: cmd, conn: conn,
		out:        newOutbox(g.cfg.MaxQueued, g.cfg.MaxQueuedBytes),
		readerDone: make(chan struct{}),
		resume:     make(chan struct{}, 1),
		unbounded:  make(chan struct{}),
	}
	var childEnds []*os.File
	if spec.Silent {
		for range 2 {
			r, w, err := os.Pipe()
			if err != nil {
				closeAll(pr.pipes...)
				closeAll(childEnds...)
				conn.Close()
				return nil, fmt.Errorf("process: creating the output pipes of worker %d: %w", spec.ID, err)
			}
			pr.pipes = append(pr.pipes, r)
			childEnds = append(childEnds, w)
		}
		cmd.Stdout, cmd.Stderr = childEnds[0], childEnds[1]
	} else {
		// Inherited, as Node's cluster does: the worker writes to our 1 and 2.
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	// Stdin stays /dev/null: a worker in its own process group that read
	// the terminal would be stopped by SIGTTIN.

	g.mu.Lock()
	if g.closing {
		err = ErrClosed
	} else if err = g.spawner.start(cmd); err == nil {
		g.live[pr] = struct{}{}
		// Counted here, under the lock that Close's shut takes, so that
		// Close never waits while a new process adds to the count.
		g.wg.Add(3 + len(pr.pipes))
		if g.watching() {
			g.wg.Add(1)
		}
	}
	g.mu.Unlock()
	closeAll(childEnds...)
	if err != nil {
		closeAll(pr.pipes...)
		conn.Close()
		return nil, fmt.Errorf("process: starting worker %d (%s): %w", spec.ID, g.cfg.Executable, err)
	}
	pr.pid = cmd.Process.Pid
	return pr, nil
}

// watching reports whether each process gets a watchdog goroutine.
func (g *Group) watching() bool {
	return g.cfg.HeartbeatInterval > 0 || g.cfg.MaxRSS > 0
}

// socketPair makes the channel: our end as a connection, the child's as a
// file to pass on.
func socketPair() (*unixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	for _, fd := range fds {
		// Best effort: a smaller buffer only means more wake-ups.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, socketBuffer)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
	}
	parent := os.NewFile(uintptr(fds[0]), "isowasm-channel")
	child := os.NewFile(uintptr(fds[1]), "isowasm-channel")
	conn, err := fileConn(parent)
	parent.Close()
	if err != nil {
		child.Close()
		return nil, nil, err
	}
	return conn, child, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		f.Close()
	}
}
