package js

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
)

// exitSignal is the interrupt value process.exit stops the VM with.
type exitSignal struct{}

// runtime is one script's VM, loop and bindings. Everything here runs on
// the loop goroutine except where noted.
type runtime struct {
	cfg  Config
	vm   *goja.Runtime
	loop *loop

	native *goja.Object
	hooks  hooks

	ticks      bool // process.nextTick has work queued
	exitCode   int
	exiting    bool // process.exit was called
	rejections []*goja.Promise

	connected  bool // the channel as JS sees it (process.connected)
	channelRef bool // the channel keeps the loop alive (process.channel.ref)
	out        *sender

	listeners   map[int]*listener // node:net servers
	listenerSeq int

	children map[int]*child // worker processes forked by a primary script

	typeErrorProto *goja.Object // TypeError.prototype, for v8Error
	rangeError     *goja.Object // RangeError, for stackOverflow

	lazy map[string]*goja.Object // lazy built-ins' module objects, by spec (lazy.go)

	stringify goja.Callable // goja's JSON.stringify, as the runtime was made
	inbox     inbox         // messages from the primary not yet on the loop

	// Signals (primary.go): which have a listener, read off the loop by
	// the signal watcher; whether one is posted and not yet handled; and,
	// on the loop, whether one ended the script by its default action.
	sigListened [32]atomic.Bool
	sigPending  atomic.Bool
	sigDeath    bool
}

// hooks are the JS functions the Go side calls, installed by node/process.js.
type hooks struct {
	callback          goja.Callable // (fn, this, args) run fn, then drain ticks
	runTicks          goja.Callable
	fireTimer         goja.Callable
	fireImmediate     goja.Callable
	uncaught          goja.Callable // (err, origin) → true when a listener took it
	rejection         goja.Callable // (reason, promise) → true when handled
	beforeExit        goja.Callable
	exit              goja.Callable // (code) emits 'exit' once, returns the final code
	fatalExit         goja.Callable // () emits 'exit' with 1 unless done, returns the final code
	describe          goja.Callable // (err) → text to print for a fatal error
	message           goja.Callable // (value): one message from the primary
	messages          goja.Callable // (values): several, in order
	disconnectRequest goja.Callable
	channelClosed     goja.Callable
	signal            goja.Callable // (name, number) → true when a listener took it
}

func newRuntime(cfg Config, start time.Time) *runtime {
	r := &runtime{cfg: cfg, vm: goja.New(), loop: newLoop(start), channelRef: true, listeners: map[int]*listener{}, children: map[int]*child{}}
	r.vm.SetPromiseRejectionTracker(r.trackRejection)
	r.vm.SetMaxCallStackSize(maxCallDepth)
	r.rangeError = r.vm.Get("RangeError").ToObject(r.vm)
	if cfg.Channel != nil {
		r.connected = cfg.Channel.Connected()
		r.out = newSender(cfg.Channel, r.loop)
	}
	r.native = r.bindings()
	return r
}

// run evaluates the bundle and turns the loop until it ends.
func (r *runtime) run(ctx context.Context, prg *goja.Program, esm bool) (int, error) {
	defer r.loop.close()
	stop := context.AfterFunc(ctx, func() {
		r.loop.post(func() { r.loop.stopped = true })
		r.vm.Interrupt(ctx.Err())
	})
	defer stop()
	defer r.endChildren()
	if r.cfg.Signals != nil {
		done := make(chan struct{})
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			r.watchSignals(done)
		}()
		defer func() { close(done); <-finished }()
	}

	v, err := r.vm.RunProgram(prg)
	if err != nil {
		return 1, fmt.Errorf("js: starting %s: %w", r.cfg.Script, err)
	}
	mainFn, ok := goja.AssertFunction(v)
	if !ok {
		return 1, fmt.Errorf("js: starting %s: the bundle is not a function", r.cfg.Script)
	}
	// The bundle's first module (node/globals.js) installs the hooks before
	// the user's modules run; an ESM entry then evaluates inside a promise
	// job as in Node, so the first macrotask is the poll phase below.
	var mainPromise *goja.Promise
	start := func(run goja.Callable, args ...goja.Value) {
		res, err := run(goja.Undefined(), args...)
		if err == nil {
			mainPromise, _ = res.Export().(*goja.Promise)
			r.watchMain(mainPromise, esm)
		}
		r.handle(err)
		r.drain()
	}
	if esm {
		// Node evaluates an ES module entry in the poll phase of the first
		// turn (its source is read asynchronously), so its own promise jobs
		// run before its nextTicks.
		r.loop.post(func() { start(mainFn, r.native) })
	} else {
		// A CommonJS entry runs before the loop starts, and its nextTicks
		// run before its promise jobs: through a trampoline that drains
		// them inside the same outermost call.
		tramp, err := r.vm.RunString("(function (main, native) { const p = main(native); native.runTicks(); return p; })")
		if err != nil {
			return 1, fmt.Errorf("js: starting %s: %w", r.cfg.Script, err)
		}
		run, _ := goja.AssertFunction(tramp)
		start(run, v, r.native)
	}
	if r.cfg.Channel != nil {
		r.cfg.Channel.Start(channelHandler{r})
	}
	r.turn(&mainPromise)
	r.closeListeners()
	if r.out != nil {
		r.out.flush(2 * time.Second)
	}
	if err := ctx.Err(); err != nil && !r.exiting {
		return 1, err
	}
	return r.exitCode, nil
}

// turn is the loop proper: libuv's phases, until nothing keeps it alive.
func (r *runtime) turn(mainPromise **goja.Promise) {
	l := r.loop
	for !l.stopped {
		if !r.alive() {
			r.call(r.hooks.beforeExit)
			if l.stopped || !r.alive() {
				break
			}
		}
		l.updateNow()
		for !l.stopped {
			t := l.dueTimer()
			if t == nil {
				break
			}
			r.call(r.hooks.fireTimer, t.obj)
		}
		if l.stopped {
			break
		}
		for _, f := range l.poll(len(l.immediates) == 0, r.alive) {
			if l.stopped {
				break
			}
			f()
		}
		imm := l.immediates
		l.immediates = nil
		for _, t := range imm {
			if l.stopped {
				break
			}
			if t.cancelled {
				continue
			}
			l.retire(t)
			r.call(r.hooks.fireImmediate, t.obj)
		}
	}
	if r.exiting || r.exitCode != 0 && l.stopped {
		return
	}
	if l.stopped {
		return // ctx ended
	}
	r.exiting = true
	res, err := r.hooks.exit(goja.Undefined(), goja.Undefined())
	if err != nil {
		// An 'exit' listener threw: an uncaught exception, as in Node.
		r.handle(err)
		if l.stopped {
			return
		}
		// An 'uncaughtException' listener took it ('exit' is not emitted
		// again).
		res, err = r.hooks.exit(goja.Undefined(), goja.Undefined())
	}
	if err == nil {
		r.exitCode = int(res.ToInteger())
	}
	if p := *mainPromise; p != nil && p.State() == goja.PromiseStatePending && r.exitCode == 0 {
		// Node exits 13, silently ('exit' listeners saw 0), when the main
		// module's top-level await can never settle.
		r.exitCode = 13
	}
}

func (r *runtime) alive() bool {
	l := r.loop
	return l.refs > 0 || l.pending > 0 || r.connected && r.channelRef || l.hasPosted() || r.listening() || r.childrenAlive()
}

func (r *runtime) scriptPath() string {
	abs, err := filepath.Abs(r.cfg.Script)
	if err != nil {
		return r.cfg.Script
	}
	return abs
}

// handle deals with what a call into JS returned: an exception nobody
// caught is fatal unless a process 'uncaughtException' listener takes it.
func (r *runtime) handle(err error) {
	if err == nil || r.loop.stopped {
		return
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		r.uncaught(ex.Value(), ex, "uncaughtException")
		return
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		r.uncaught(r.stackOverflow(so), &so.Exception, "uncaughtException")
		return
	}
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if s, ok := ie.Value().(signalExit); ok {
			r.endBySignal(int(s))
			return
		}
		if _, ok := ie.Value().(exitSignal); ok || r.loop.stopped {
			return
		}
		r.loop.stopped = true // ctx ended
		return
	}
	r.fatal(r.vm.NewGoError(err), nil)
}

// uncaught is Node's process._fatalException for v, an error nobody
// caught (ex, when known, locates it): 'uncaughtExceptionMonitor'
// listeners see it with its origin ("uncaughtException" or
// "unhandledRejection"), then an 'uncaughtException' listener may take
// it; otherwise it is fatal. When one of those listeners throws, its
// error is printed and the code is 7, as in Node.
func (r *runtime) uncaught(v goja.Value, ex *goja.Exception, origin string) {
	if r.loop.stopped {
		return
	}
	r.v8Error(v)
	if r.hooks.uncaught == nil {
		r.fatal(v, ex)
		return
	}
	res, err := r.hooks.uncaught(goja.Undefined(), v, r.vm.ToValue(origin))
	switch {
	case err == nil:
		if !res.ToBoolean() {
			r.fatal(v, ex)
		}
		return
	case r.loop.stopped:
		return // process.exit in a listener
	}
	var ex2 *goja.Exception
	if !errors.As(err, &ex2) {
		r.handle(err)
		return
	}
	r.v8Error(ex2.Value())
	r.exiting = true
	r.exitCode = 7
	r.report(ex2.Value(), ex2)
}

// fatal ends the process as Node does for an uncaught exception: 'exit'
// listeners run with code 1 (unless they ran already), then the error is
// printed, and the code is process.exitCode, by default 1.
func (r *runtime) fatal(v goja.Value, ex *goja.Exception) {
	if r.loop.stopped {
		return
	}
	r.exiting = true
	r.exitCode = 1
	if r.hooks.fatalExit != nil {
		res, err := r.hooks.fatalExit(goja.Undefined())
		if err == nil {
			r.exitCode = int(res.ToInteger())
		} else if r.loop.stopped {
			return // process.exit in an 'exit' listener: nothing is printed
		}
	}
	r.report(v, ex)
}

// report prints v as Node prints a fatal error and stops the script.
func (r *runtime) report(v goja.Value, ex *goja.Exception) {
	r.vm.ClearInterrupt()
	var b strings.Builder
	heading := ""
	if ex != nil {
		heading = sourceContext(ex)
		b.WriteString(heading)
	}
	text := ""
	if r.hooks.describe != nil {
		if res, err := r.hooks.describe(goja.Undefined(), v); err == nil {
			text = res.String()
		}
	}
	if text == "" {
		text = v.String()
	}
	if heading == "" {
		text = strings.TrimLeft(text, "\n")
	}
	b.WriteString(text)
	b.WriteString("\n")
	// A worker's primary may ask for the error, to report a start failure
	// once rather than once per worker.
	if r.cfg.Channel == nil || !r.cfg.Channel.Fatal(b.String()) {
		io.WriteString(r.cfg.Stderr, b.String())
	}
	r.loop.stopped = true
	// Called from inside JS (a rejection hook, queueMicrotask), the script
	// must not run on.
	r.vm.Interrupt(exitSignal{})
}

// maxCallDepth bounds goja's call stack (JavaScript and native frames):
// deeper recursion is V8's RangeError instead of gigabytes of frames.
// Node's default stack holds about 11,000 frames of a small function
// (fewer of a real one); goja counts a native callback's frame too (a
// recursion through Array.prototype.map takes two or three per level).
// Deeper would cost time where it hurts: goja unwinds a recursion through
// native callbacks in time quadratic in its depth (a panic re-raised at
// each nested call), about 10 s at this depth.
const maxCallDepth = 10000

// stackOverflowMessage is V8's.
const stackOverflowMessage = "Maximum call stack size exceeded"

// stackOverflow is the RangeError V8 throws where goja gave up at
// maxCallDepth, with the innermost frames as its stack.
func (r *runtime) stackOverflow(so *goja.StackOverflowError) goja.Value {
	e, err := r.vm.New(r.rangeError, r.vm.ToValue(stackOverflowMessage))
	if err != nil {
		return r.vm.ToValue(stackOverflowMessage)
	}
	var b bytes.Buffer
	b.WriteString("RangeError: " + stackOverflowMessage)
	frames := so.Stack()
	for i := 0; i < len(frames) && i < 10; i++ {
		b.WriteString("\n    at ")
		frames[i].Write(&b)
	}
	_ = e.Set("stack", b.String())
	return e
}

// sourceContext is the "file:line\nsource\n   ^\n\n" heading Node prints
// above an uncaught exception, from the innermost user frame.
func sourceContext(ex *goja.Exception) string {
	for _, f := range ex.Stack() {
		p := f.Position()
		if p.Filename == "" || p.Filename == bundleName || strings.HasPrefix(p.Filename, "isowasm:") || p.Line <= 0 {
			continue
		}
		file, err := url.PathUnescape(p.Filename)
		if err != nil {
			file = p.Filename
		}
		line := readLine(file, p.Line)
		if line == "" {
			return ""
		}
		col := max(p.Column, 0) // 0-based once mapped
		return fmt.Sprintf("%s:%d\n%s\n%s^\n", file, p.Line, line, strings.Repeat(" ", min(col, len(line))))
	}
	return ""
}

func readLine(file string, n int) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 4<<20)
	for i := 1; s.Scan(); i++ {
		if i == n {
			return strings.TrimRight(s.Text(), "\r")
		}
	}
	return ""
}

// call runs fn through the JS trampoline (ticks drain right after it, before
// promise jobs), then drains what remains.
func (r *runtime) call(fn goja.Callable, args ...goja.Value) {
	if r.loop.stopped {
		return
	}
	_, err := fn(goja.Undefined(), args...)
	r.handle(err)
	r.drain()
}

// drain runs nextTicks and promise jobs until both are empty, then deals
// with the promises rejected without a handler meanwhile (Node's
// processTicksAndRejections).
func (r *runtime) drain() {
	for !r.loop.stopped {
		if r.ticks {
			r.ticks = false
			_, err := r.hooks.runTicks(goja.Undefined())
			r.handle(err)
			continue
		}
		if len(r.rejections) == 0 {
			return
		}
		rej := r.rejections
		r.rejections = nil
		for _, p := range rej {
			if r.loop.stopped {
				return
			}
			if p.State() != goja.PromiseStateRejected {
				continue
			}
			// The hook emits 'unhandledRejection', or returns the error
			// to treat as uncaught.
			res, err := r.hooks.rejection(goja.Undefined(), p.Result(), r.vm.ToValue(p))
			if err == nil && res != nil && !goja.IsUndefined(res) {
				r.uncaught(res, nil, "unhandledRejection")
				continue
			}
			r.handle(err)
		}
	}
}

func (r *runtime) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	switch op {
	case goja.PromiseRejectionReject:
		r.v8Error(p.Result())
		r.rejections = append(r.rejections, p)
	case goja.PromiseRejectionHandle:
		for i, q := range r.rejections {
			if q == p {
				r.rejections = append(r.rejections[:i], r.rejections[i+1:]...)
				break
			}
		}
	}
}

// watchMain turns a rejected top-level evaluation into an uncaught
// exception, as Node reports a throw at the top of the main module (its
// origin is "unhandledRejection" for an ES module, evaluated as a promise).
func (r *runtime) watchMain(p *goja.Promise, esm bool) {
	if p == nil {
		return
	}
	r.trackRejection(p, goja.PromiseRejectionHandle)
	then, _ := goja.AssertFunction(r.vm.ToValue(p).ToObject(r.vm).Get("then"))
	onReject := r.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		origin := "uncaughtException"
		if esm {
			origin = "unhandledRejection"
		}
		r.uncaught(call.Argument(0), nil, origin)
		return goja.Undefined()
	})
	then(r.vm.ToValue(p), goja.Undefined(), onReject)
}

// exit stops the VM where it is, for process.exit.
func (r *runtime) exit(code int) {
	r.exitCode = code
	r.exiting = true
	r.loop.stopped = true
	r.vm.Interrupt(exitSignal{})
}

// channelHandler posts what the primary sends to the loop. Messages that
// arrive while the loop has not yet taken the previous ones join them: one
// post and one wake-up for all the frames the reader hands over meanwhile,
// delivered in order in one macrotask, as Node delivers the messages of one
// read of its channel: each is emitted on a nextTick of its own (ticks a
// handler queues run after the batch's later messages, promise jobs after
// all of them). Anything else the reader posts (a disconnect request, the
// close, a heartbeat) seals the batch, so nothing overtakes.
type channelHandler struct{ r *runtime }

// inbox is the batch of messages posted to the loop and not yet taken.
type inbox struct {
	mu  sync.Mutex
	cur *[][]byte
}

func (h channelHandler) Message(payload []byte) {
	in := &h.r.inbox
	in.mu.Lock()
	if b := in.cur; b != nil {
		*b = append(*b, payload)
		in.mu.Unlock()
		return
	}
	b := &[][]byte{payload}
	in.cur = b
	in.mu.Unlock()
	h.r.loop.post(func() {
		in.mu.Lock()
		if in.cur == b {
			in.cur = nil
		}
		payloads := *b
		in.mu.Unlock()
		h.deliver(payloads)
	})
}

// seal ends the open batch: later messages post anew, after what the
// reader posts next.
func (h channelHandler) seal() {
	in := &h.r.inbox
	in.mu.Lock()
	in.cur = nil
	in.mu.Unlock()
}

// deliver hands a batch of messages to the script in one call: one
// message as it is, more as an array (the hooks queue their ticks).
func (h channelHandler) deliver(payloads [][]byte) {
	r := h.r
	if r.loop.stopped {
		return
	}
	var (
		one  goja.Value
		many []any
	)
	for _, p := range payloads {
		v, err := cborToValue(r.vm, p)
		if err != nil {
			fmt.Fprintf(r.cfg.Stderr, "isowasm: worker %d: dropping a message from the primary: %v\n", r.cfg.Channel.WorkerID(), err)
			continue
		}
		switch {
		case one == nil:
			one = v
		case many == nil:
			many = make([]any, 0, len(payloads))
			many = append(many, one, v)
		default:
			many = append(many, v)
		}
	}
	switch {
	case many != nil:
		r.call(r.hooks.messages, r.vm.NewArray(many...))
	case one != nil:
		r.call(r.hooks.message, one)
	}
}

func (h channelHandler) DisconnectRequest() {
	h.seal()
	h.r.loop.post(func() { h.r.call(h.r.hooks.disconnectRequest) })
}

func (h channelHandler) Closed(err error) {
	h.seal()
	h.r.loop.post(func() {
		if !h.r.connected {
			return
		}
		h.r.connected = false
		h.r.call(h.r.hooks.channelClosed)
	})
}

// sendListening tells the primary a server listens, queued behind the
// messages the script sent before (in Node the listening message follows
// them: it waits for the primary's answer to the worker's queryServer).
func (r *runtime) sendListening(l frame.Listening) {
	r.out.enqueue(sendOp{listening: &l})
}

// sender writes frames to the primary in order on a goroutine of its own,
// so a slow reader never blocks the loop. Each time it wakes it takes the
// whole queue: consecutive messages go out in one SendBatch (one writev),
// and their loop callbacks come back to the loop in one post.
type sender struct {
	ch   *host.Channel
	loop *loop
	mu   sync.Mutex
	cond *sync.Cond
	// queue holds what is not written yet; closed stops the goroutine once
	// the queue is empty.
	queue  []sendOp
	closed bool
	done   chan struct{}
}

type sendOp struct {
	payload    []byte
	listening  *frame.Listening
	disconnect bool
	leaving    bool        // the exited-after-disconnect frame (Channel.Leaving)
	result     func(error) // called on the sender goroutine
	// onLoop, for a message, is called on the loop with the write's
	// result; the op holds the loop (loop.pending) until then.
	onLoop func(error)
}

// control reports whether op is a frame other than a message.
func (op *sendOp) control() bool { return op.disconnect || op.leaving || op.listening != nil }

func newSender(ch *host.Channel, l *loop) *sender {
	s := &sender{ch: ch, loop: l, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.run()
	return s
}

// enqueue is called on the loop; the op's result runs on the sender.
func (s *sender) enqueue(op sendOp) {
	s.mu.Lock()
	s.queue = append(s.queue, op)
	wake := len(s.queue) == 1
	s.mu.Unlock()
	if wake {
		s.cond.Signal()
	}
}

// loopResult is a message's loop callback with its write's result.
type loopResult struct {
	f   func(error)
	err error
}

func (s *sender) run() {
	defer close(s.done)
	var (
		batch    []sendOp
		payloads [][]byte
		errs     []error
		results  []loopResult
	)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		for i := 0; i < len(batch); {
			op := batch[i]
			if op.control() {
				var err error
				switch {
				case op.disconnect:
					err = s.ch.Disconnect(false)
				case op.leaving:
					err = s.ch.Leaving()
				default:
					err = s.ch.Listening(*op.listening)
				}
				if op.result != nil {
					op.result(err)
				}
				i++
				continue
			}
			j := i
			for j < len(batch) && !batch[j].control() {
				j++
			}
			run := batch[i:j]
			if len(run) == 1 {
				errs = append(errs[:0], s.ch.Send(op.payload))
			} else {
				payloads = payloads[:0]
				for _, m := range run {
					payloads = append(payloads, m.payload)
				}
				errs = slices.Grow(errs[:0], len(run))[:len(run)]
				clear(errs)
				s.ch.SendBatch(payloads, errs)
				clear(payloads)
			}
			for k, m := range run {
				if m.result != nil {
					m.result(errs[k])
				}
				if m.onLoop != nil {
					results = append(results, loopResult{m.onLoop, errs[k]})
				}
			}
			i = j
		}
		if len(results) > 0 {
			s.post(results)
			results = nil
		}
		clear(batch)
		batch = batch[:0]
	}
}

// post hands a batch's loop callbacks to the loop in one go, in order;
// each ran op releases its hold on the loop.
func (s *sender) post(results []loopResult) {
	s.loop.post(func() {
		for _, r := range results {
			s.loop.pending--
			r.f(r.err)
		}
	})
}

// flush lets the sender write what is queued, for at most wait, then
// closes the channel (which also ends a write the primary does not read).
func (s *sender) flush(wait time.Duration) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cond.Broadcast()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	}
	s.ch.Close()
	<-s.done
}
