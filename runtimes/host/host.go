// Package host is the worker side of the channel to the primary, shared by
// the JavaScript and the WebAssembly runtimes: it opens the socket the primary
// passed, says hello, reads frames on its own goroutine and hands them to the
// runtime, and writes the runtime's frames.
package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// ErrClosed is returned by sends on a channel that is disconnected. Its text
// is Node's, since runtimes show it to user code as the cause of a failed send.
var ErrClosed = errors.New("Channel closed")

// Config is what a worker learns from its environment.
type Config struct {
	WorkerID     int
	Cookie       string
	FD           int
	MaxFrameSize int // 0: frame.DefaultMaxSize
	// ReportFatal: the primary wants the error that ends the worker sent
	// to it rather than printed (hostabi.EnvReportFatal).
	ReportFatal bool
}

// FromEnv reads the worker environment; ok is false when this process was
// not started as a worker.
func FromEnv(getenv func(string) string) (cfg Config, ok bool, err error) {
	idText := getenv(hostabi.EnvWorkerID)
	if idText == "" {
		return Config{}, false, nil
	}
	id, err := strconv.Atoi(idText)
	if err != nil || id <= 0 {
		return Config{}, true, fmt.Errorf("host: %s=%q is not a worker id", hostabi.EnvWorkerID, idText)
	}
	fd := hostabi.ChannelFD
	if s := getenv(hostabi.EnvChannelFD); s != "" {
		if fd, err = strconv.Atoi(s); err != nil || fd < 0 {
			return Config{}, true, fmt.Errorf("host: %s=%q is not a descriptor", hostabi.EnvChannelFD, s)
		}
	}
	maxSize := 0
	if s := getenv(frame.EnvMaxSize); s != "" {
		if maxSize, err = strconv.Atoi(s); err != nil || maxSize < 0 {
			return Config{}, true, fmt.Errorf("host: %s=%q is not a size in bytes", frame.EnvMaxSize, s)
		}
	}
	return Config{WorkerID: id, Cookie: getenv(hostabi.EnvCookie), FD: fd, MaxFrameSize: maxSize,
		ReportFatal: getenv(hostabi.EnvReportFatal) != ""}, true, nil
}

// Handler receives what arrives from the primary. Its methods are called on
// the channel's reader goroutine, one at a time, in arrival order; they must
// not block for long (post to the runtime's loop and return).
type Handler interface {
	// Message is a user message; payload is CBOR and belongs to the callee.
	Message(payload []byte)
	// DisconnectRequest is the primary asking the worker to close its
	// servers and then the channel (Node's cluster disconnect).
	DisconnectRequest()
	// Closed is called once, when the channel is gone: closed by this side,
	// by the primary, or broken (err says why; nil for an orderly close).
	Closed(err error)
}

// Heartbeater is implemented by a Handler whose runtime has an event loop:
// Heartbeat is called on the reader goroutine when the primary asks whether
// the worker still responds, and must arrange for ack to be called from that
// loop (post it), so that a worker whose loop is stuck stops answering and
// is killed by the primary. ack is safe from any goroutine and may be
// called late or never. A Handler without it is answered at once from the
// reader goroutine.
type Heartbeater interface {
	Heartbeat(ack func())
}

// Channel is an open channel to the primary.
type Channel struct {
	cfg  Config
	conn net.Conn
	w    *frame.Writer

	mu        sync.Mutex
	connected bool
	corked    bool // Cork was called and Uncork not yet
	closeOnce sync.Once
	done      chan struct{}

	readyOnce sync.Once
	onReady   func() // run once, on its own goroutine, after the 'ready' message is written
}

// readyPayload is the CBOR of the string "ready": the message that tells
// the primary a worker is ready (cluster semantics).
var readyPayload = []byte{0x65, 'r', 'e', 'a', 'd', 'y'}

// AfterReady registers fn to run once, on a goroutine of its own, after
// the worker's first "ready" message is written to the primary: the moment
// start-up garbage can be returned to the operating system without
// delaying readiness. Call it before the runtime sends anything.
func (c *Channel) AfterReady(fn func()) { c.onReady = fn }

// Open connects to the channel descriptor and sends the Hello frame.
func Open(cfg Config, runtime string) (*Channel, error) {
	f := os.NewFile(uintptr(cfg.FD), "isowasm-channel")
	if f == nil {
		return nil, fmt.Errorf("host: descriptor %d is not open: this process must be started by an isowasm primary", cfg.FD)
	}
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("host: descriptor %d is not the primary's channel: %w", cfg.FD, err)
	}
	return New(cfg, conn, runtime)
}

// New sends the Hello frame on conn and returns the channel over it.
func New(cfg Config, conn net.Conn, runtime string) (*Channel, error) {
	c := &Channel{
		cfg:       cfg,
		conn:      conn,
		w:         frame.NewWriter(conn, cfg.MaxFrameSize),
		connected: true,
		done:      make(chan struct{}),
	}
	hello, err := frame.New(frame.TypeHello, frame.Hello{
		Version:  frame.Version,
		Cookie:   cfg.Cookie,
		PID:      os.Getpid(),
		WorkerID: cfg.WorkerID,
		Runtime:  runtime,
	})
	if err == nil {
		err = c.w.Write(hello)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("host: saying hello to the primary: %w", err)
	}
	return c, nil
}

// WorkerID is the id the primary gave this worker.
func (c *Channel) WorkerID() int { return c.cfg.WorkerID }

// Connected reports whether the channel is still open.
func (c *Channel) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Start reads frames on a goroutine of its own until the channel closes,
// calling h for each. It returns at once.
func (c *Channel) Start(h Handler) {
	go c.read(h)
}

func (c *Channel) read(h Handler) {
	r := frame.NewReader(c.conn, c.cfg.MaxFrameSize)
	hb, _ := h.(Heartbeater)
	var err error
	for {
		var f frame.Frame
		f, err = r.Read()
		if err != nil {
			break
		}
		switch f.Type {
		case frame.TypeMessage:
			h.Message(f.Body)
		case frame.TypeDisconnect:
			h.DisconnectRequest()
		case frame.TypeHeartbeat:
			if hb != nil {
				hb.Heartbeat(c.ackHeartbeat)
			} else {
				c.ackHeartbeat()
			}
		case frame.TypeError:
			// The primary reports a problem with something we sent; it is
			// not fatal to the channel.
			var p frame.Problem
			if f.Decode(&p) == nil {
				fmt.Fprintf(os.Stderr, "isowasm: worker %d: primary reports: %s\n", c.cfg.WorkerID, p.Message)
			}
		default:
			err = fmt.Errorf("%w: unexpected %s frame from the primary", frame.ErrMalformed, f.Type)
		}
		if err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || c.closedHere() {
		err = nil
	}
	c.shut()
	h.Closed(err)
}

func (c *Channel) closedHere() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Send writes one message payload (CBOR). It returns when the frame is
// written; ErrClosed when the channel is disconnected; a *frame.SizeError
// (the channel stays usable) when the payload is over the limit.
func (c *Channel) Send(payload []byte) error {
	err := c.write(frame.Message(payload))
	if err == nil && c.onReady != nil && bytes.Equal(payload, readyPayload) {
		c.readyOnce.Do(func() { go c.onReady() })
	}
	return err
}

// SendBatch writes message payloads in order with as few system calls as
// it can (one writev for the lot); errs[i] is payloads[i]'s result, as
// Send would give it. errs must have len(payloads) elements.
func (c *Channel) SendBatch(payloads [][]byte, errs []error) {
	if !c.Connected() {
		for i := range errs {
			errs[i] = ErrClosed
		}
		return
	}
	frames := make([]frame.Frame, len(payloads))
	for i, p := range payloads {
		frames[i] = frame.Message(p)
	}
	_ = c.w.WriteBatch(frames, errs)
	for i, err := range errs {
		if err != nil && !errors.Is(err, frame.ErrTooLarge) {
			errs[i] = ErrClosed
		} else if err == nil && c.onReady != nil && bytes.Equal(payloads[i], readyPayload) {
			c.readyOnce.Do(func() { go c.onReady() })
		}
	}
}

// Cork makes Send hold small messages in memory, in order, until Uncork
// writes them all at once (frame.Writer.Cork): a loop that handles a batch
// of events corks around it, and its answers cost one system call instead
// of one each. A held message's Send returns nil once it is copied; if the
// write at Uncork fails the channel is broken, and what follows sees
// ErrClosed. Close and Disconnect write what is held first. Only the
// goroutine that sends may cork.
func (c *Channel) Cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
	c.w.Cork()
}

// Uncork writes the messages held since Cork and ends the cork.
func (c *Channel) Uncork() error {
	c.mu.Lock()
	was := c.corked
	c.corked = false
	c.mu.Unlock()
	if !was {
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return ErrClosed
	}
	return nil
}

// ackHeartbeat answers a heartbeat; a closed channel needs no answer.
func (c *Channel) ackHeartbeat() {
	_ = c.write(frame.Frame{Type: frame.TypeHeartbeatAck})
}

// SelfSignal tells the primary that this worker is about to send itself
// the signal named ("SIGKILL"), so that the death that follows counts as
// the worker's own doing. It returns when the frame is written.
func (c *Channel) SelfSignal(name string) error {
	f, err := frame.New(frame.TypeSelfSignal, name)
	if err != nil {
		return err
	}
	return c.write(f)
}

// Fatal hands the error that ends the worker, as it would be printed, to
// the primary, when the primary asked for it (Config.ReportFatal). It
// reports whether the primary took it; if not, the caller prints it.
func (c *Channel) Fatal(text string) bool {
	if !c.cfg.ReportFatal {
		return false
	}
	f, err := frame.New(frame.TypeFatal, text)
	return err == nil && c.write(f) == nil
}

// Listening tells the primary a server of this worker listens.
func (c *Channel) Listening(l frame.Listening) error {
	f, err := frame.New(frame.TypeListening, l)
	if err != nil {
		return err
	}
	return c.write(f)
}

func (c *Channel) write(f frame.Frame) error {
	if !c.Connected() {
		return ErrClosed
	}
	if err := c.w.Write(f); err != nil {
		if errors.Is(err, frame.ErrTooLarge) {
			return err
		}
		return ErrClosed
	}
	return nil
}

// Disconnect closes the channel from this side. With voluntary set the
// primary is told first that the worker leaves of its own will (its
// exitedAfterDisconnect becomes true), as cluster.worker.disconnect() does.
func (c *Channel) Disconnect(voluntary bool) error {
	if !c.Connected() {
		return ErrClosed
	}
	_ = c.Uncork()
	if voluntary {
		_ = c.Leaving()
	}
	return c.Close()
}

// Leaving tells the primary, in order with the messages sent before, that
// the worker leaves of its own will: a Disconnect follows (Node's
// {act: 'exitedAfterDisconnect'}); the channel stays open meanwhile.
func (c *Channel) Leaving() error {
	return c.write(frame.Frame{Type: frame.TypeExitedAfterDisconnect})
}

// Close closes the channel; safe to call more than once. The handler's
// Closed follows from the reader goroutine.
func (c *Channel) Close() error {
	_ = c.Uncork()
	c.closeOnce.Do(func() { close(c.done) })
	c.shut()
	return nil
}

func (c *Channel) shut() {
	c.mu.Lock()
	wasConnected := c.connected
	c.connected = false
	c.mu.Unlock()
	if wasConnected {
		c.conn.Close()
	}
}

// CacheDir maps a runtime's CacheDir setting to the directory it caches in:
// "" is os.UserCacheDir()/isowasm/sub, "off" (or no user cache directory)
// is "" for no cache, anything else is used as it is.
func CacheDir(dir, sub string) string {
	switch dir {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "isowasm", sub)
	}
	return dir
}
