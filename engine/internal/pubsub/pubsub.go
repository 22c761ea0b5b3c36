// Package pubsub is the event core of the primary, with isotropic-pubsub's
// semantics: every event runs the stages before → on → complete → after,
// where complete is the publisher's own default action and the other stages
// call subscribers. Dispatch is synchronous, so an event published from a
// subscriber or a complete function nests inside the outer one.
//
// A Hub is not safe for concurrent use: it belongs to one loop.
package pubsub

// Stage is one step of an event's dispatch.
type Stage uint8

// The stages in dispatch order. Complete has no subscribers: it runs the
// event's complete function.
const (
	Before Stage = iota
	On
	Complete
	After
	numStages
)

func (s Stage) String() string {
	switch s {
	case Before:
		return "before"
	case On:
		return "on"
	case Complete:
		return "complete"
	case After:
		return "after"
	}
	return "stage?"
}

// Options define one event.
type Options struct {
	// Complete is the event's default action, run between on and after.
	Complete func(*Event)
	// CompleteOnce: once an instance of the event has reached its complete
	// stage, later publishes do nothing and late subscribers are called at
	// once with that instance.
	CompleteOnce bool
	// PublishOnce: the event is published at most once; late subscribers are
	// called at once with it (unless it was prevented).
	PublishOnce bool
}

// Event is one publication of an event, passed to every subscriber.
type Event struct {
	Name string
	Data any

	stage           Stage
	prevented       uint8 // bit per stage
	dispatchStopped bool
	eventStopped    bool
	completed       bool
	current         *Subscription
}

// Stage is the stage being dispatched (or the one the event stopped at).
func (e *Event) Stage() Stage { return e.stage }

// Completed reports whether the complete stage has run.
func (e *Event) Completed() bool { return e.completed }

// Prevent stops the complete stage and everything after it.
func (e *Event) Prevent() { e.PreventStage(Complete) }

// PreventStage stops the dispatch when it reaches stage.
func (e *Event) PreventStage(stage Stage) { e.prevented |= 1 << stage }

// IsPrevented reports whether the complete stage was prevented.
func (e *Event) IsPrevented() bool { return e.IsStagePrevented(Complete) }

// IsStagePrevented reports whether stage was prevented.
func (e *Event) IsStagePrevented(stage Stage) bool { return e.prevented&(1<<stage) != 0 }

// StopDispatch skips the remaining subscribers of the current stage; the
// next stage runs as usual.
func (e *Event) StopDispatch() { e.dispatchStopped = true }

// StopEvent ends the dispatch after the current stage (whose remaining
// subscribers still run).
func (e *Event) StopEvent() { e.eventStopped = true }

// DispatchStopped and EventStopped report the flags above.
func (e *Event) DispatchStopped() bool { return e.dispatchStopped }

// EventStopped reports whether StopEvent was called.
func (e *Event) EventStopped() bool { return e.eventStopped }

// Unsubscribe removes the subscription being called, if any; it reports
// whether there was one.
func (e *Event) Unsubscribe() bool {
	if e.current == nil {
		return false
	}
	e.current.Unsubscribe()
	return true
}

// Subscription is one subscriber of one stage of one event.
type Subscription struct {
	st     *state
	stage  Stage
	fn     func(*Event)
	once   bool
	active bool
}

// Subscribed reports whether the subscription is still in place.
func (s *Subscription) Subscribed() bool { return s != nil && s.active }

// Unsubscribe removes the subscription; it reports whether it was in place.
// Safe during a dispatch: a removed subscriber is not called again.
func (s *Subscription) Unsubscribe() bool {
	if s == nil || !s.active {
		return false
	}
	s.active = false
	s.st.dirty[s.stage] = true
	s.st.compact(s.stage)
	return true
}

type state struct {
	subs  [numStages][]*Subscription
	depth [numStages]int // dispatches iterating subs[stage]
	dirty [numStages]bool
	event *Event // the instance of a publish-once or complete-once event
}

// compact drops removed subscriptions when no dispatch iterates them, so
// that a dispatch sees subscribers added during it and skips removed ones
// (a JavaScript Map's iteration order).
func (st *state) compact(stage Stage) {
	if st.depth[stage] > 0 || !st.dirty[stage] {
		return
	}
	kept := st.subs[stage][:0]
	for _, s := range st.subs[stage] {
		if s.active {
			kept = append(kept, s)
		}
	}
	clear(st.subs[stage][len(kept):])
	st.subs[stage] = kept
	st.dirty[stage] = false
}

// Hub holds the events of one publisher.
type Hub struct {
	options   map[string]Options
	states    map[string]*state
	destroyed bool
}

// New returns an empty hub.
func New() *Hub {
	return &Hub{options: map[string]Options{}, states: map[string]*state{}}
}

// Define sets the options of an event; an undefined event has none.
func (h *Hub) Define(name string, o Options) { h.options[name] = o }

func (h *Hub) state(name string) *state {
	st := h.states[name]
	if st == nil {
		st = &state{}
		h.states[name] = st
	}
	return st
}

// Publish dispatches e (e.Name says which event) through its stages.
func (h *Hub) Publish(e *Event) {
	if h.destroyed {
		return
	}
	st := h.state(e.Name)
	if st.event != nil {
		return
	}
	o := h.options[e.Name]
	if o.PublishOnce {
		st.event = e
	}
	for stage := Before; stage < numStages; stage++ {
		e.dispatchStopped = false
		e.stage = stage
		if e.IsStagePrevented(stage) {
			break
		}
		if stage == Complete {
			if o.CompleteOnce {
				if st.event != nil {
					break
				}
				st.event = e
			}
			e.completed = true
			e.current = nil
			if o.Complete != nil {
				o.Complete(e)
			}
		} else {
			h.dispatch(st, stage, e)
		}
		if e.eventStopped {
			break
		}
	}
	e.current = nil
}

func (h *Hub) dispatch(st *state, stage Stage, e *Event) {
	st.depth[stage]++
	defer func() {
		st.depth[stage]--
		st.compact(stage)
	}()
	// Index, not range: subscribers added during the dispatch are called too.
	for i := 0; i < len(st.subs[stage]); i++ {
		s := st.subs[stage][i]
		if !s.active {
			continue
		}
		e.current = s
		if s.once {
			s.Unsubscribe()
		}
		s.fn(e)
		if e.dispatchStopped {
			break
		}
	}
}

// Subscribe adds fn to stage (Before, On or After) of the named event. With
// once it is removed before its first call. A subscriber to a publish-once
// event already published, or a complete-once event already completed, is
// called at once with that event (unless it was prevented) and the returned
// subscription is not in place.
func (h *Hub) Subscribe(stage Stage, name string, fn func(*Event), once bool) *Subscription {
	if stage == Complete || stage >= numStages {
		panic("pubsub: subscribe to stage " + stage.String())
	}
	if h.destroyed {
		return &Subscription{}
	}
	st := h.state(name)
	if e := st.event; e != nil {
		if !e.IsStagePrevented(e.stage) {
			fn(e)
		}
		return &Subscription{}
	}
	s := &Subscription{st: st, stage: stage, fn: fn, once: once, active: true}
	st.subs[stage] = append(st.subs[stage], s)
	return s
}

// Destroy removes every subscription; the hub publishes nothing afterwards.
func (h *Hub) Destroy() {
	for _, st := range h.states {
		for stage := range st.subs {
			for _, s := range st.subs[stage] {
				s.active = false
			}
			st.dirty[stage] = true
			st.compact(Stage(stage))
		}
	}
	h.destroyed = true
}

// Destroyed reports whether Destroy was called.
func (h *Hub) Destroyed() bool { return h.destroyed }
