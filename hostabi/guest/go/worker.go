// Package isowasm is the Go SDK for isowasm workers compiled to
// WebAssembly: a Worker that reads like isotropic-cluster's ClusterWorker
// (events with before/on/after stages, Send, typed message routing,
// WorkerID, initialize and destroy), timers driven by the host, and a small
// CBOR codec for JSON-like messages.
//
// Build a worker as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o worker.wasm .
//
// Create the worker in an init function (a reactor never runs main), and
// keep main empty. Handlers run one at a time, on the host's event loop;
// there are no goroutines to start: a Go reactor runs only while the host
// is calling it, so wait with SetTimeout, never with a channel or Sleep.
package isowasm

import (
	"errors"
	"runtime"
	"strconv"
)

// Event names, as ClusterWorker publishes them.
const (
	Initialize         = "initialize"
	InitializeComplete = "initializeComplete"
	InitializeError    = "initializeError"
	PrimaryMessage     = "primaryMessage"
	PrimaryDisconnect  = "primaryDisconnect"
	Destroy            = "destroy"
	DestroyComplete    = "destroyComplete"
)

// DefaultDestroyTimeout is ClusterWorker.destroy's default grace period,
// in milliseconds. Durations in this package are milliseconds, as in
// JavaScript (and so that the time package, 270 KB of guest code, stays out).
const DefaultDestroyTimeout = 6765

// Event is one publication of a worker event.
type Event struct {
	Name string
	// Message is the primary's message, for PrimaryMessage: nil, bool,
	// float64, string, []any or Object.
	Message any
	// Err is the cause, for InitializeError: an *Error "Initialize error".
	Err       error
	prevented bool
}

// Prevent stops the event: its complete stage (the worker's own action)
// and its after stage do not run.
func (e *Event) Prevent() { e.prevented = true }

// Prevented reports whether a subscriber prevented the event.
func (e *Event) Prevented() bool { return e.prevented }

// Handler handles an event.
type Handler func(*Event)

const (
	stageBefore = iota
	stageOn
	stageAfter
)

// Worker is the ClusterWorker of this guest. There is one per guest: the
// last one made is the one the host's events go to.
type Worker struct {
	initialize func() error
	subs       map[string]*[3][]Handler
	types      map[string]Handler
	destroyed  bool
}

var current *Worker

// NewWorker makes the guest's worker; initialize (may be nil) is its
// _initialize: an error becomes initializeError, and unless a subscriber
// prevents that the worker exits with code 1, never ready. Call it from an
// init function; subscribe there too. The host initializes the worker once
// every init function has run, and on success the worker sends "ready".
func NewWorker(initialize func() error) *Worker {
	w := &Worker{initialize: initialize, subs: map[string]*[3][]Handler{}, types: map[string]Handler{}}
	current = w
	return w
}

func (w *Worker) subscribe(stage int, event string, h Handler) *Worker {
	s := w.subs[event]
	if s == nil {
		s = new([3][]Handler)
		w.subs[event] = s
	}
	s[stage] = append(s[stage], h)
	return w
}

// Before subscribes h to the before stage of event.
func (w *Worker) Before(event string, h Handler) *Worker { return w.subscribe(stageBefore, event, h) }

// On subscribes h to the on stage of event.
func (w *Worker) On(event string, h Handler) *Worker { return w.subscribe(stageOn, event, h) }

// After subscribes h to the after stage of event, which runs once the
// worker's own action for it is done.
func (w *Worker) After(event string, h Handler) *Worker { return w.subscribe(stageAfter, event, h) }

// OnType handles primary messages that are objects with a "type" field
// equal to typ, in the complete stage of PrimaryMessage: the
// _eventPrimaryMessage_<type> methods of a ClusterWorker made with _make.
func (w *Worker) OnType(typ string, h Handler) *Worker {
	w.types[typ] = h
	return w
}

// publish runs an event's stages; complete (may be nil) is its own action.
// withAfter false leaves the after stage out.
func (w *Worker) publish(e *Event, complete func(), withAfter bool) {
	s := w.subs[e.Name]
	run := func(stage int) {
		if s == nil {
			return
		}
		for _, h := range s[stage] {
			h(e)
		}
	}
	run(stageBefore)
	if e.prevented {
		return
	}
	run(stageOn)
	if e.prevented {
		return
	}
	if complete != nil {
		complete()
	}
	if withAfter {
		run(stageAfter)
	}
}

// Send sends a message to the primary. It fails with an *Error "Error
// sending message to primary" (caused by ErrChannelClosed) once the channel
// is closed, and with ErrUnsupported for a value with no JSON form.
func (w *Worker) Send(message any) error { return Send(message) }

// Destroy is ClusterWorker.destroy: it publishes destroy and
// destroyComplete, disconnects from the primary and ends the process (code
// 0) after timeout milliseconds; a negative timeout is
// DefaultDestroyTimeout. Events of the primary are not published any more.
func (w *Worker) Destroy(timeout int) {
	if w.destroyed {
		return
	}
	if timeout < 0 {
		timeout = DefaultDestroyTimeout
	}
	// As in isotropic-initializable, destroy has no after stage: its
	// subscriptions are gone by then.
	w.publish(&Event{Name: Destroy}, func() {
		w.destroyed = true
		w.publish(&Event{Name: DestroyComplete}, func() {
			hostDestroy(int32(min(timeout, 1<<31-1)))
		}, true)
	}, false)
}

// Destroyed reports whether Destroy ran.
func (w *Worker) Destroyed() bool { return w.destroyed }

// WorkerID is the id the primary gave this worker (0 outside a cluster).
func (w *Worker) WorkerID() int { return WorkerID() }

// WorkerID is the id the primary gave this worker (0 outside a cluster).
func WorkerID() int { return int(hostWorkerID()) }

// ErrChannelClosed is the cause of a send after the channel closed.
var ErrChannelClosed = errors.New("Channel closed")

// Error is an isotropic-error: a message and the error it wraps.
type Error struct {
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Send sends a message to the primary, with or without a Worker (as
// process.send does).
func Send(message any) error {
	b, err := Marshal(message)
	if err != nil {
		return err
	}
	return SendCBOR(b)
}

// SendCBOR sends an already encoded message. The host refuses bytes that
// are not one CBOR value with JSON semantics.
func SendCBOR(b []byte) error {
	switch s := sendBytes(b); s {
	case 0:
		return nil
	case -1:
		return &Error{Message: "Error sending message to primary", Err: ErrChannelClosed}
	default:
		return &Error{Message: "Error sending message to primary", Err: &StatusError{Status: s}}
	}
}

// StatusError is a host function's failure status (hostabi/ABI.md).
type StatusError struct{ Status int32 }

func (e *StatusError) Error() string {
	switch e.Status {
	case -2:
		return "not one CBOR value with JSON semantics"
	case -3:
		return "message too large"
	case -4:
		return "bytes outside the guest's memory"
	}
	return "host status " + strconv.Itoa(int(e.Status))
}

// Disconnect closes the channel to the primary of the worker's own will,
// as cluster.worker.disconnect() does; the process then ends once no timer
// is pending.
func Disconnect() error {
	if hostDisconnect() != 0 {
		return ErrChannelClosed
	}
	return nil
}

// Log writes a line to stdout, LogError one to stderr.
func Log(text string) { logText(0, text) }

// LogError writes a line to stderr.
func LogError(text string) { logText(2, text) }

var exitHooks []func(code int)

// OnExit registers f to run when the process is about to exit normally or
// through Exit (process.on('exit')); not after a trap.
func OnExit(f func(code int)) { exitHooks = append(exitHooks, f) }

func runExitHooks(code int) {
	hooks := exitHooks
	exitHooks = nil
	for _, f := range hooks {
		f(code)
	}
}

// Exit runs the exit hooks and ends the process with code (process.exit).
func Exit(code int) {
	runExitHooks(code)
	procExit(int32(code))
}

// Timer is a pending SetTimeout or SetInterval.
type Timer struct {
	id    int32
	fn    func()
	every int
}

var timers = map[int32]*Timer{}

func arm(t *Timer, ms int) {
	t.id = hostSetTimer(int32(min(max(ms, 0), 1<<31-1)))
	timers[t.id] = t
}

// SetTimeout calls f once after ms milliseconds (at least 1), on the event
// loop. A pending timer keeps the process alive after the primary
// disconnects.
func SetTimeout(ms int, f func()) *Timer {
	t := &Timer{fn: f}
	arm(t, ms)
	return t
}

// SetInterval calls f every ms milliseconds until the timer is cleared.
func SetInterval(ms int, f func()) *Timer {
	t := &Timer{fn: f, every: max(ms, 1)}
	arm(t, ms)
	return t
}

// ClearTimer cancels t; it reports whether t was pending.
func ClearTimer(t *Timer) bool {
	if t == nil || timers[t.id] != t {
		return false
	}
	delete(timers, t.id)
	t.every = 0
	return hostClearTimer(t.id) == 1
}

func fire(id int32) {
	t, ok := timers[id]
	if !ok {
		return
	}
	delete(timers, id)
	if t.every > 0 {
		arm(t, t.every)
	}
	t.fn()
}

// initialize is isowasm_init: the Initializable sequence, then "ready".
func initialize() int32 {
	const ready, failed, noReady = 0, 1, 2
	w := current
	if w == nil {
		return noReady // no ClusterWorker, no "ready", as in JavaScript
	}
	var initErr error
	done := false
	w.publish(&Event{Name: Initialize}, func() {
		done = true
		if w.initialize != nil {
			// A panic in _initialize is a throw there: initializeError.
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(exitPanic); ok {
						panic(r)
					}
					initErr = errors.New(panicText(r))
				}
			}()
			initErr = w.initialize()
		}
	}, true)
	if !done {
		return noReady
	}
	if initErr != nil {
		e := &Event{Name: InitializeError, Err: &Error{Message: "Initialize error", Err: initErr}}
		w.publish(e, nil, true)
		if e.prevented {
			return noReady
		}
		LogError("Initialize error: " + e.Err.Error())
		return failed
	}
	// "ready" is sent in the complete stage, so that it goes out before
	// whatever after-stage handlers send.
	w.publish(&Event{Name: InitializeComplete}, func() { Send("ready") }, true)
	return noReady
}

// deliver is isowasm_on_message.
func deliver(data []byte) {
	msg, err := Unmarshal(data)
	if err != nil {
		LogError("isowasm: dropping a message from the primary: " + err.Error())
		return
	}
	w := current
	if w == nil || w.destroyed {
		return
	}
	e := &Event{Name: PrimaryMessage, Message: msg}
	w.publish(e, func() {
		if obj, ok := msg.(Object); ok {
			if typ, ok := obj.Get("type").(string); ok {
				if h := w.types[typ]; h != nil {
					h(e)
				}
			}
		}
	}, true)
}

// disconnected is isowasm_on_disconnect.
func disconnected() {
	if w := current; w != nil && !w.destroyed {
		w.publish(&Event{Name: PrimaryDisconnect}, nil, true)
	}
}

// exitPanic ends a handler when Exit is called off wasip1 (tests).
type exitPanic struct{ code int32 }

// guard turns a panic in a handler into what an uncaught exception is in
// a JS worker: the error on stderr, exit code 1.
func guard() {
	r := recover()
	if r == nil {
		return
	}
	if _, ok := r.(exitPanic); ok {
		panic(r) // Exit off wasip1, in tests
	}
	text := panicText(r)
	stack := make([]byte, 16<<10)
	stack = stack[:runtime.Stack(stack, false)]
	LogError("panic: " + text + "\n\n" + string(stack))
	Exit(1)
}

func panicText(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case interface{ String() string }:
		return v.String()
	}
	return "(a value of no printable type)"
}
