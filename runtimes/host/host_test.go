package host

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/isowasm/isowasm/hostabi/frame"
)

type recorder struct {
	messages chan []byte
	requests chan struct{}
	closed   chan error
}

func newRecorder() *recorder {
	return &recorder{messages: make(chan []byte, 8), requests: make(chan struct{}, 8), closed: make(chan error, 1)}
}

func (r *recorder) Message(p []byte)   { r.messages <- p }
func (r *recorder) DisconnectRequest() { r.requests <- struct{}{} }
func (r *recorder) Closed(err error)   { r.closed <- err }

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

// pair returns a worker channel and the primary's end of the socket, with
// the worker's Hello already read and checked.
func pair(t *testing.T) (*Channel, *frame.Reader, *frame.Writer, net.Conn) {
	t.Helper()
	workerEnd, primaryEnd := net.Pipe()
	t.Cleanup(func() { primaryEnd.Close() })
	r := frame.NewReader(primaryEnd, 0)
	type result struct {
		c   *Channel
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := New(Config{WorkerID: 4, Cookie: "secret"}, workerEnd, "test")
		done <- result{c, err}
	}()
	f, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	var h frame.Hello
	if f.Type != frame.TypeHello || f.Decode(&h) != nil || h.Cookie != "secret" || h.WorkerID != 4 || h.Version != frame.Version {
		t.Fatalf("bad hello: %+v %+v", f, h)
	}
	res := wait(t, done)
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.c, r, frame.NewWriter(primaryEnd, 0), primaryEnd
}

func TestMessagesBothWays(t *testing.T) {
	c, r, w, _ := pair(t)
	rec := newRecorder()
	c.Start(rec)

	payload, _ := frame.Marshal("ready")
	go func() { _ = c.Send(payload) }()
	f, err := r.Read()
	if err != nil || f.Type != frame.TypeMessage || string(f.Body) != string(payload) {
		t.Fatalf("primary read %+v, %v", f, err)
	}

	if err := w.Write(frame.Message(payload)); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, rec.messages); string(got) != string(payload) {
		t.Fatalf("worker got %x", got)
	}
	if err := w.Write(frame.Frame{Type: frame.TypeDisconnect}); err != nil {
		t.Fatal(err)
	}
	wait(t, rec.requests)
	c.Close()
	if err := wait(t, rec.closed); err != nil {
		t.Fatalf("orderly close reported %v", err)
	}
	if err := c.Send(payload); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

func TestPrimaryGoneClosesChannel(t *testing.T) {
	c, _, _, primaryEnd := pair(t)
	rec := newRecorder()
	c.Start(rec)
	primaryEnd.Close()
	if err := wait(t, rec.closed); err != nil {
		t.Fatalf("EOF reported as %v", err)
	}
	if c.Connected() {
		t.Fatal("still connected after the primary left")
	}
}

func TestGarbageFromPrimaryBreaksChannel(t *testing.T) {
	c, _, _, primaryEnd := pair(t)
	rec := newRecorder()
	c.Start(rec)
	go primaryEnd.Write([]byte{0, 0, 0, 2, 0xff, 0xff})
	if err := wait(t, rec.closed); !errors.Is(err, frame.ErrMalformed) {
		t.Fatalf("closed with %v, want ErrMalformed", err)
	}
}

func TestVoluntaryDisconnectTellsPrimary(t *testing.T) {
	c, r, _, _ := pair(t)
	rec := newRecorder()
	c.Start(rec)
	go c.Disconnect(true)
	f, err := r.Read()
	if err != nil || f.Type != frame.TypeExitedAfterDisconnect {
		t.Fatalf("primary read %+v, %v", f, err)
	}
	wait(t, rec.closed)
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if _, ok, _ := FromEnv(get); ok {
		t.Fatal("not a worker without the id")
	}
	env["ISOWASM_WORKER_ID"] = "x"
	if _, ok, err := FromEnv(get); !ok || err == nil {
		t.Fatal("bad id accepted")
	}
	env["ISOWASM_WORKER_ID"] = "7"
	env["ISOWASM_COOKIE"] = "c"
	cfg, ok, err := FromEnv(get)
	if !ok || err != nil || cfg.WorkerID != 7 || cfg.Cookie != "c" || cfg.FD != 3 {
		t.Fatalf("cfg %+v ok %v err %v", cfg, ok, err)
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg")
	tests := []struct{ dir, sub, want string }{
		{"", "wasm", "/tmp/xdg/isowasm/wasm"},
		{"", "", "/tmp/xdg/isowasm"},
		{"off", "wasm", ""},
		{"/elsewhere", "wasm", "/elsewhere"},
	}
	for _, tt := range tests {
		if got := CacheDir(tt.dir, tt.sub); got != tt.want {
			t.Errorf("CacheDir(%q, %q) = %q, want %q", tt.dir, tt.sub, got, tt.want)
		}
	}
}

// TestCork: corked sends return without writing (on a net.Pipe a write
// waits for its reader, and nobody reads yet), Uncork writes them in
// order, and Close writes what a cork still holds before closing.
func TestCork(t *testing.T) {
	c, r, _, _ := pair(t)
	c.Cork()
	sent := make(chan error, 1)
	go func() {
		var err error
		for _, p := range [][]byte{{0x01}, {0x02}, {0x03}} {
			err = errors.Join(err, c.Send(p))
		}
		sent <- err
	}()
	if err := wait(t, sent); err != nil {
		t.Fatal(err)
	}
	uncorked := make(chan error, 1)
	go func() { uncorked <- c.Uncork() }()
	for want := byte(1); want <= 3; want++ {
		f, err := r.Read()
		if err != nil || f.Type != frame.TypeMessage || len(f.Body) != 1 || f.Body[0] != want {
			t.Fatalf("frame %+v, %v; want message %d", f, err, want)
		}
	}
	if err := wait(t, uncorked); err != nil {
		t.Fatal(err)
	}

	c.Cork()
	if err := c.Send([]byte{0x04}); err != nil {
		t.Fatal(err)
	}
	go c.Close()
	if f, err := r.Read(); err != nil || len(f.Body) != 1 || f.Body[0] != 4 {
		t.Fatalf("after Close: frame %+v, %v; want the held message 4", f, err)
	}
	if _, err := r.Read(); err == nil {
		t.Fatal("the channel stayed open after Close")
	}
}
