package engine

import (
	"slices"
	"strconv"
	"time"

	"github.com/isowasm/isowasm/engine/internal/pubsub"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// Stage is a step of an event's dispatch that handlers subscribe to.
type Stage uint8

// The stages subscribers can use; the complete stage, between on and after,
// is the primary's own.
const (
	StageBefore Stage = iota
	StageOn
	StageAfter
)

func (s Stage) internal() pubsub.Stage {
	switch s {
	case StageBefore:
		return pubsub.Before
	case StageOn:
		return pubsub.On
	case StageAfter:
		return pubsub.After
	}
	panic("engine: unknown stage")
}

// Event is one publication of a primary event. The fields an event does not
// carry are zero.
type Event struct {
	Name   string
	Worker *Worker // the worker concerned, for the worker… events and add/removeWorker
	// Message is a workerMessage's payload decoded with frame.Unmarshal (maps
	// as map[string]any); Raw is its CBOR, for bindings that decode it
	// themselves.
	Message any
	Raw     []byte
	// Code and Signal are a workerExit's exit status: Code is -1 when the
	// process was killed by a signal, which Signal then names ("SIGTERM").
	Code   int
	Signal string
	// Error is a workerError's error: a *WorkerError.
	Error error
	// Address is a workerListening's address.
	Address *frame.Listening
	// WorkerCount is a fork's number of workers.
	WorkerCount int
	// Delay is how long a workerRestart waits before forking the
	// replacement of Worker (the restart policy's backoff).
	Delay time.Duration

	ev pubsub.Event // its dispatch state, in the same allocation
}

// Stage is the stage being dispatched.
func (e *Event) Stage() string { return e.ev.Stage().String() }

// Prevent stops the event's complete stage (the primary's own action) and
// its after stage.
func (e *Event) Prevent() { e.ev.Prevent() }

// IsPrevented reports whether Prevent was called.
func (e *Event) IsPrevented() bool { return e.ev.IsPrevented() }

// StopDispatch skips the remaining handlers of the current stage.
func (e *Event) StopDispatch() { e.ev.StopDispatch() }

// StopEvent ends the dispatch once the current stage is over.
func (e *Event) StopEvent() { e.ev.StopEvent() }

// Unsubscribe removes the subscription being called.
func (e *Event) Unsubscribe() bool { return e.ev.Unsubscribe() }

// Subscription is one handler's subscription to a stage of an event.
type Subscription struct{ s *pubsub.Subscription }

// Unsubscribe removes the handler (on the loop); it reports whether it was
// still subscribed.
func (s *Subscription) Unsubscribe() bool { return s.s.Unsubscribe() }

// Subscribed reports whether the handler is still subscribed.
func (s *Subscription) Subscribed() bool { return s.s.Subscribed() }

// Subscribe calls fn at stage of every publication of the named event (with
// once, only at the next one). A handler of shutDownComplete or
// destroyComplete subscribed after it was published is called at once.
func (p *Primary) Subscribe(stage Stage, name string, once bool, fn func(*Event)) *Subscription {
	return &Subscription{p.hub.Subscribe(stage.internal(), name, func(e *pubsub.Event) {
		fn(e.Data.(*Event))
	}, once)}
}

// Before subscribes fn to the before stage of the named event.
func (p *Primary) Before(name string, fn func(*Event)) *Subscription {
	return p.Subscribe(StageBefore, name, false, fn)
}

// On subscribes fn to the on stage of the named event.
func (p *Primary) On(name string, fn func(*Event)) *Subscription {
	return p.Subscribe(StageOn, name, false, fn)
}

// After subscribes fn to the after stage of the named event.
func (p *Primary) After(name string, fn func(*Event)) *Subscription {
	return p.Subscribe(StageAfter, name, false, fn)
}

// Once subscribes fn to the on stage of the next publication of the event.
func (p *Primary) Once(name string, fn func(*Event)) *Subscription {
	return p.Subscribe(StageOn, name, true, fn)
}

func (p *Primary) publish(e *Event) {
	e.ev.Name, e.ev.Data = e.Name, e
	p.hub.Publish(&e.ev)
}

// defineEvents gives each event its complete stage: the ClusterPrimary's
// _event… methods.
func (p *Primary) defineEvents() {
	define := func(name string, complete func(*Event), o pubsub.Options) {
		o.Complete = func(e *pubsub.Event) { complete(e.Data.(*Event)) }
		p.hub.Define(name, o)
	}
	none := pubsub.Options{}
	define("fork", p.completeFork, none)
	define("workerFork", func(e *Event) {
		p.log.Info("starting new worker", "workerId", e.Worker.id)
	}, none)
	define("workerOnline", func(e *Event) {
		p.log.Info("worker is now online", "workerId", e.Worker.id)
		e.Worker.awaitReady = true
	}, none)
	define("workerMessage", p.route, none)
	define("workerReady", func(e *Event) {
		p.log.Info("worker is ready to work", "workerId", e.Worker.id)
		p.publish(&Event{Name: "addWorker", Worker: e.Worker})
	}, none)
	define("addWorker", func(e *Event) {
		p.ready[e.Worker.id] = e.Worker
		p.listReady()
	}, none)
	define("removeWorker", func(e *Event) {
		delete(p.ready, e.Worker.id)
		p.listReady()
		for _, stamps := range p.rrStamps {
			delete(stamps, e.Worker)
		}
	}, none)
	define("workerListening", func(e *Event) {
		p.log.Info("worker is listening", "workerId", e.Worker.id, "address", e.Address.Address, "port", e.Address.Port)
	}, none)
	define("workerError", func(e *Event) {
		p.log.Error("worker error", "workerId", e.Worker.id, "error", e.Error)
		p.removeWorker(e.Worker)
	}, none)
	define("workerDisconnect", func(e *Event) {
		p.log.Info("worker disconnected", "workerId", e.Worker.id)
		p.removeWorker(e.Worker)
	}, none)
	define("workerExit", p.completeWorkerExit, none)
	define("workerRestart", p.completeRestart, none)
	define("workerGiveUp", func(e *Event) {
		p.log.Error("not replacing dead worker", "workerId", e.Worker.id, "error", e.Error)
	}, none)
	define("shutDown", func(*Event) {
		p.log.Info("shutting down workers")
		p.active = false
		p.clusterDisconnect(func() { p.publish(&Event{Name: "shutDownComplete"}) })
	}, pubsub.Options{CompleteOnce: true})
	define("shutDownComplete", func(*Event) {
		p.log.Info("worker shut down complete")
	}, pubsub.Options{PublishOnce: true})
	define("destroy", p.completeDestroy, pubsub.Options{CompleteOnce: true})
	define("destroyComplete", func(*Event) {}, pubsub.Options{PublishOnce: true})
}

func (p *Primary) completeFork(e *Event) {
	for n := e.WorkerCount; n > 0; n-- {
		p.log.Info("starting a new worker")
		p.forkOne()
	}
}

func (p *Primary) completeWorkerExit(e *Event) {
	w := e.Worker
	switch {
	case w.exitedAfterDisconnect:
		p.log.Info("worker exited voluntarily", "workerId", w.id, "code", e.Code, "signal", e.Signal)
	case e.Code != 0:
		p.log.Error("worker died unexpectedly", "workerId", w.id, "code", e.Code, "signal", e.Signal)
	default:
		p.log.Warn("worker died", "workerId", w.id, "code", e.Code, "signal", e.Signal)
	}
	p.removeWorker(w)
	if p.active {
		p.replace(w, e.Signal)
	}
}

func (p *Primary) completeDestroy(*Event) {
	if p.active {
		p.hub.Subscribe(pubsub.After, "shutDownComplete", func(*pubsub.Event) { p.finishDestroy() }, true)
		p.ShutDown()
		return
	}
	p.finishDestroy()
}

func (p *Primary) finishDestroy() {
	p.active = false
	p.destroyed = true
	p.isDestroy.Store(true)
	p.rrStamps = nil
	p.publish(&Event{Name: "destroyComplete"})
	p.hub.Destroy()
	close(p.done)
}

// route is workerMessage's complete stage: a message that is a map whose
// "type" is a non-empty string (or a non-zero integer, or true, as
// JavaScript would name a method after it) goes to the handler registered
// for that type.
func (p *Primary) route(e *Event) {
	m, ok := e.Message.(map[string]any)
	if !ok {
		return
	}
	var typ string
	switch t := m["type"].(type) {
	case string:
		typ = t
	case int64:
		if t != 0 {
			typ = strconv.FormatInt(t, 10)
		}
	case uint64:
		if t != 0 {
			typ = strconv.FormatUint(t, 10)
		}
	case bool:
		if t {
			typ = "true"
		}
	}
	if fn := p.handlers[typ]; typ != "" && fn != nil {
		fn(e)
	}
}

// HandleType makes fn the handler of worker messages of the given type,
// called in workerMessage's complete stage (the Go form of a ClusterPrimary
// subclass's _eventWorkerMessage_<type> method). A nil fn removes it.
func (p *Primary) HandleType(typ string, fn func(*Event)) {
	if fn == nil {
		delete(p.handlers, typ)
		return
	}
	p.handlers[typ] = fn
}

func (p *Primary) listReady() {
	// A new slice each time: earlier snapshots (a broadcast's targets) stay.
	list := make([]*Worker, 0, len(p.ready))
	for _, w := range p.ready {
		list = append(list, w)
	}
	p.readyList = list
	slices.SortFunc(list, func(a, b *Worker) int { return a.id - b.id })
}

// removeWorker is the ClusterPrimary's _removeWorker: a ready worker leaves
// the ready set through a removeWorker event.
func (p *Primary) removeWorker(w *Worker) {
	if _, ok := p.ready[w.id]; ok {
		p.publish(&Event{Name: "removeWorker", Worker: w})
	}
}
