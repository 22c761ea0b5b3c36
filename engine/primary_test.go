package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/hostabi/frame"
)

func TestLifecycleOrder(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after workerReady w1")
	var w *engine.Worker
	h.do(func() {
		w = h.p.WorkerByID(1)
		if err := h.p.ShutDown(); err != nil {
			t.Error(err)
		}
	})
	h.waitTrace("after workerExit w1")
	want := []string{
		"on fork", "after fork",
		"on workerFork w1", "after workerFork w1",
		"on workerOnline w1", "after workerOnline w1",
		"on workerMessage w1", "after workerMessage w1",
		"on workerReady w1", "on addWorker w1", "after addWorker w1", "after workerReady w1",
		"on shutDown", "after shutDown",
		"on workerDisconnect w1", "on removeWorker w1", "after removeWorker w1", "after workerDisconnect w1",
		// Node: the second of disconnect/exit removes the last worker, which
		// calls cluster.disconnect's callback before the exit is published.
		"on shutDownComplete", "after shutDownComplete",
		"on workerExit w1", "after workerExit w1",
	}
	if got := h.snapshot(); !slices.Equal(got, want) {
		t.Errorf("trace\n got %q\nwant %q", got, want)
	}
	if got := h.messages(1); !reflect.DeepEqual(got, []any{"ready"}) {
		t.Errorf("messages %v", got)
	}
	exit := h.waitEvent("workerExit", nil)
	if exit.Code != 0 || exit.Signal != "" {
		t.Errorf("exit %d %q", exit.Code, exit.Signal)
	}
	h.do(func() {
		if !w.ExitedAfterDisconnect() || !w.IsDead() || w.IsConnected() || w.State() != "dead" {
			t.Errorf("worker after shutdown: exitedAfterDisconnect %v dead %v connected %v state %s",
				w.ExitedAfterDisconnect(), w.IsDead(), w.IsConnected(), w.State())
		}
		if w.PID() <= 0 {
			t.Errorf("pid %d", w.PID())
		}
	})
}

func TestIDsWorkersAndKillReplacement(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() { h.p.Fork(3) })
	for id := 1; id <= 3; id++ {
		h.waitTrace(fmt.Sprintf("after addWorker w%d", id))
	}
	if got := h.workerIDs(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("workers %v", got)
	}
	h.do(func() {
		if w := h.p.WorkerByID(4); w != nil {
			t.Error("worker 4 exists")
		}
		if err := h.p.WorkerByID(2).Kill(syscall.SIGKILL); err != nil {
			t.Error(err)
		}
	})
	exit := h.waitEvent("workerExit", nil)
	if exit.Worker.ID() != 2 || exit.Code != -1 || exit.Signal != "SIGKILL" {
		t.Errorf("exit of w%d: %d %q", exit.Worker.ID(), exit.Code, exit.Signal)
	}
	h.waitTrace("after addWorker w4")
	if got := h.workerIDs(); !slices.Equal(got, []int{1, 3, 4}) {
		t.Errorf("workers after replacement %v", got)
	}
	// The replacement is forked in workerExit's complete stage.
	tr := h.snapshot()
	i := slices.Index(tr, "on workerExit w2")
	if i < 0 || !slices.Equal(tr[i:i+4], []string{"on workerExit w2", "on fork", "after fork", "after workerExit w2"}) {
		t.Errorf("replacement not nested in workerExit: %q", tr[i:])
	}
	h.do(func() {
		if err := h.p.WorkerByID(3).Destroy(); err != nil { // SIGTERM
			t.Error(err)
		}
	})
	exit = h.waitEvent("workerExit", func(e *engine.Event) bool { return e.Worker.ID() == 3 })
	if exit.Signal != "SIGTERM" {
		t.Errorf("destroy: signal %q", exit.Signal)
	}
	h.waitTrace("after addWorker w5")
}

func TestExitAndVoluntaryLeave(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after addWorker w1")
	w1 := h.worker(1)
	if _, err := h.send(map[string]any{"cmd": "exit", "code": 3}, w1); err != nil {
		t.Fatal(err)
	}
	exit := h.waitEvent("workerExit", nil)
	if exit.Code != 3 || exit.Signal != "" {
		t.Errorf("exit %d %q", exit.Code, exit.Signal)
	}
	h.do(func() {
		if w1.ExitedAfterDisconnect() {
			t.Error("exit 3 counted as voluntary")
		}
	})
	h.waitTrace("after addWorker w2")
	w2 := h.worker(2)
	if _, err := h.send(map[string]any{"cmd": "leave"}, 2); err != nil {
		t.Fatal(err)
	}
	exit = h.waitEvent("workerExit", func(e *engine.Event) bool { return e.Worker.ID() == 2 })
	if exit.Code != 0 {
		t.Errorf("leave: exit %d %q", exit.Code, exit.Signal)
	}
	h.do(func() {
		if !w2.ExitedAfterDisconnect() {
			t.Error("leave not voluntary")
		}
	})
	h.waitTrace("after addWorker w3")

	// A primary-initiated disconnect: voluntary too, and replaced.
	h.do(func() { h.p.WorkerByID(3).Disconnect() })
	h.waitTrace("after workerExit w3")
	h.waitTrace("after addWorker w4")
	tr := h.snapshot()
	i := slices.Index(tr, "on workerDisconnect w3")
	if i < 0 || !slices.Equal(tr[i:i+4], []string{"on workerDisconnect w3", "on removeWorker w3", "after removeWorker w3", "after workerDisconnect w3"}) {
		t.Errorf("disconnect of w3: %q", tr[i:])
	}
}

func TestSend(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() { h.p.Fork(2) })
	h.waitTrace("after addWorker w1")
	h.waitTrace("after addWorker w2")
	w1, w2 := h.worker(1), h.worker(2)

	type sent struct {
		to   []any
		n    int
		want [2][]any // what w1 and w2 echo, after 'ready'
	}
	for i, tt := range []sent{
		{to: []any{w1}, n: 1, want: [2][]any{{"a"}}},
		{to: []any{2}, n: 1, want: [2][]any{nil, {"b"}}},
		{to: nil, n: 2, want: [2][]any{{"c"}, {"c"}}},                          // default: every ready worker
		{to: []any{[]any{w1, 2, w1}}, n: 3, want: [2][]any{{"d", "d"}, {"d"}}}, // mixed, duplicates
		{to: []any{[]*engine.Worker{w2}}, n: 1, want: [2][]any{nil, {"e"}}},    // a []*Worker
		{to: []any{float64(1)}, n: 1, want: [2][]any{{"f"}}},                   // a JS number
		{to: []any{[]any{}}, n: 0},                                             // empty list: nothing, fine
	} {
		msg := string(rune('a' + i))
		before1, before2 := len(h.messages(1)), len(h.messages(2))
		d, err := h.send(msg, tt.to...)
		if err != nil {
			t.Fatalf("send %q to %v: %v", msg, tt.to, err)
		}
		if d.Len() != tt.n {
			t.Errorf("send %q: Len %d, want %d", msg, d.Len(), tt.n)
		}
		got1 := h.waitMessages(1, before1+len(tt.want[0]))[before1:]
		got2 := h.waitMessages(2, before2+len(tt.want[1]))[before2:]
		if len(got1) != len(tt.want[0]) || len(got2) != len(tt.want[1]) {
			t.Errorf("send %q to %v: echoes %v %v, want %v", msg, tt.to, got1, got2, tt.want)
		}
	}

	// Invalid destinations: 'Invalid message destination', valid ones still sent.
	for _, to := range []any{-0.123, nil, "1", 999, 0, map[string]any{}, 1.5} {
		_, err := h.send("x", to)
		var de *engine.DestinationError
		if !errors.As(err, &de) || !errors.Is(err, engine.ErrInvalidDestination) || de.Message != "x" || !reflect.DeepEqual(de.To, to) {
			t.Errorf("send to %#v: %v", to, err)
		}
	}
	before := len(h.messages(2))
	if _, err := h.send("valid-too", []any{7, w2}); !errors.Is(err, engine.ErrInvalidDestination) {
		t.Errorf("mixed invalid: %v", err)
	}
	if got := h.waitMessages(2, before+1)[before]; got != "valid-too" {
		t.Errorf("valid destination beside an invalid one got %v", got)
	}

	// Raw CBOR passes through as is; structured messages decode as maps.
	raw, _ := frame.Marshal(map[string]any{"k": []any{1, "two"}})
	before = len(h.messages(1))
	if _, err := h.send(cbor.RawMessage(raw), w1); err != nil {
		t.Fatal(err)
	}
	got := h.waitMessages(1, before+1)[before]
	if !reflect.DeepEqual(got, map[string]any{"k": []any{int64(1), "two"}}) {
		t.Errorf("round trip %#v", got)
	}
	e := h.waitEvent("workerMessage", func(e *engine.Event) bool {
		m, ok := e.Message.(map[string]any)
		return ok && m["k"] != nil
	})
	if string(e.Raw) != string(raw) {
		t.Errorf("raw %x, want %x", e.Raw, raw)
	}

	// Then runs on the loop, after the delivery settles.
	done := make(chan error, 1)
	h.do(func() {
		h.p.Send("then", w1).Then(func(err error) {
			_ = h.p.Workers() // loop-only: the race detector would see it off the loop
			done <- err
		})
	})
	if err := <-done; err != nil {
		t.Error(err)
	}

	// A worker object that has exited: 'Error sending message to worker'
	// caused by 'Channel closed'; by its id: invalid destination.
	if _, err := h.send(map[string]any{"cmd": "exit", "code": 0}, w1); err != nil {
		t.Fatal(err)
	}
	h.waitTrace("after workerExit w1")
	_, err := h.send("late", w1)
	var se *engine.SendError
	if !errors.As(err, &se) || se.WorkerID != 1 || !errors.Is(err, engine.ErrChannelClosed) || se.Message != "late" {
		t.Errorf("send to exited worker: %v", err)
	}
	if _, err := h.send("late", 1); !errors.Is(err, engine.ErrInvalidDestination) {
		t.Errorf("send to exited worker's id: %v", err)
	}
	var ws *engine.Delivery
	h.do(func() { ws = w1.Send("late") })
	if err := ws.Wait(context.Background()); !errors.Is(err, engine.ErrChannelClosed) {
		t.Errorf("Worker.Send to exited worker: %v", err)
	}
}

func TestSendNoneReady(t *testing.T) {
	h := start(t, engine.Config{}, "idle")
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after workerOnline w1")
	d, err := h.send("nobody")
	if err != nil || d.Len() != 0 {
		t.Errorf("broadcast with none ready: %d, %v", d.Len(), err)
	}
	if _, err := h.send("x", 1); !errors.Is(err, engine.ErrInvalidDestination) {
		t.Errorf("send to an online, not ready worker by id: %v", err)
	}
}

func TestOversizeSend(t *testing.T) {
	h := start(t, engine.Config{MaxFrameSize: 1024})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after addWorker w1")
	_, err := h.send(strings.Repeat("x", 2048), 1)
	if !errors.Is(err, frame.ErrTooLarge) {
		t.Errorf("oversize send: %v", err)
	}
	if _, err := h.send("small", 1); err != nil {
		t.Fatal(err)
	}
	if got := h.waitMessages(1, 2)[1]; got != "small" {
		t.Errorf("after an oversize send: %v", got)
	}
}

func TestShutDownOnceAndNoForkAfter(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() { h.p.Fork(2) })
	h.waitTrace("after addWorker w1")
	h.waitTrace("after addWorker w2")
	h.do(func() {
		_ = h.p.ShutDown()
		_ = h.p.ShutDown()
		h.p.Fork(1)
		if h.p.Active() {
			t.Error("active after shutDown")
		}
	})
	h.waitTrace("after workerExit w1")
	h.waitTrace("after workerExit w2")
	h.waitTrace("after shutDownComplete")
	tr := h.snapshot()
	count := func(s string) int {
		n := 0
		for _, x := range tr {
			if x == s {
				n++
			}
		}
		return n
	}
	if count("on shutDown") != 1 || count("on shutDownComplete") != 1 || count("on fork") != 1 {
		t.Errorf("trace %q", tr)
	}
	for _, s := range tr {
		if strings.Contains(s, "w3") {
			t.Errorf("forked after shutDown: %q", tr)
		}
	}
	// A late subscriber to shutDownComplete is called at once.
	called := false
	h.do(func() { h.p.After("shutDownComplete", func(*engine.Event) { called = true }) })
	if !called {
		t.Error("late shutDownComplete subscriber not called")
	}
}

func TestShutDownInWorkerExitPreventsReplacement(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() {
		h.p.On("workerExit", func(*engine.Event) { _ = h.p.ShutDown() })
		h.p.Fork(1)
	})
	h.waitTrace("after addWorker w1")
	if _, err := h.send(map[string]any{"cmd": "exit", "code": 0}, 1); err != nil {
		t.Fatal(err)
	}
	h.waitTrace("after shutDownComplete")
	h.waitTrace("after workerExit w1")
	if tr := h.snapshot(); slices.Contains(tr, "on workerFork w2") || slices.Contains(tr[slices.Index(tr, "on fork")+1:], "on fork") {
		t.Errorf("replaced after shutDown: %q", tr)
	}
}

func TestDestroy(t *testing.T) {
	t.Run("active", func(t *testing.T) {
		h := start(t, engine.Config{})
		h.do(func() { h.p.Fork(1) })
		h.waitTrace("after addWorker w1")
		h.do(h.p.Destroy)
		<-h.p.Done()
		tr := h.snapshot()
		want := []string{"on destroy", "on shutDown", "after shutDown", "after destroy",
			"on workerDisconnect w1", "on removeWorker w1", "after removeWorker w1", "after workerDisconnect w1",
			"on shutDownComplete", "after shutDownComplete", "on destroyComplete", "after destroyComplete"}
		if got := tr[slices.Index(tr, "on destroy"):]; !slices.Equal(got, want) {
			t.Errorf("trace\n got %q\nwant %q", got, want)
		}
		h.do(func() {
			if _, err := h.p.RoundRobin(""); !errors.Is(err, engine.ErrDestroyed) {
				t.Errorf("RoundRobin after destroy: %v", err)
			}
			if err := h.p.ShutDown(); !errors.Is(err, engine.ErrDestroyed) {
				t.Errorf("ShutDown after destroy: %v", err)
			}
			h.p.Fork(1)
			h.p.Destroy()
			if !h.p.Destroyed() {
				t.Error("not destroyed")
			}
		})
		if got := h.snapshot(); len(got) != len(tr) {
			t.Errorf("events after destroy: %q", got[len(tr):])
		}
	})
	t.Run("shut down", func(t *testing.T) {
		h := start(t, engine.Config{})
		h.do(func() { _ = h.p.ShutDown() })
		h.waitTrace("after shutDownComplete")
		h.do(h.p.Destroy)
		<-h.p.Done()
		// As traced on Node (05): no "after destroy", since destroying removes
		// the subscribers inside destroy's complete stage.
		want := []string{"on shutDown", "after shutDown", "on shutDownComplete", "after shutDownComplete",
			"on destroy", "on destroyComplete", "after destroyComplete"}
		if got := h.snapshot(); !slices.Equal(got, want) {
			t.Errorf("trace\n got %q\nwant %q", got, want)
		}
	})
}

func TestHostileWorkers(t *testing.T) {
	for _, mode := range []string{"garbage", "oversize", "truncated", "wrong-cookie", "never-hello"} {
		t.Run(mode, func(t *testing.T) {
			h := start(t, engine.Config{HelloTimeout: 300 * 1e6, MaxFrameSize: 1 << 20}, mode, "1")
			h.do(func() { h.p.Fork(1) })
			e := h.waitEvent("workerError", nil)
			var we *engine.WorkerError
			if !errors.Is(e.Error, engine.ErrProtocol) || !errors.As(e.Error, &we) || we.WorkerID != 1 {
				t.Errorf("workerError %v", e.Error)
			}
			t.Log(e.Error)
			h.waitKilled(1)
			h.waitTrace("after addWorker w2") // the primary lives on and replaces it
			online := slices.Contains(h.snapshot(), "on workerOnline w1")
			if wantOnline := mode != "wrong-cookie" && mode != "never-hello"; online != wantOnline {
				t.Errorf("w1 online: %v", online)
			}
		})
	}
}

func TestEmitError(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after addWorker w1")
	boom := errors.New("boom")
	h.do(func() { h.p.WorkerByID(1).EmitError(boom) })
	tr := h.snapshot()
	want := []string{"on workerError w1", "on removeWorker w1", "after removeWorker w1", "after workerError w1"}
	if got := tr[len(tr)-4:]; !slices.Equal(got, want) {
		t.Errorf("trace %q", got)
	}
	e := h.waitEvent("workerError", nil)
	if !errors.Is(e.Error, boom) {
		t.Errorf("error %v", e.Error)
	}
	if ids := h.workerIDs(); len(ids) != 0 {
		t.Errorf("workers %v", ids)
	}
}

func TestTypeRouting(t *testing.T) {
	h := start(t, engine.Config{})
	routed := make(chan any, 10)
	h.do(func() {
		h.p.HandleType("x", func(e *engine.Event) { routed <- e.Message })
		h.p.HandleType("5", func(e *engine.Event) { routed <- e.Message })
		h.p.On("workerMessage", func(e *engine.Event) {
			if m, ok := e.Message.(map[string]any); ok && m["prevent"] == true {
				e.Prevent()
			}
		})
		h.p.Fork(1)
	})
	h.waitTrace("after addWorker w1")
	for _, msg := range []any{
		"x",
		map[string]any{"type": "y"},
		map[string]any{"type": "x", "prevent": true},
		map[string]any{"type": "x", "n": 1},
		map[string]any{"type": 5},
	} {
		if _, err := h.send(msg, 1); err != nil {
			t.Fatal(err)
		}
	}
	h.waitMessages(1, 6)
	close(routed)
	var got []any
	for m := range routed {
		got = append(got, m)
	}
	want := []any{map[string]any{"type": "x", "n": int64(1)}, map[string]any{"type": int64(5)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routed %v, want %v", got, want)
	}
}

func TestListeningArgvEnv(t *testing.T) {
	h := start(t, engine.Config{Env: []string{"FAKE_EXTRA=hello"}, WorkerArgs: []string{"--a", "b"}})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after addWorker w1")
	if _, err := h.send(map[string]any{"cmd": "listen"}, 1); err != nil {
		t.Fatal(err)
	}
	e := h.waitEvent("workerListening", nil)
	if *e.Address != (frame.Listening{Address: "127.0.0.1", Port: 8080, AddressType: 4}) {
		t.Errorf("address %+v", e.Address)
	}
	h.do(func() {
		if s := h.p.WorkerByID(1).State(); s != "listening" {
			t.Errorf("state %s", s)
		}
	})
	if _, err := h.send(map[string]any{"cmd": "argv"}, 1); err != nil {
		t.Fatal(err)
	}
	got := h.waitMessages(1, 2)[1].(map[string]any)
	want := map[string]any{"argv": []any{os.Args[0], "ready-echo", "--a", "b"}, "extra": "hello", "fd": "3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("worker sees %v, want %v", got, want)
	}
}

func TestSilent(t *testing.T) {
	out, errOut := newLockedBuffer(), newLockedBuffer()
	h := start(t, engine.Config{Silent: true, Stdout: out, Stderr: errOut})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after addWorker w1")
	if _, err := h.send(map[string]any{"cmd": "print"}, 1); err != nil {
		t.Fatal(err)
	}
	if s := out.waitFor(t, "out line 2\n"); s != "out line 1\nout line 2\n" {
		t.Errorf("stdout %q", s)
	}
	if s := errOut.waitFor(t, "err line\n"); s != "err line\n" {
		t.Errorf("stderr %q", s)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []engine.Config{
		{Executable: "/nonexistent/isowasm"},
		{Executable: os.TempDir()},
		{Executable: os.Args[0], MaxFrameSize: -1},
		{Executable: os.Args[0], HelloTimeout: -1},
		{Executable: os.Args[0], ReadyTimeout: -1},
		{Executable: os.Args[0], HeartbeatInterval: -1},
		{Executable: os.Args[0], MaxRSS: -1},
		{Executable: os.Args[0], MaxQueued: -1},
		{Executable: os.Args[0], Restart: engine.RestartPolicy{MaxRestarts: -1}},
		{Executable: os.Args[0], Restart: engine.RestartPolicy{Backoff: -1}},
	} {
		if _, err := engine.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "engine: ") {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

// BenchmarkRoundTrip measures a message to a worker and its echo back,
// without and with heartbeats (the CLI's default interval, and a very
// short one to show their cost).
func BenchmarkRoundTrip(b *testing.B) {
	for _, hb := range []time.Duration{0, time.Second, time.Millisecond} {
		b.Run("heartbeat="+hb.String(), func(b *testing.B) {
			benchmarkRoundTrip(b, engine.Config{HeartbeatInterval: hb})
		})
	}
}

func benchmarkRoundTrip(b *testing.B, cfg engine.Config) {
	cfg.Executable, cfg.WorkerScript, cfg.Env = os.Args[0], "ready-echo", []string{workerGORACE()}
	p, err := engine.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx := context.Background()
	echoes := make(chan struct{}, 1)
	_ = p.Do(ctx, func() {
		p.On("workerMessage", func(*engine.Event) { echoes <- struct{}{} })
		p.Fork(1)
	})
	<-echoes // 'ready'
	msg := map[string]any{"n": 1, "s": "payload"}
	for b.Loop() {
		_ = p.Do(ctx, func() { p.Send(msg, 1) })
		<-echoes
	}
}

func TestPrimaryProcs(t *testing.T) {
	for _, tt := range []struct{ cpus, want int }{{1, 1}, {2, 1}, {4, 1}, {8, 2}, {16, 4}, {64, 16}} {
		if got := engine.PrimaryProcs(tt.cpus); got != tt.want {
			t.Errorf("PrimaryProcs(%d) = %d, want %d", tt.cpus, got, tt.want)
		}
	}
}
