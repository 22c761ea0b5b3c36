package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// spawner starts every worker process from one goroutine locked to its OS
// thread for its whole life. Linux delivers a child's parent-death signal
// when the thread that forked it ends, and the Go runtime retires idle
// threads: a fork from an ordinary goroutine could kill a healthy worker
// later. The thread ends only when the spawner stops, after Close has reaped
// every worker.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

func startSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		for r := range s.reqs {
			r.reply <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, reply: reply}
	return <-reply
}

func (s *spawner) stop() {
	close(s.reqs)
	<-s.done
}

// registry knows the worker processes that have not been reaped; it is what
// Close acts on, off the loop.
type registry struct {
	mu      sync.Mutex
	closing bool
	live    map[*proc]struct{}
	changed chan struct{}
}

func newRegistry() *registry {
	return &registry{live: map[*proc]struct{}{}, changed: make(chan struct{}, 1)}
}

// waitIdle waits until no process is left, or ctx is done (false).
func (r *registry) waitIdle(ctx context.Context) bool {
	for {
		r.mu.Lock()
		n := len(r.live)
		r.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-r.changed:
		case <-ctx.Done():
			return false
		}
	}
}

func (r *registry) exited(pr *proc) {
	r.mu.Lock()
	delete(r.live, pr)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// shut refuses new processes and kills the live ones, closing their channels.
func (r *registry) shut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closing = true
	for pr := range r.live {
		_ = pr.cmd.Process.Kill()
		pr.conn.Close()
		pr.out.close()
	}
}

// proc is the I/O side of one worker: its process, channel and pipes.
type proc struct {
	id         int
	cmd        *exec.Cmd
	conn       *net.UnixConn
	out        *outbox
	pipes      []*os.File // read ends of a silent worker's stdout and stderr
	readerDone chan struct{}
	pipesDone  sync.WaitGroup
}

// spawn starts the process of worker w. Its goroutines are started by
// proc.run, once the caller has posted workerFork.
func (p *Primary) spawn(w *Worker) (*proc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("engine: creating the channel of worker %d: %w", w.id, err)
	}
	for _, fd := range fds {
		// Best effort: a smaller buffer only means more wake-ups.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, socketBuffer)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
	}
	parent := os.NewFile(uintptr(fds[0]), "isowasm-channel")
	child := os.NewFile(uintptr(fds[1]), "isowasm-channel")
	defer child.Close()
	fc, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, fmt.Errorf("engine: opening the channel of worker %d: %w", w.id, err)
	}
	conn := fc.(*net.UnixConn)

	args := []string{p.cfg.Executable}
	if p.cfg.WorkerScript != "" {
		args = append(args, p.cfg.WorkerScript)
	}
	args = append(args, p.cfg.WorkerArgs...)
	env := append(os.Environ(), p.cfg.Env...)
	env = append(env,
		hostabi.EnvWorkerID+"="+strconv.Itoa(w.id),
		hostabi.EnvCookie+"="+p.cookie,
		hostabi.EnvChannelFD+"="+strconv.Itoa(hostabi.ChannelFD),
	)
	cmd := &exec.Cmd{
		Path:       p.cfg.Executable,
		Args:       args,
		Env:        env,
		ExtraFiles: []*os.File{child}, // descriptor 3 = hostabi.ChannelFD
		SysProcAttr: &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGKILL, // no worker outlives its primary
			Setpgid:   true,            // Ctrl-C reaches the primary only; it shuts down
		},
	}
	pr := &proc{id: w.id, cmd: cmd, conn: conn, out: newOutbox(), readerDone: make(chan struct{})}
	var childEnds []*os.File
	if p.cfg.Silent {
		for range 2 {
			r, wr, err := os.Pipe()
			if err != nil {
				closeAll(pr.pipes...)
				closeAll(childEnds...)
				conn.Close()
				return nil, fmt.Errorf("engine: creating the output pipes of worker %d: %w", w.id, err)
			}
			pr.pipes = append(pr.pipes, r)
			childEnds = append(childEnds, wr)
		}
		cmd.Stdout, cmd.Stderr = childEnds[0], childEnds[1]
	} else {
		// Inherited, as Node's cluster does: the worker writes to our 1 and 2.
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	// Stdin stays /dev/null: a worker in its own process group that read
	// the terminal would be stopped by SIGTTIN.

	p.procs.mu.Lock()
	if p.procs.closing {
		err = ErrClosed
	} else if err = p.spawner.start(cmd); err == nil {
		p.procs.live[pr] = struct{}{}
	}
	p.procs.mu.Unlock()
	closeAll(childEnds...)
	if err != nil {
		closeAll(pr.pipes...)
		conn.Close()
		return nil, fmt.Errorf("engine: starting worker %d (%s): %w", w.id, p.cfg.Executable, err)
	}
	return pr, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// run starts the goroutines of a spawned worker.
func (pr *proc) run(p *Primary, w *Worker) {
	p.wg.Add(3 + len(pr.pipes))
	for i, f := range pr.pipes {
		dst := p.cfg.Stdout
		if i == 1 {
			dst = p.cfg.Stderr
		}
		pr.pipesDone.Add(1)
		go func() {
			defer p.wg.Done()
			defer pr.pipesDone.Done()
			p.forwardLines(f, dst)
		}()
	}
	go p.read(w, pr)
	go p.write(pr)
	go p.waitExit(w, pr)
}

// forwardLines copies a silent worker's output to dst a line at a time, so
// lines of different workers do not interleave.
func (p *Primary) forwardLines(f *os.File, dst io.Writer) {
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			p.outMu.Lock()
			_, _ = dst.Write(line)
			p.outMu.Unlock()
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// read owns the reading side of a worker's channel: the Hello, then every
// frame, posting each to the loop; then the disconnect.
func (p *Primary) read(w *Worker, pr *proc) {
	defer p.wg.Done()
	defer close(pr.readerDone)
	r := frame.NewReader(pr.conn, p.cfg.MaxFrameSize)
	err := p.readHello(w, pr, r)
	if err == nil {
		err = p.readFrames(w, r)
	}
	pr.conn.Close()
	if err != nil && !cleanEnd(err) {
		perr := fmt.Errorf("%w: worker %d: %w", ErrProtocol, w.id, err)
		p.post(func() { p.onProtocolError(w, perr) })
	}
	p.post(func() { p.onDisconnect(w) })
}

// cleanEnd tells a channel that ended (the worker closed it or died, or we
// closed it) from one that broke the protocol.
func cleanEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (p *Primary) readHello(w *Worker, pr *proc, r *frame.Reader) error {
	_ = pr.conn.SetReadDeadline(time.Now().Add(p.cfg.HelloTimeout))
	f, err := r.Read()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("no hello within %v", p.cfg.HelloTimeout)
	}
	if err != nil {
		return err
	}
	if f.Type != frame.TypeHello {
		return fmt.Errorf("first frame is %s, not hello", f.Type)
	}
	var h frame.Hello
	if err := f.Decode(&h); err != nil {
		return err
	}
	switch {
	case h.Cookie != p.cookie:
		return errors.New("hello with a wrong cookie: not a worker of this primary")
	case h.Version != frame.Version:
		return fmt.Errorf("hello for protocol version %d, want %d", h.Version, frame.Version)
	case h.WorkerID != w.id:
		return fmt.Errorf("hello from worker id %d on the channel of worker %d", h.WorkerID, w.id)
	}
	_ = pr.conn.SetReadDeadline(time.Time{})
	p.post(func() { p.onOnline(w) })
	return nil
}

func (p *Primary) readFrames(w *Worker, r *frame.Reader) error {
	for {
		f, err := r.Read()
		if err != nil {
			return err
		}
		switch f.Type {
		case frame.TypeMessage:
			var v any
			if err := frame.Unmarshal(f.Body, &v); err != nil {
				return fmt.Errorf("%w: message: %v", frame.ErrMalformed, err)
			}
			raw := []byte(f.Body)
			p.post(func() { p.onMessage(w, v, raw) })
		case frame.TypeExitedAfterDisconnect:
			p.post(func() { w.exitedAfterDisconnect = true })
		case frame.TypeListening:
			var l frame.Listening
			if err := f.Decode(&l); err != nil {
				return err
			}
			p.post(func() { p.onListening(w, &l) })
		case frame.TypeError:
			var pb frame.Problem
			if err := f.Decode(&pb); err != nil {
				return err
			}
			p.log.Warn("worker reports a protocol problem", "workerId", w.id, "code", pb.Code, "message", pb.Message)
		default:
			return fmt.Errorf("%w: unexpected %s frame", frame.ErrMalformed, f.Type)
		}
	}
}

// write owns the writing side of a worker's channel: it writes queued
// frames in order and reports each result.
func (p *Primary) write(pr *proc) {
	defer p.wg.Done()
	fw := frame.NewWriter(pr.conn, p.cfg.MaxFrameSize)
	broken := false
	for {
		items, ok := pr.out.take()
		if !ok {
			return
		}
		for _, it := range items {
			var err error
			if broken {
				err = ErrChannelClosed
			} else if err = fw.Write(it.f); err != nil && !errors.Is(err, frame.ErrTooLarge) {
				// Anything but an oversize frame leaves the channel unusable.
				broken = true
				err = ErrChannelClosed
			}
			if it.done != nil {
				it.done(err)
			}
		}
	}
}

// waitExit owns the process: it reaps it, lets the reader drain what the
// worker wrote before dying, and posts the exit.
func (p *Primary) waitExit(w *Worker, pr *proc) {
	defer p.wg.Done()
	_ = pr.cmd.Wait()
	code, signal := -1, ""
	if ws, ok := pr.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		signal = unix.SignalName(ws.Signal())
	} else {
		code = pr.cmd.ProcessState.ExitCode()
	}
	drained := make(chan struct{})
	go func() { // owned here: it ends before waitExit returns
		<-pr.readerDone
		pr.pipesDone.Wait()
		close(drained)
	}()
	t := time.NewTimer(exitDrainTimeout)
	select {
	case <-drained:
	case <-t.C:
		// Something else holds the worker's ends open: stop reading.
		pr.conn.Close()
		closeAll(pr.pipes...)
		<-drained
	}
	t.Stop()
	p.procs.exited(pr)
	p.post(func() { p.onExit(w, code, signal) })
}

// outbox is a worker's queue of frames to write; pushing never blocks.
type outbox struct {
	mu     sync.Mutex
	items  []outItem
	closed bool
	wake   chan struct{}
}

type outItem struct {
	f    frame.Frame
	done func(error) // called on the writer goroutine
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

func (o *outbox) push(it outItem) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		if it.done != nil {
			it.done(ErrChannelClosed)
		}
		return
	}
	o.items = append(o.items, it)
	o.mu.Unlock()
	o.signal()
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// take waits for queued items; false once closed and empty.
func (o *outbox) take() ([]outItem, bool) {
	for {
		o.mu.Lock()
		items, closed := o.items, o.closed
		o.items = nil
		o.mu.Unlock()
		if len(items) > 0 {
			return items, true
		}
		if closed {
			return nil, false
		}
		<-o.wake
	}
}

// close refuses further items; those queued are still written (or fail).
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.signal()
}
