package process

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/hostabi/frame"
)

type unixConn = net.UnixConn

func fileConn(f *os.File) (*unixConn, error) {
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}

// Process is one started process: its channel, its pipes and its exit. Its
// methods are safe from any goroutine.
type Process struct {
	g    *Group
	id   int
	pid  int
	h    Handlers
	hmu  sync.Mutex // one handler at a time
	cmd  *exec.Cmd
	conn *unixConn
	out  *outbox

	pipes      []*os.File // read ends of a silent process's stdout and stderr
	readerDone chan struct{}
	pipesDone  sync.WaitGroup

	// Read-side backpressure (Config.MaxUndelivered).
	undelivered atomic.Int64  // bytes of messages handed to Handlers.Message, not yet Delivered
	waiting     atomic.Bool   // the reader waits for deliveries
	stalled     atomic.Bool   // it has waited since the watchdog last looked
	resume      chan struct{} // 1-buffered: a delivery brought undelivered under the cap
	unbounded   chan struct{} // closed when the cap no longer applies (exited, channel closed)
	unboundOnce sync.Once

	online    atomic.Bool  // the Hello was right: heartbeats may be sent
	heartbeat atomic.Int64 // when the unanswered heartbeat was sent (UnixNano), 0: none
	ending    bool         // under hmu: the reader reports the end; no more Unhealthy
}

// ID is the worker id the process was started with (Spec.ID).
func (pr *Process) ID() int { return pr.id }

// PID is the process id.
func (pr *Process) PID() int { return pr.pid }

// Send queues one message frame carrying payload (CBOR). done, if not nil,
// is called once with the result: nil when the frame is written (handed to
// the kernel: not a proof the worker read it), ErrChannelClosed when the
// channel is or becomes closed before the frame is written (queued frames
// of a process that dies fail so), ErrQueueFull when Config.MaxQueued
// messages or Config.MaxQueuedBytes bytes already wait, or a
// *frame.SizeError for a frame over the limit (the channel survives those
// two). It is called on the writer goroutine, or at once when the message
// is refused. Frames are written in Send order.
func (pr *Process) Send(payload []byte, done func(error)) {
	pr.out.push(outItem{f: frame.Message(payload), done: done, counted: true})
}

// Settler receives the result of a message queued with SendTo, as Send's
// done does.
type Settler interface{ Settle(err error) }

// SendTo is Send with the result going to s: a caller that already has an
// object for the result needs no closure per message.
func (pr *Process) SendTo(payload []byte, s Settler) {
	pr.out.push(outItem{f: frame.Message(payload), settler: s, counted: true})
}

// Delivered reports that n bytes of messages from the process (the
// len(payload) of each that Handlers.Message was given) are handled or
// dropped, so no longer held for it. Once what is held is back under
// Config.MaxUndelivered the channel is read again. Safe from any
// goroutine; cheap enough to call for every message. After a large
// message (bigMessage) the memory it took is given back to the system at
// once, rather than staying in the primary's heap after a burst.
func (pr *Process) Delivered(n int) {
	if pr.undelivered.Add(-int64(n)) <= pr.g.cfg.MaxUndelivered && pr.waiting.Load() {
		select {
		case pr.resume <- struct{}{}:
		default:
		}
	}
	if n >= bigMessage {
		debug.FreeOSMemory()
	}
}

// bigMessage is the size from which a delivered or refused message makes
// the primary return its free memory to the system: a forced collection
// costs about a millisecond, small next to reading and decoding this
// much, and the heap does not keep the peak of a burst of large frames.
const bigMessage = 16 << 20

// held counts a message handed to Handlers.Message and, once more than
// Config.MaxUndelivered bytes are held, waits until deliveries bring them
// back under it or the cap is lifted (unbind).
func (pr *Process) held(n int) {
	max := pr.g.cfg.MaxUndelivered
	if pr.undelivered.Add(int64(n)) <= max {
		return
	}
	// Delivered stores undelivered then loads waiting; this stores waiting
	// then loads undelivered: one of the two sees the other's write, so a
	// delivery is never missed.
	pr.waiting.Store(true)
	pr.stalled.Store(true)
	for pr.undelivered.Load() > max {
		select {
		case <-pr.resume:
		case <-pr.unbounded:
			pr.waiting.Store(false)
			return
		}
	}
	pr.waiting.Store(false)
}

// unbind lifts Config.MaxUndelivered for good: the process has exited, so
// what is left to read is what the socket buffers, or the channel is
// closed.
func (pr *Process) unbind() {
	pr.unboundOnce.Do(func() { close(pr.unbounded) })
}

// stopReading closes the channel, so that the reader ends even if it was
// waiting for deliveries.
func (pr *Process) stopReading() {
	pr.conn.Close()
	pr.unbind()
}

// Disconnect asks the process to close its servers and then its channel
// (a TypeDisconnect frame, queued after what was sent before). Handlers'
// Disconnect follows when the process has closed it.
func (pr *Process) Disconnect() {
	pr.out.push(outItem{f: frame.Frame{Type: frame.TypeDisconnect}})
}

// CloseChannel closes the channel from this side, as this process's
// death would: a worker sees its primary gone and leaves. Sends fail with
// ErrChannelClosed; Handlers' Disconnect follows.
func (pr *Process) CloseChannel() { pr.conn.Close() }

// Kill sends sig to the process. A process already reaped is left alone.
func (pr *Process) Kill(sig syscall.Signal) error {
	if err := pr.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("process: sending %s to worker %d: %w", unix.SignalName(sig), pr.id, err)
	}
	return nil
}

// call runs a handler, one at a time for the process.
func (pr *Process) call(fn func()) {
	pr.hmu.Lock()
	defer pr.hmu.Unlock()
	fn()
}

// run starts the goroutines of a spawned process.
func (pr *Process) run() {
	g := pr.g // g.wg already counts these goroutines (spawn)
	for i, f := range pr.pipes {
		fn := pr.h.Stdout
		if i == 1 {
			fn = pr.h.Stderr
		}
		pr.pipesDone.Add(1)
		go func() {
			defer g.wg.Done()
			defer pr.pipesDone.Done()
			pr.forwardLines(f, fn)
		}()
	}
	go pr.read()
	go pr.write()
	go pr.waitExit()
	if g.watching() {
		go pr.watch()
	}
}

// forwardLines passes a silent process's output on a line at a time, so
// that a caller merging several processes' output does not interleave
// their lines.
func (pr *Process) forwardLines(f *os.File, fn func([]byte)) {
	defer f.Close()
	br := bufio.NewReaderSize(f, lineBuffer)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && fn != nil {
			pr.call(func() { fn(line) })
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// read owns the reading side of the channel: the Hello, then every frame;
// then the disconnect.
func (pr *Process) read() {
	defer pr.g.wg.Done()
	defer close(pr.readerDone)
	r := frame.NewReader(pr.conn, pr.g.cfg.MaxFrameSize)
	err := pr.readHello(r)
	if err == nil {
		err = pr.readFrames(r)
	}
	pr.call(func() { pr.ending = true })
	broken := err != nil && !cleanEnd(err)
	if broken {
		// Killed before its channel closes, so that it cannot exit on its
		// own first: a process that broke the protocol always ends SIGKILLed.
		_ = pr.cmd.Process.Kill()
	}
	pr.stopReading()
	pr.out.close()
	if broken {
		perr := &ProtocolError{ID: pr.id, Err: err}
		if fn := pr.h.ProtocolError; fn != nil {
			pr.call(func() { fn(perr) })
		}
	}
	if fn := pr.h.Disconnect; fn != nil {
		pr.call(fn)
	}
}

// cleanEnd tells a channel that ended (the process closed it or died, or we
// closed it) from one that broke the protocol.
func cleanEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (pr *Process) readHello(r *frame.Reader) error {
	timeout := pr.g.cfg.HelloTimeout
	_ = pr.conn.SetReadDeadline(time.Now().Add(timeout))
	f, err := r.Read()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("no hello within %v", timeout)
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
	case h.Cookie != pr.g.cookie:
		return errors.New("hello with a wrong cookie: not a worker of this primary")
	case h.Version != frame.Version:
		return fmt.Errorf("hello for protocol version %d, want %d", h.Version, frame.Version)
	case h.WorkerID != pr.id:
		return fmt.Errorf("hello from worker id %d on the channel of worker %d", h.WorkerID, pr.id)
	}
	_ = pr.conn.SetReadDeadline(time.Time{})
	pr.online.Store(true)
	if fn := pr.h.Online; fn != nil {
		pr.call(fn)
	}
	return nil
}

func (pr *Process) readFrames(r *frame.Reader) error {
	h := &pr.h
	for {
		f, err := r.Read()
		if err != nil {
			return err
		}
		switch f.Type {
		case frame.TypeMessage:
			if h.Message == nil {
				continue // the Reader has checked the body is well-formed
			}
			pr.call(func() { err = h.Message(f.Body) })
			if err != nil {
				if len(f.Body) >= bigMessage {
					f = frame.Frame{}
					debug.FreeOSMemory() // a refused large message is garbage now
				}
				return err
			}
			pr.held(len(f.Body))
		case frame.TypeHeartbeatAck:
			pr.heartbeat.Store(0)
		case frame.TypeExitedAfterDisconnect:
			if h.ExitedAfterDisconnect != nil {
				pr.call(h.ExitedAfterDisconnect)
			}
		case frame.TypeListening:
			var l frame.Listening
			if err := f.Decode(&l); err != nil {
				return err
			}
			if h.Listening != nil {
				pr.call(func() { h.Listening(l) })
			}
		case frame.TypeError:
			var pb frame.Problem
			if err := f.Decode(&pb); err != nil {
				return err
			}
			if h.Problem != nil {
				pr.call(func() { h.Problem(pb) })
			}
		case frame.TypeFatal, frame.TypeSelfSignal: // a text each
			var text string
			if err := f.Decode(&text); err != nil {
				return err
			}
			fn := h.Fatal
			if f.Type == frame.TypeSelfSignal {
				fn = h.SelfSignal
			}
			if fn != nil {
				pr.call(func() { fn(text) })
			}
		default:
			return fmt.Errorf("%w: unexpected %s frame", frame.ErrMalformed, f.Type)
		}
	}
}

// write owns the writing side of the channel: it writes queued frames in
// order and reports each result.
func (pr *Process) write() {
	defer pr.g.wg.Done()
	fw := frame.NewWriter(pr.conn, pr.g.cfg.MaxFrameSize)
	broken := false
	var frames []frame.Frame
	var errs []error
	for {
		items, ok := pr.out.take()
		if !ok {
			return
		}
		// Everything queued goes out together: one writev for the lot.
		frames = frames[:0]
		for _, it := range items {
			frames = append(frames, it.f)
		}
		errs = append(errs[:0], make([]error, len(items))...)
		if broken {
			for i := range errs {
				errs[i] = ErrChannelClosed
			}
		} else if fw.WriteBatch(frames, errs) != nil {
			broken = true // anything but an oversize frame leaves the channel unusable
		}
		for i, it := range items {
			err := errs[i]
			if err != nil && !errors.Is(err, frame.ErrTooLarge) && !errors.Is(err, frame.ErrMalformed) {
				err = ErrChannelClosed
			}
			if it.counted {
				pr.out.written(len(it.f.Body))
			}
			it.finish(err)
		}
		clear(frames)
		pr.out.recycle(items)
	}
}

// waitExit owns the process: it reaps it, lets the reader and the pipes
// drain what the process wrote before dying, and reports the exit.
func (pr *Process) waitExit() {
	defer pr.g.wg.Done()
	_ = pr.cmd.Wait()
	code, signal := -1, ""
	if ws, ok := pr.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		signal = unix.SignalName(ws.Signal())
	} else {
		code = pr.cmd.ProcessState.ExitCode()
	}
	// Dead, it sends no more: what its channel still holds is read without
	// waiting for deliveries, within the drain timeout.
	pr.unbind()
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
		// Something else holds the process's ends open: stop reading.
		pr.stopReading()
		closeAll(pr.pipes...)
		<-drained
	}
	t.Stop()
	pr.g.exited(pr)
	if fn := pr.h.Exit; fn != nil {
		pr.call(func() { fn(code, signal) })
	}
}

// startSpawner and the spawner: every process is started from one
// goroutine locked to its OS thread for its whole life. Linux delivers a
// child's parent-death signal when the thread that forked it ends, and the
// Go runtime retires idle threads: a fork from an ordinary goroutine could
// kill a healthy worker later. The thread ends only when the spawner stops,
// after Close has reaped every process.
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

// outbox is a process's queue of frames to write; pushing never blocks.
// Messages count against max and maxBytes until written; protocol frames
// never do.
type outbox struct {
	mu       sync.Mutex
	items    []outItem
	closed   bool
	spare    []outItem // a drained slice handed back by the writer, reused
	max      int       // messages queued and not yet written, at most (0: any)
	maxBytes int64     // their payload bytes, at most (0: any)
	queued   int
	bytes    int64
	wake     chan struct{}
}

type outItem struct {
	f       frame.Frame
	done    func(error) // called on the writer goroutine
	settler Settler     // or this
	counted bool        // a message: counts against max
}

// finish reports the item's result to whoever waits for it.
func (it *outItem) finish(err error) {
	switch {
	case it.done != nil:
		it.done(err)
	case it.settler != nil:
		it.settler.Settle(err)
	}
}

func newOutbox(max int, maxBytes int64) *outbox {
	return &outbox{wake: make(chan struct{}, 1), max: max, maxBytes: maxBytes}
}

func (o *outbox) push(it outItem) {
	o.mu.Lock()
	var err error
	switch {
	case o.closed:
		err = ErrChannelClosed
	case it.counted && o.max > 0 && o.queued >= o.max,
		it.counted && o.maxBytes > 0 && o.bytes > 0 && o.bytes+int64(len(it.f.Body)) > o.maxBytes:
		err = ErrQueueFull
	}
	if err != nil {
		o.mu.Unlock()
		it.finish(err)
		return
	}
	if it.counted {
		o.queued++
		o.bytes += int64(len(it.f.Body))
	}
	if o.items == nil && o.spare != nil {
		o.items, o.spare = o.spare, nil
	}
	first := len(o.items) == 0
	o.items = append(o.items, it)
	o.mu.Unlock()
	if first {
		o.signal() // the writer is told once per batch
	}
}

// recycle hands back a slice take returned, once its items are done with.
func (o *outbox) recycle(items []outItem) {
	if cap(items) > 4096 {
		return
	}
	clear(items)
	o.mu.Lock()
	o.spare = items[:0]
	o.mu.Unlock()
}

// written: one counted message of n payload bytes left the queue.
func (o *outbox) written(n int) {
	o.mu.Lock()
	o.queued--
	o.bytes -= int64(n)
	o.mu.Unlock()
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
