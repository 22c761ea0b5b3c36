package engine_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isowasm/isowasm/engine"
)

// allEvents are the primary's events, recorded by every harness.
var allEvents = []string{
	"fork", "workerFork", "workerOnline", "workerMessage", "workerReady", "addWorker",
	"removeWorker", "workerListening", "workerError", "workerExit", "workerDisconnect",
	"shutDown", "shutDownComplete", "destroy", "destroyComplete",
	"workerRestart", "workerGiveUp",
}

// guard bounds every wait: a failure guard, never a synchronisation.
const guard = 20 * time.Second

// harness runs a primary whose on/after handlers record a trace
// ("on workerFork w1") and every event, and lets a test wait for either.
type harness struct {
	t *testing.T
	p *engine.Primary

	mu      sync.Mutex
	trace   []string
	events  []*engine.Event // on stage only
	changed chan struct{}
}

// start makes a primary whose workers run fakeWorker(mode…).
func start(t *testing.T, cfg engine.Config, mode ...string) *harness {
	t.Helper()
	if cfg.Executable == "" {
		cfg.Executable = os.Args[0]
	}
	if len(mode) > 0 {
		cfg.WorkerScript = mode[0]
		cfg.WorkerArgs = append(mode[1:len(mode):len(mode)], cfg.WorkerArgs...)
	} else if cfg.WorkerScript == "" {
		cfg.WorkerScript = "ready-echo"
	}
	cfg.Env = append(cfg.Env, workerGORACE())
	p, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, p: p, changed: make(chan struct{})}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	h.do(func() {
		for _, name := range allEvents {
			p.On(name, func(e *engine.Event) { h.record("on", e) })
			p.After(name, func(e *engine.Event) { h.record("after", e) })
		}
	})
	return h
}

func (h *harness) record(stage string, e *engine.Event) {
	s := stage + " " + e.Name
	if e.Worker != nil {
		s += fmt.Sprintf(" w%d", e.Worker.ID())
	}
	h.mu.Lock()
	h.trace = append(h.trace, s)
	if stage == "on" {
		h.events = append(h.events, e)
	}
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// workerGORACE spares race-enabled fake workers the race runtime's 1 s
// sleep at exit.
func workerGORACE() string {
	return strings.TrimSpace("GORACE=" + os.Getenv("GORACE") + " atexit_sleep_ms=0")
}

// do runs fn on the primary's loop.
func (h *harness) do(fn func()) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := h.p.Do(ctx, fn); err != nil {
		h.t.Fatal(err)
	}
}

// waitTrace waits until the trace holds want (count times, default once).
func (h *harness) waitTrace(want string, count ...int) {
	h.t.Helper()
	n := 1
	if len(count) > 0 {
		n = count[0]
	}
	h.waitFor(want, func(trace []string, _ []*engine.Event) bool {
		c := 0
		for _, s := range trace {
			if s == want {
				c++
			}
		}
		return c >= n
	})
}

// waitEvent waits for an event named name for which match holds (nil: any)
// and returns the first.
func (h *harness) waitEvent(name string, match func(*engine.Event) bool) *engine.Event {
	h.t.Helper()
	var found *engine.Event
	h.waitFor(name, func(_ []string, events []*engine.Event) bool {
		for _, e := range events {
			if e.Name == name && (match == nil || match(e)) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// waitKilled waits for the workerExit of worker id and checks the primary
// killed it (SIGKILL), as it does after a protocol, heartbeat, memory or
// ready-timeout failure.
func (h *harness) waitKilled(id int) {
	h.t.Helper()
	exit := h.waitEvent("workerExit", nil)
	if exit.Worker.ID() != id || exit.Signal != "SIGKILL" {
		h.t.Errorf("exit of w%d: %d %q, want w%d killed by SIGKILL", exit.Worker.ID(), exit.Code, exit.Signal, id)
	}
}

func (h *harness) waitFor(what string, cond func([]string, []*engine.Event) bool) {
	h.t.Helper()
	timeout := time.After(guard)
	for {
		h.mu.Lock()
		ok := cond(h.trace, h.events)
		changed := h.changed
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			h.t.Fatalf("timed out waiting for %s; trace:\n%s", what, strings.Join(h.snapshot(), "\n"))
		}
	}
}

func (h *harness) snapshot() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.trace)
}

// messages returns the workerMessage payloads from worker id, in order.
func (h *harness) messages(id int) []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return messagesFrom(h.events, id)
}

func messagesFrom(events []*engine.Event, id int) []any {
	var out []any
	for _, e := range events {
		if e.Name == "workerMessage" && e.Worker.ID() == id {
			out = append(out, e.Message)
		}
	}
	return out
}

// waitMessages waits until worker id has sent n messages.
func (h *harness) waitMessages(id, n int) []any {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d messages from w%d", n, id), func(_ []string, events []*engine.Event) bool {
		return len(messagesFrom(events, id)) >= n
	})
	return h.messages(id)
}

// workerIDs lists the ready workers' ids.
func (h *harness) workerIDs() []int {
	var ids []int
	h.do(func() {
		for _, w := range h.p.Workers() {
			ids = append(ids, w.ID())
		}
	})
	return ids
}

func (h *harness) worker(id int) *engine.Worker {
	var w *engine.Worker
	h.do(func() { w = h.p.WorkerByID(id) })
	if w == nil {
		h.t.Fatalf("no ready worker %d", id)
	}
	return w
}

// send sends on the loop and waits for the delivery.
func (h *harness) send(msg any, to ...any) (*engine.Delivery, error) {
	h.t.Helper()
	var d *engine.Delivery
	h.do(func() { d = h.p.Send(msg, to...) })
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	err := d.Wait(ctx)
	if ctx.Err() != nil {
		h.t.Fatal("send did not settle")
	}
	return d, err
}

// lockedBuffer is a writer the tests can read while the primary writes, and
// wait on.
type lockedBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{})} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *lockedBuffer) waitFor(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(guard)
	for {
		l.mu.Lock()
		s, changed := l.b.String(), l.changed
		l.mu.Unlock()
		if strings.Contains(s, want) {
			return s
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out waiting for %q in %q", want, s)
		}
	}
}
