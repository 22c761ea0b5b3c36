package pubsub

import (
	"slices"
	"testing"
)

// recorder builds subscribers that append "<stage> <event>[ tag]" to a trace.
type recorder struct{ trace []string }

func (r *recorder) fn(tag string, then ...func(*Event)) func(*Event) {
	return func(e *Event) {
		s := e.Stage().String() + " " + e.Name
		if tag != "" {
			s += " " + tag
		}
		r.trace = append(r.trace, s)
		for _, f := range then {
			f(e)
		}
	}
}

func (r *recorder) complete(then ...func(*Event)) func(*Event) { return r.fn("", then...) }

func TestHub(t *testing.T) {
	tests := []struct {
		name string
		run  func(h *Hub, r *recorder)
		want []string
	}{
		{
			name: "stages in order",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete()})
				h.Subscribe(After, "x", r.fn(""), false)
				h.Subscribe(On, "x", r.fn(""), false)
				h.Subscribe(Before, "x", r.fn(""), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"before x", "on x", "complete x", "after x"},
		},
		{
			name: "subscribers in subscription order",
			run: func(h *Hub, r *recorder) {
				h.Subscribe(On, "x", r.fn("1"), false)
				h.Subscribe(On, "x", r.fn("2"), false)
				h.Subscribe(On, "x", r.fn("3"), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x 1", "on x 2", "on x 3"},
		},
		{
			name: "publish in complete nests",
			run: func(h *Hub, r *recorder) {
				h.Define("workerReady", Options{Complete: func(*Event) { h.Publish(&Event{Name: "addWorker"}) }})
				for _, n := range []string{"workerReady", "addWorker"} {
					h.Subscribe(On, n, r.fn(""), false)
					h.Subscribe(After, n, r.fn(""), false)
				}
				h.Publish(&Event{Name: "workerReady"})
			},
			want: []string{"on workerReady", "on addWorker", "after addWorker", "after workerReady"},
		},
		{
			name: "prevent stops complete and after",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete()})
				h.Subscribe(On, "x", r.fn("1", (*Event).Prevent), false)
				h.Subscribe(On, "x", r.fn("2"), false)
				h.Subscribe(After, "x", r.fn(""), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x 1", "on x 2"},
		},
		{
			name: "prevent in before stops complete, on still runs",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete()})
				h.Subscribe(Before, "x", r.fn("", (*Event).Prevent), false)
				h.Subscribe(On, "x", r.fn(""), false)
				h.Subscribe(After, "x", r.fn(""), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"before x", "on x"},
		},
		{
			name: "prevent a later stage",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete()})
				h.Subscribe(On, "x", r.fn("", func(e *Event) { e.PreventStage(After) }), false)
				h.Subscribe(After, "x", r.fn(""), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x", "complete x"},
		},
		{
			name: "stopDispatch skips the rest of the stage only",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete()})
				h.Subscribe(On, "x", r.fn("1", (*Event).StopDispatch), false)
				h.Subscribe(On, "x", r.fn("2"), false)
				h.Subscribe(After, "x", r.fn(""), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x 1", "complete x", "after x"},
		},
		{
			name: "stopEvent finishes the stage then stops",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete()})
				h.Subscribe(On, "x", r.fn("1", (*Event).StopEvent), false)
				h.Subscribe(On, "x", r.fn("2"), false)
				h.Subscribe(After, "x", r.fn(""), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x 1", "on x 2"},
		},
		{
			name: "stopEvent in complete skips after",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete((*Event).StopEvent)})
				h.Subscribe(After, "x", r.fn(""), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"complete x"},
		},
		{
			name: "once subscription",
			run: func(h *Hub, r *recorder) {
				h.Subscribe(On, "x", r.fn("once"), true)
				h.Subscribe(On, "x", r.fn("always"), false)
				h.Publish(&Event{Name: "x"})
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x once", "on x always", "on x always"},
		},
		{
			name: "once subscriber republishing is not called again",
			run: func(h *Hub, r *recorder) {
				h.Subscribe(On, "x", r.fn("once", func(*Event) { h.Publish(&Event{Name: "x"}) }), true)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x once"},
		},
		{
			name: "unsubscribe during dispatch skips the removed",
			run: func(h *Hub, r *recorder) {
				var s2 *Subscription
				h.Subscribe(On, "x", r.fn("1", func(*Event) { s2.Unsubscribe() }), false)
				s2 = h.Subscribe(On, "x", r.fn("2"), false)
				h.Subscribe(On, "x", r.fn("3"), false)
				h.Publish(&Event{Name: "x"})
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x 1", "on x 3", "on x 1", "on x 3"},
		},
		{
			name: "event.Unsubscribe removes the current subscriber",
			run: func(h *Hub, r *recorder) {
				h.Subscribe(On, "x", r.fn("1", func(e *Event) { e.Unsubscribe() }), false)
				h.Subscribe(On, "x", r.fn("2"), false)
				h.Publish(&Event{Name: "x"})
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x 1", "on x 2", "on x 2"},
		},
		{
			name: "subscriber added during dispatch is called",
			run: func(h *Hub, r *recorder) {
				h.Subscribe(On, "x", r.fn("1", func(*Event) { h.Subscribe(On, "x", r.fn("late"), true) }), true)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x 1", "on x late"},
		},
		{
			name: "publishOnce: second publish does nothing, late subscriber replayed",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete(), PublishOnce: true})
				h.Subscribe(On, "x", r.fn("early"), false)
				h.Publish(&Event{Name: "x"})
				h.Publish(&Event{Name: "x"})
				s := h.Subscribe(On, "x", r.fn("late"), false)
				if s.Subscribed() {
					r.trace = append(r.trace, "late subscription stays")
				}
			},
			want: []string{"on x early", "complete x", "after x late"},
		},
		{
			name: "publishOnce prevented: late subscriber not called",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete(), PublishOnce: true})
				h.Subscribe(On, "x", r.fn("", (*Event).Prevent), false)
				h.Publish(&Event{Name: "x"})
				h.Subscribe(After, "x", r.fn("late"), false)
			},
			want: []string{"on x"},
		},
		{
			name: "completeOnce: prevented publish may be repeated",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete(), CompleteOnce: true})
				s := h.Subscribe(On, "x", r.fn("", (*Event).Prevent), true)
				h.Publish(&Event{Name: "x"})
				if s.Subscribed() {
					t.Error("once subscription still there")
				}
				h.Subscribe(On, "x", r.fn("2"), false)
				h.Publish(&Event{Name: "x"})
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x", "on x 2", "complete x"},
		},
		{
			name: "completeOnce nested: inner completes, outer stops at complete",
			run: func(h *Hub, r *recorder) {
				h.Define("x", Options{Complete: r.complete(), CompleteOnce: true})
				h.Subscribe(On, "x", r.fn("", func(*Event) { h.Publish(&Event{Name: "x"}) }), true)
				h.Subscribe(After, "x", r.fn(""), false)
				h.Publish(&Event{Name: "x"})
			},
			want: []string{"on x", "complete x", "after x"},
		},
		{
			name: "destroy removes subscribers and stops publishing",
			run: func(h *Hub, r *recorder) {
				h.Define("d", Options{Complete: r.complete(func(*Event) { h.Destroy() }), CompleteOnce: true})
				h.Subscribe(On, "d", r.fn(""), false)
				h.Subscribe(After, "d", r.fn(""), false)
				h.Subscribe(On, "y", r.fn(""), false)
				h.Publish(&Event{Name: "d"})
				h.Publish(&Event{Name: "y"})
				if h.Subscribe(On, "y", r.fn(""), false).Subscribed() {
					t.Error("subscribed after destroy")
				}
			},
			want: []string{"on d", "complete d"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, r := New(), &recorder{}
			tt.run(h, r)
			if !slices.Equal(r.trace, tt.want) {
				t.Errorf("trace\n got %q\nwant %q", r.trace, tt.want)
			}
		})
	}
}

func TestSubscribeComplete(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New().Subscribe(Complete, "x", func(*Event) {}, false)
}
