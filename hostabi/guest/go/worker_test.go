//go:build !wasip1

package isowasm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// reset gives each test a fresh simulated host and no worker.
func reset() {
	fakeHost.workerID, fakeHost.sent, fakeHost.logs = 3, nil, nil
	fakeHost.timers, fakeHost.closed, fakeHost.exited = nil, false, false
	current, exitHooks, timers = nil, nil, map[int32]*Timer{}
}

func sent(t *testing.T) []any {
	t.Helper()
	var out []any
	for _, b := range fakeHost.sent {
		v, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	fakeHost.sent = nil
	return out
}

func msg(t *testing.T, v any) []byte {
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWorkerLifecycle(t *testing.T) {
	reset()
	var trace []string
	w := NewWorker(nil)
	for _, name := range []string{Initialize, InitializeComplete, PrimaryMessage, PrimaryDisconnect, Destroy, DestroyComplete} {
		w.On(name, func(e *Event) { trace = append(trace, "on "+e.Name) })
		w.After(name, func(e *Event) { trace = append(trace, "after "+e.Name) })
	}
	w.After(InitializeComplete, func(*Event) { w.Send("after ready") })
	w.OnType("a", func(e *Event) {
		trace = append(trace, "type a")
		w.Send(Obj("type", "x", "id", w.WorkerID()))
	})

	if s := initialize(); s != 2 {
		t.Fatalf("initialize = %d, want 2 (the SDK says ready itself)", s)
	}
	if got := sent(t); !reflect.DeepEqual(got, []any{"ready", "after ready"}) {
		t.Errorf("sent %#v: ready must precede after-stage sends", got)
	}
	deliver(msg(t, Obj("type", "a")))
	deliver(msg(t, "plain"))
	if got := sent(t); !reflect.DeepEqual(got, []any{Obj("type", "x", "id", 3.0)}) {
		t.Errorf("sent %#v", got)
	}
	disconnected()
	w.Destroy(-1)
	if fakeHost.destroyMS != 6765 {
		t.Errorf("destroy timeout %d ms", fakeHost.destroyMS)
	}
	deliver(msg(t, Obj("type", "a"))) // after destroy: not published
	want := []string{
		"on initialize", "after initialize", "on initializeComplete", "after initializeComplete",
		"on primaryMessage", "type a", "after primaryMessage",
		"on primaryMessage", "after primaryMessage",
		"on primaryDisconnect", "after primaryDisconnect",
		"on destroy", "on destroyComplete", "after destroyComplete",
	}
	if !reflect.DeepEqual(trace, want) {
		t.Errorf("trace\n %q\nwant\n %q", trace, want)
	}
	if err := w.Send("late"); err == nil || !errors.Is(err, ErrChannelClosed) || err.Error() != "Error sending message to primary: Channel closed" {
		t.Errorf("send after destroy: %v", err)
	}
}

func TestInitializeError(t *testing.T) {
	for _, prevent := range []bool{false, true} {
		reset()
		w := NewWorker(func() error { return errors.New("no config") })
		var got error
		w.On(InitializeError, func(e *Event) {
			got = e.Err
			if prevent {
				e.Prevent()
			}
		})
		status := initialize()
		if want := map[bool]int32{false: 1, true: 2}[prevent]; status != want {
			t.Errorf("prevent=%v: status %d, want %d", prevent, status, want)
		}
		if got == nil || got.Error() != "Initialize error: no config" {
			t.Errorf("initializeError carries %v", got)
		}
		if len(sent(t)) != 0 {
			t.Errorf("sent something")
		}
		if !prevent && (len(fakeHost.logs) != 1 || !strings.Contains(fakeHost.logs[0], "Initialize error: no config")) {
			t.Errorf("logs %q", fakeHost.logs)
		}
	}
}

func TestInitializePanicIsInitializeError(t *testing.T) {
	reset()
	w := NewWorker(func() error { panic("no config") })
	var got error
	w.On(InitializeError, func(e *Event) { got = e.Err })
	if status := initialize(); status != 1 || got == nil || got.Error() != "Initialize error: no config" {
		t.Errorf("status %d, initializeError %v", status, got)
	}
}

func TestNoWorkerNoReady(t *testing.T) {
	reset()
	Send("not ready")
	if s := initialize(); s != 2 || len(sent(t)) != 1 {
		t.Errorf("without a worker: status %d", s)
	}
}

func TestTimers(t *testing.T) {
	reset()
	var fired []string
	a := SetTimeout(10, func() { fired = append(fired, "a") })
	b := SetTimeout(0, func() { fired = append(fired, "b") })
	n := 0
	var iv *Timer
	iv = SetInterval(5, func() {
		n++
		if n == 2 {
			ClearTimer(iv)
		}
	})
	if !ClearTimer(b) || ClearTimer(b) {
		t.Errorf("ClearTimer twice")
	}
	hostFires := func(id int32) { // as the host does: forget, then call
		delete(fakeHost.timers, id)
		fire(id)
	}
	hostFires(a.id)
	hostFires(a.id) // once only
	for range 3 {
		hostFires(iv.id)
	}
	if !reflect.DeepEqual(fired, []string{"a"}) || n != 2 {
		t.Errorf("fired %v, interval ran %d times", fired, n)
	}
	if len(fakeHost.timers) != 0 {
		t.Errorf("host timers left: %v", fakeHost.timers)
	}
}

func TestPanicExits1(t *testing.T) {
	reset()
	w := NewWorker(nil)
	w.OnType("boom", func(*Event) { panic("on purpose") })
	OnExit(func(code int) { w.Send(Obj("exit", code)) })
	func() {
		defer func() { recover() }() // the simulated proc_exit
		defer guard()
		deliver(msg(t, Obj("type", "boom")))
	}()
	if !fakeHost.exited || fakeHost.exitCode != 1 {
		t.Errorf("exited %v with %d", fakeHost.exited, fakeHost.exitCode)
	}
	if len(fakeHost.logs) != 1 || !strings.HasPrefix(fakeHost.logs[0], "panic: on purpose\n") {
		t.Errorf("logs %q", fakeHost.logs)
	}
	if got := sent(t); !reflect.DeepEqual(got, []any{Obj("exit", 1.0)}) {
		t.Errorf("exit hooks sent %#v", got)
	}
}
