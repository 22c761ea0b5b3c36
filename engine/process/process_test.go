package process_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/engine/process"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// guard bounds every wait: a failure guard, never a synchronisation.
const guard = 20 * time.Second

// recorder records what a process's handlers are told, in order, and fails
// the test if two handlers of the process ever run at once.
type recorder struct {
	t      *testing.T
	inside atomic.Bool

	mu      sync.Mutex
	events  []string
	msgs    []any
	errs    []error
	changed chan struct{}
	refuse  bool // Message refuses every payload
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, changed: make(chan struct{})}
}

func (r *recorder) add(ev string, fn func()) {
	if !r.inside.CompareAndSwap(false, true) {
		r.t.Errorf("handler %s called while another runs", ev)
	}
	defer r.inside.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if fn != nil {
		fn()
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) handlers() process.Handlers {
	return process.Handlers{
		Online: func() { r.add("online", nil) },
		Message: func(p []byte) error {
			if r.refuse {
				return errors.New("refused")
			}
			var v any
			if err := frame.Unmarshal(p, &v); err != nil {
				return err
			}
			r.add("message", func() { r.msgs = append(r.msgs, v) })
			return nil
		},
		Listening: func(l frame.Listening) {
			r.add(fmt.Sprintf("listening %q %d %d", l.Address, l.Port, l.AddressType), nil)
		},
		ExitedAfterDisconnect: func() { r.add("exitedAfterDisconnect", nil) },
		Problem:               func(p frame.Problem) { r.add("problem "+p.Code+" "+p.Message, nil) },
		ProtocolError: func(err error) {
			r.add("protocolError", func() { r.errs = append(r.errs, err) })
		},
		Disconnect: func() { r.add("disconnect", nil) },
		Exit: func(code int, signal string) {
			r.add(fmt.Sprintf("exit %d %s", code, signal), nil)
		},
		Stdout: func(line []byte) { r.add("stdout "+strings.TrimSuffix(string(line), "\n"), nil) },
		Stderr: func(line []byte) { r.add("stderr "+strings.TrimSuffix(string(line), "\n"), nil) },
	}
}

// wait waits until an event starting with prefix is recorded and returns
// the events so far.
func (r *recorder) wait(prefix string) []string {
	r.t.Helper()
	timeout := time.After(guard)
	for {
		r.mu.Lock()
		events, changed := slices.Clone(r.events), r.changed
		r.mu.Unlock()
		for _, e := range events {
			if strings.HasPrefix(e, prefix) {
				return events
			}
		}
		select {
		case <-changed:
		case <-timeout:
			r.t.Fatalf("timed out waiting for %q; events %q", prefix, events)
		}
	}
}

// waitMessages waits until n messages are recorded.
func (r *recorder) waitMessages(n int) {
	r.t.Helper()
	timeout := time.After(guard)
	for {
		r.mu.Lock()
		got, changed := len(r.msgs), r.changed
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			r.t.Fatalf("timed out waiting for %d messages", n)
		}
	}
}

func (r *recorder) messages() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// newGroup makes a group running this test binary, closed at cleanup.
func newGroup(t *testing.T, cfg process.Config) *process.Group {
	t.Helper()
	if cfg.Executable == "" {
		cfg.Executable = os.Args[0]
	}
	cfg.Env = append(cfg.Env, strings.TrimSpace("GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	g, err := process.NewGroup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

func start(t *testing.T, g *process.Group, spec process.Spec) (*process.Process, *recorder) {
	t.Helper()
	r := newRecorder(t)
	pr, err := g.Start(spec, r.handlers())
	if err != nil {
		t.Fatal(err)
	}
	return pr, r
}

// send sends v and waits for the result.
func send(t *testing.T, pr *process.Process, v any) error {
	t.Helper()
	b, err := frame.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	pr.Send(b, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-time.After(guard):
		t.Fatal("send did not settle")
		return nil
	}
}

func TestLifecycle(t *testing.T) {
	g := newGroup(t, process.Config{})
	pr, r := start(t, g, process.Spec{ID: 7, Args: []string{"echo"}})
	if pr.ID() != 7 || pr.PID() <= 0 {
		t.Fatalf("id %d pid %d", pr.ID(), pr.PID())
	}
	r.wait("online")
	for _, m := range []any{"hi", map[string]any{"n": int64(1)}} {
		if err := send(t, pr, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := send(t, pr, map[string]any{"cmd": "listen"}); err != nil {
		t.Fatal(err)
	}
	r.wait("listening")
	if err := send(t, pr, map[string]any{"cmd": "problem"}); err != nil {
		t.Fatal(err)
	}
	r.wait("problem")
	pr.Disconnect()
	got := r.wait("exit ")
	want := []string{"online", "message", "message", `listening "" 8080 4`, "problem X something odd", "disconnect", "exit 0 "}
	if !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
	if m := r.messages(); !reflect.DeepEqual(m, []any{"hi", map[string]any{"n": int64(1)}}) {
		t.Errorf("messages %v", m)
	}
	if err := send(t, pr, "late"); !errors.Is(err, process.ErrChannelClosed) {
		t.Errorf("send after disconnect: %v", err)
	}
	if err := pr.Kill(syscall.SIGTERM); err != nil {
		t.Errorf("Kill after exit: %v", err)
	}
}

func TestExits(t *testing.T) {
	tests := []struct {
		name string
		args []string
		act  func(*process.Process)
		want []string
	}{
		{"exit code", []string{"exit", "7"}, nil, []string{"online", "disconnect", "exit 7 "}},
		{"signal", []string{"echo"}, func(pr *process.Process) { _ = pr.Kill(syscall.SIGTERM) },
			[]string{"online", "disconnect", "exit -1 SIGTERM"}},
		{"leave", []string{"echo"}, func(pr *process.Process) {
			b, _ := frame.Marshal(map[string]any{"cmd": "leave"})
			pr.Send(b, nil)
		}, []string{"online", "exitedAfterDisconnect", "disconnect", "exit 0 "}},
	}
	g := newGroup(t, process.Config{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, r := start(t, g, process.Spec{ID: i + 1, Args: tt.args})
			if tt.act != nil {
				r.wait("online")
				tt.act(pr)
			}
			if got := r.wait("exit "); !slices.Equal(got, tt.want) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHostile(t *testing.T) {
	tests := []struct {
		mode   string
		refuse bool
		online bool
		want   string // in the error
	}{
		{"never-hello", false, false, "no hello within"},
		{"wrong-cookie", false, false, "wrong cookie"},
		{"wrong-id", false, false, "hello from worker id 2 on the channel of worker 1"},
		{"wrong-first", false, false, "first frame is message"},
		{"garbage", false, true, "malformed"},
		{"oversize", false, true, "over the limit"},
		{"truncated", false, true, "unexpected EOF"},
		{"not-cbor", false, true, "malformed"},
		{"echo", true, true, "refused"}, // says 'hello' and the handler refuses a message
	}
	// Only never-hello waits for the hello timeout; the others get a long
	// one, so that a slow start on a loaded machine is not taken for silence.
	quick := newGroup(t, process.Config{HelloTimeout: 300 * time.Millisecond, MaxFrameSize: 1 << 20})
	patient := newGroup(t, process.Config{HelloTimeout: time.Minute, MaxFrameSize: 1 << 20})
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			g := patient
			if tt.mode == "never-hello" {
				g = quick
			}
			r := newRecorder(t)
			r.refuse = tt.refuse
			pr, err := g.Start(process.Spec{ID: 1, Args: []string{tt.mode}}, r.handlers())
			if err != nil {
				t.Fatal(err)
			}
			if tt.refuse {
				r.wait("online")
				pr.Send([]byte{0x01}, nil)
			}
			got := r.wait("exit ")
			want := []string{"protocolError", "disconnect", "exit -1 SIGKILL"}
			if tt.online {
				want = append([]string{"online"}, want...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
			r.mu.Lock()
			perr := r.errs[0]
			r.mu.Unlock()
			var pe *process.ProtocolError
			if !errors.Is(perr, process.ErrProtocol) || !errors.As(perr, &pe) || pe.ID != 1 ||
				!strings.Contains(perr.Error(), tt.want) || !strings.HasPrefix(perr.Error(), "process: ") {
				t.Errorf("error %v", perr)
			}
		})
	}
}

func TestSilentEnvDirArgs(t *testing.T) {
	g := newGroup(t, process.Config{Env: []string{"HELPER_EXTRA=group"}})
	dir := t.TempDir()
	pr, r := start(t, g, process.Spec{
		ID: 1, Args: []string{"echo", "--a", "b"}, Env: []string{"HELPER_EXTRA=spec"}, Dir: dir, Silent: true,
	})
	r.wait("online")
	if err := send(t, pr, map[string]any{"cmd": "env"}); err != nil {
		t.Fatal(err)
	}
	if err := send(t, pr, map[string]any{"cmd": "print"}); err != nil {
		t.Fatal(err)
	}
	r.wait("stdout out line 2")
	r.wait("stderr err line")
	r.waitMessages(2) // the env and 'printed': the output came another way
	wd, _ := filepath.EvalSymlinks(dir)
	want := map[string]any{"wd": wd, "argv": []any{"echo", "--a", "b"}, "extra": "spec"}
	if m := r.messages(); len(m) < 1 || !reflect.DeepEqual(m[0], want) {
		t.Errorf("worker sees %v, want %v", m, want)
	}
	pr.Disconnect()
	got := r.wait("exit ")
	var out []string
	for _, e := range got {
		if strings.HasPrefix(e, "stdout") {
			out = append(out, e)
		}
	}
	if !slices.Equal(out, []string{"stdout out line 1", "stdout out line 2"}) {
		t.Errorf("stdout %q", out)
	}
}

// Lines and messages come from different goroutines; the handlers still run
// one at a time (the recorder fails the test otherwise), and output is all
// forwarded before Exit.
func TestHandlersOneAtATime(t *testing.T) {
	g := newGroup(t, process.Config{})
	pr, r := start(t, g, process.Spec{ID: 1, Args: []string{"echo"}, Silent: true})
	r.wait("online")
	const n = 300
	if err := send(t, pr, map[string]any{"cmd": "chatter", "n": n}); err != nil {
		t.Fatal(err)
	}
	if err := send(t, pr, map[string]any{"cmd": "leave"}); err != nil {
		t.Fatal(err)
	}
	got := r.wait("exit ")
	lines, msgs := 0, 0
	for _, e := range got {
		switch {
		case strings.HasPrefix(e, "stdout line "):
			lines++
		case e == "message":
			msgs++
		}
	}
	if lines != n || msgs != n+1 {
		t.Errorf("%d lines, %d messages; want %d, %d", lines, msgs, n, n+1)
	}
	if got[len(got)-1] != "exit 0 " {
		t.Errorf("last event %q", got[len(got)-1])
	}
}

func TestOversizeSendKeepsChannel(t *testing.T) {
	g := newGroup(t, process.Config{MaxFrameSize: 1 << 10})
	pr, r := start(t, g, process.Spec{ID: 1, Args: []string{"echo"}})
	r.wait("online")
	var se *frame.SizeError
	if err := send(t, pr, strings.Repeat("x", 2<<10)); !errors.As(err, &se) {
		t.Fatalf("oversize send: %v", err)
	}
	if err := send(t, pr, "still here"); err != nil {
		t.Fatal(err)
	}
	r.wait("message")
	if m := r.messages(); !reflect.DeepEqual(m, []any{"still here"}) {
		t.Errorf("messages %v", m)
	}
	pr.Disconnect()
	r.wait("exit ")
}

func TestClose(t *testing.T) {
	t.Run("waits for graceful exits", func(t *testing.T) {
		g, err := process.NewGroup(process.Config{Executable: os.Args[0]})
		if err != nil {
			t.Fatal(err)
		}
		r := newRecorder(t)
		pr, err := g.Start(process.Spec{ID: 1, Args: []string{"echo"}}, r.handlers())
		if err != nil {
			t.Fatal(err)
		}
		r.wait("online")
		pr.Disconnect()
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Fatal(err)
		}
		// Close returns after the last handler.
		r.mu.Lock()
		last := r.events[len(r.events)-1]
		r.mu.Unlock()
		if last != "exit 0 " {
			t.Errorf("last event %q", last)
		}
		if err := g.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := g.Start(process.Spec{ID: 2, Args: []string{"echo"}}, process.Handlers{}); !errors.Is(err, process.ErrClosed) {
			t.Errorf("Start after Close: %v", err)
		}
		goleak.VerifyNone(t)
	})
	t.Run("kills stragglers", func(t *testing.T) {
		g, err := process.NewGroup(process.Config{Executable: os.Args[0], HelloTimeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var pids []int
		for i, mode := range []string{"never-hello", "echo"} {
			pr, err := g.Start(process.Spec{ID: i + 1, Args: []string{mode}}, process.Handlers{})
			if err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pr.PID())
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = g.Close(ctx)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "killed 2 processes") {
			t.Errorf("Close: %v", err)
		}
		if err2 := g.Close(context.Background()); err2 != err {
			t.Errorf("second Close: %v", err2)
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
				t.Errorf("process %d still there after Close: %v", pid, err)
			}
		}
		goleak.VerifyNone(t)
	})
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []process.Config{
		{Executable: "/nonexistent/isowasm"},
		{Executable: os.TempDir()},
		{Executable: os.Args[0], MaxFrameSize: -1},
		{Executable: os.Args[0], HelloTimeout: -1},
	} {
		if _, err := process.NewGroup(cfg); err == nil || !strings.HasPrefix(err.Error(), "process: ") {
			t.Errorf("NewGroup(%+v): %v", cfg, err)
		}
	}
}

func TestStartErrorCallsNothing(t *testing.T) {
	g := newGroup(t, process.Config{})
	r := newRecorder(t)
	if _, err := g.Start(process.Spec{ID: 1, Dir: "/nonexistent/dir"}, r.handlers()); err == nil || !strings.HasPrefix(err.Error(), "process: starting worker 1") {
		t.Fatalf("Start: %v", err)
	}
	// Close waits for every goroutine: had any handler been due, it has run.
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.events) != 0 {
		t.Errorf("events %q", r.events)
	}
}

// BenchmarkEcho measures a message to a process and its echo back.
func BenchmarkEcho(b *testing.B) {
	g, err := process.NewGroup(process.Config{Executable: os.Args[0]})
	if err != nil {
		b.Fatal(err)
	}
	echoes := make(chan struct{}, 1)
	online := make(chan struct{})
	pr, err := g.Start(process.Spec{ID: 1, Args: []string{"echo"}}, process.Handlers{
		Online:  func() { close(online) },
		Message: func([]byte) error { echoes <- struct{}{}; return nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	<-online
	msg, _ := frame.Marshal(map[string]any{"n": 1, "s": "payload"})
	for b.Loop() {
		pr.Send(msg, nil)
		<-echoes
	}
	pr.Disconnect()
	_ = g.Close(context.Background())
}

// TestUndeliveredBound: a process that sends faster than its messages are
// delivered is not read past Config.MaxUndelivered: a message is handed
// over only while at most the cap is held, and every one arrives as the
// caller delivers.
func TestUndeliveredBound(t *testing.T) {
	const limit, size, n = 1 << 20, 16 << 10, 1024 // 16 MiB through a 1 MiB cap
	g := newGroup(t, process.Config{MaxUndelivered: limit})
	var (
		mu        sync.Mutex
		held      []int // sizes handed over and not yet delivered
		heldBytes int
		peak      int
		got       int
	)
	full := make(chan struct{}, 1)
	done := make(chan struct{})
	started := make(chan *process.Process, 1)
	pr, err := g.Start(process.Spec{ID: 1, Args: []string{"flood", strconv.Itoa(n), strconv.Itoa(size)}}, process.Handlers{
		Message: func(p []byte) error {
			mu.Lock()
			defer mu.Unlock()
			peak = max(peak, heldBytes)
			heldBytes += len(p)
			held = append(held, len(p))
			if v, _ := frame.Value(p); v == "done" {
				close(done)
				return nil
			}
			got++
			if heldBytes > limit {
				select {
				case full <- struct{}{}:
				default:
				}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	started <- pr
	// The caller's loop: it delivers what it holds each time the cap is
	// passed, as a primary's loop that had fallen behind would catch up.
	deliver := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range held {
			pr.Delivered(n)
		}
		held, heldBytes = nil, 0
	}
	<-started
	timeout := time.After(guard)
	for loop := true; loop; {
		select {
		case <-full:
			deliver()
		case <-done:
			loop = false
		case <-timeout:
			t.Fatalf("timed out with %d of %d messages", got, n)
		}
	}
	deliver()
	mu.Lock()
	defer mu.Unlock()
	if got != n {
		t.Errorf("got %d messages, want %d", got, n)
	}
	if peak > limit {
		t.Errorf("a message was handed over while %d bytes were held, over the cap of %d", peak, limit)
	}
	pr.Disconnect()
}

// TestQueuedBytesBound: sends to a stopped process are refused with
// ErrQueueFull once Config.MaxQueuedBytes of them wait, and no more than
// that waits; one message larger than the cap still goes to a process
// with nothing queued.
func TestQueuedBytesBound(t *testing.T) {
	const limit, size = 8 << 20, 1 << 20
	g := newGroup(t, process.Config{MaxQueuedBytes: limit})
	pr, r := start(t, g, process.Spec{ID: 1, Args: []string{"echo"}})
	r.wait("online")
	if err := send(t, pr, strings.Repeat("x", 2*limit)); err != nil {
		t.Fatalf("a message over the cap to an empty queue: %v", err)
	}
	if err := pr.Kill(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pr.Kill(syscall.SIGKILL) }) // before the group's Close
	payload, _ := frame.Marshal(strings.Repeat("x", size))
	var (
		settled  atomic.Int64
		accepted int64
		refused  int
		waiting  int64 // accepted and not yet written when the first refusal came
	)
	for range 200 { // 200 MiB: far beyond the socket's buffers and the cap
		full := false
		pr.Send(payload, func(err error) {
			switch {
			case errors.Is(err, process.ErrQueueFull):
				full = true // called at once, in Send
			case err != nil && !errors.Is(err, process.ErrChannelClosed): // killed at the end
				t.Errorf("send: %v", err)
			default:
				settled.Add(1)
			}
		})
		if !full {
			accepted++
			continue
		}
		if refused == 0 {
			waiting = accepted - settled.Load()
		}
		refused++
	}
	if refused == 0 {
		t.Fatalf("200 MiB queued to a stopped process, none refused")
	}
	// The writer counts a message out just before its result: one may be
	// both written and not yet settled.
	if waiting*size > limit+size {
		t.Errorf("%d messages of 1 MiB waited when the first was refused; the cap is %d MiB", waiting, limit>>20)
	}
	if err := pr.Kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.wait("exit ")
}

// TestHeartbeatWhileNotRead: a process blocked writing because its
// messages are not delivered (MaxUndelivered) cannot answer heartbeats;
// that wait is the primary's, so it is not killed for it.
func TestHeartbeatWhileNotRead(t *testing.T) {
	g := newGroup(t, process.Config{
		MaxUndelivered:    64 << 10,
		HeartbeatInterval: 20 * time.Millisecond,
		HeartbeatTimeout:  300 * time.Millisecond,
	})
	r := newRecorder(t)
	h := r.handlers()
	var (
		pr    *process.Process
		mu    sync.Mutex
		held  []int
		hold  = true
		ready = make(chan struct{})
	)
	h.Message = func(p []byte) error {
		<-ready
		mu.Lock()
		defer mu.Unlock()
		if hold {
			held = append(held, len(p))
		} else {
			pr.Delivered(len(p))
		}
		if v, _ := frame.Value(p); v == "done" {
			r.add("done", nil)
		}
		return nil
	}
	h.Unhealthy = func(err error) { r.add("unhealthy "+err.Error(), nil) }
	pr, err := g.Start(process.Spec{ID: 1, Args: []string{"flood", "40", strconv.Itoa(16 << 10)}}, h)
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	// The primary's loop falls behind for five heartbeat timeouts: the
	// length of the scenario, not a wait for an event.
	time.AfterFunc(1500*time.Millisecond, func() {
		mu.Lock()
		defer mu.Unlock()
		hold = false
		for _, n := range held {
			pr.Delivered(n)
		}
	})
	r.wait("done")
	pr.Disconnect()
	events := r.wait("exit ")
	if slices.ContainsFunc(events, func(e string) bool { return strings.HasPrefix(e, "unhealthy") }) || events[len(events)-1] != "exit 0 " {
		t.Errorf("events %q, want no kill", events)
	}
}
