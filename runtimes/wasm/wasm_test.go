package wasm_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isowasm/isowasm/hostabi/frame"
	isowasm "github.com/isowasm/isowasm/hostabi/guest/go"
	"github.com/isowasm/isowasm/runtimes/host"
	"github.com/isowasm/isowasm/runtimes/wasm"
)

// One compilation cache for the whole test binary, as workers share one.
var cacheDir string

func TestMain(m *testing.M) {
	if ok, code := wasm.CompileMain(os.Getenv, os.Stdout, os.Stderr); ok {
		os.Exit(code)
	}
	if module := os.Getenv(envTestModule); module != "" {
		os.Exit(workerProcess(module))
	}
	dir, err := os.MkdirTemp("", "isowasm-wasm-test-")
	if err != nil {
		panic(err)
	}
	cacheDir = filepath.Join(dir, "cache")
	guestDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	guestDir    string
	guestBuilds sync.Map // package dir → *guestBuild
)

type guestBuild struct {
	once sync.Once
	path string
	err  error
}

// buildGoGuest builds the Go guest in pkg (a directory of the module) once
// per test binary, as its build.sh would (GOOS=wasip1, a reactor), and
// fills the compilation cache with it.
func buildGoGuest(t testing.TB, pkg string) string {
	t.Helper()
	v, _ := guestBuilds.LoadOrStore(pkg, &guestBuild{})
	b := v.(*guestBuild)
	b.once.Do(func() {
		b.path = filepath.Join(guestDir, strings.ReplaceAll(pkg, "/", "_")+".wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", b.path, "./"+pkg)
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = errors.New("building the Go guest " + pkg + ": " + err.Error() + "\n" + string(out))
			return
		}
		// Compile it into the cache, as the primary does before forking:
		// a test's deadlines then do not include a cold compile (tens of
		// seconds under the race detector).
		b.err = wasm.Check(context.Background(), b.path, cacheDir)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// repoRoot is the module root, two levels up from this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// goGuest is examples/wasm-go.
func goGuest(t testing.TB) string { return buildGoGuest(t, "examples/wasm-go") }

func cGuest(t testing.TB) string {
	return filepath.Join(repoRoot(t), "examples", "wasm-c", "worker.wasm")
}

func watGuest(t testing.TB) string {
	return filepath.Join(repoRoot(t), "examples", "wasm-wat", "worker.wasm")
}

func fixture(name string) string { return filepath.Join("testdata", name+".wasm") }

// syncBuffer collects a worker's output from its goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// session plays the primary for one worker running in this process.
type session struct {
	t       *testing.T
	conn    net.Conn
	w       *frame.Writer
	frames  chan frame.Frame
	readErr chan error
	result  chan runResult
	stdout  syncBuffer
	stderr  syncBuffer
}

type runResult struct {
	code int
	err  error
}

type option func(*wasm.Config)

func start(t *testing.T, module string, opts ...option) *session {
	t.Helper()
	primary, worker := net.Pipe()
	s := &session{
		t:       t,
		conn:    primary,
		w:       frame.NewWriter(primary, 0),
		frames:  make(chan frame.Frame, 100),
		readErr: make(chan error, 1),
		result:  make(chan runResult, 1),
	}
	go func() {
		r := frame.NewReader(primary, 0)
		for {
			f, err := r.Read()
			if err != nil {
				s.readErr <- err
				close(s.frames)
				return
			}
			s.frames <- f
		}
	}()
	ch, err := host.New(host.Config{WorkerID: 7, Cookie: "c"}, worker, "wasm")
	if err != nil {
		t.Fatal(err)
	}
	cfg := wasm.Config{
		Module:   module,
		Channel:  ch,
		CacheDir: cacheDir,
		Stdout:   &s.stdout,
		Stderr:   &s.stderr,
	}
	for _, o := range opts {
		o(&cfg)
	}
	go func() {
		code, err := wasm.Run(context.Background(), cfg)
		s.result <- runResult{code, err}
	}()
	t.Cleanup(func() {
		primary.Close()
		select {
		case <-s.result:
		case <-time.After(10 * time.Second):
			t.Errorf("the worker did not end after the test")
		}
	})
	hello := s.next()
	if hello.Type != frame.TypeHello {
		t.Fatalf("first frame is %s, want hello", hello.Type)
	}
	return s
}

const wait = 20 * time.Second

// next returns the next frame from the worker.
func (s *session) next() frame.Frame {
	s.t.Helper()
	select {
	case f, ok := <-s.frames:
		if !ok {
			s.t.Fatalf("channel closed while a frame was expected: %v\nstderr: %s", <-s.readErr, s.stderr.String())
		}
		return f
	case <-time.After(wait):
		s.t.Fatalf("no frame from the worker within %s\nstderr: %s", wait, s.stderr.String())
	}
	return frame.Frame{}
}

// message returns the next message from the worker, decoded.
func (s *session) message() any {
	s.t.Helper()
	f := s.next()
	if f.Type != frame.TypeMessage {
		s.t.Fatalf("got a %s frame, want a message", f.Type)
	}
	var v any
	if err := frame.Unmarshal(f.Body, &v); err != nil {
		s.t.Fatalf("decoding a message: %v", err)
	}
	return v
}

func (s *session) expectReady() {
	s.t.Helper()
	if m := s.message(); m != "ready" {
		s.t.Fatalf("first message %#v, want \"ready\"", m)
	}
}

func (s *session) send(v any) {
	s.t.Helper()
	body, err := frame.Marshal(v)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.w.Write(frame.Message(body)); err != nil {
		s.t.Fatalf("sending to the worker: %v", err)
	}
}

func (s *session) disconnect() {
	s.t.Helper()
	if err := s.w.Write(frame.Frame{Type: frame.TypeDisconnect}); err != nil {
		s.t.Fatalf("sending disconnect: %v", err)
	}
}

// expectEOF waits for the worker to close the channel.
func (s *session) expectEOF() {
	s.t.Helper()
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return
			}
			s.t.Fatalf("unexpected %s frame before the channel closed", f.Type)
		case <-time.After(wait):
			s.t.Fatalf("the worker did not close the channel")
		}
	}
}

// exit waits for Run to return and checks its code.
func (s *session) exit(want int) {
	s.t.Helper()
	select {
	case r := <-s.result:
		s.result <- r // for Cleanup
		if r.err != nil {
			s.t.Fatalf("Run: %v\nstderr: %s", r.err, s.stderr.String())
		}
		if r.code != want {
			s.t.Fatalf("exit code %d, want %d\nstderr: %s", r.code, want, s.stderr.String())
		}
	case <-time.After(wait):
		s.t.Fatalf("the worker did not exit\nstderr: %s", s.stderr.String())
	}
}

type guest struct {
	name string
	path func(testing.TB) string
}

// fullGuests implement the examples' whole protocol (README.md there).
var fullGuests = []guest{{"go", goGuest}, {"c", cGuest}}

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestConversation(t *testing.T) {
	for _, g := range fullGuests {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.path(t))
			s.expectReady()

			s.send(obj("count", 1))
			if m := s.message(); !equalJSON(m, obj("count", int64(2))) {
				t.Errorf("count reply %#v", m)
			}
			s.send(obj("type", "ping"))
			if m := s.message(); !equalJSON(m, obj("type", "pong", "workerId", int64(7))) {
				t.Errorf("ping reply %#v", m)
			}
			echo := obj("type", "echo", "value", []any{"é", 1.5, true, nil, obj("nested", []any{})}, "big", int64(1<<53-1))
			s.send(echo)
			if m := s.message(); !equalJSON(m, echo) {
				t.Errorf("echo reply %#v", m)
			}
			s.send("untyped text is ignored")
			s.send(obj("type", "unknown"))
			s.send(obj("type", "garbage"))
			if m := s.message(); !equalJSON(m, obj("type", "garbage", "status", int64(-2))) {
				t.Errorf("garbage reply %#v", m)
			}
			if e := s.stderr.String(); !strings.Contains(e, "isowasm: worker 7: send refused: the message is not well-formed CBOR") {
				t.Errorf("stderr after a garbage send: %q", e)
			}
			// The worker carries on after refusing garbage.
			s.send(obj("count", 41))
			if m := s.message(); !equalJSON(m, obj("count", int64(42))) {
				t.Errorf("count reply after garbage %#v", m)
			}
			start := time.Now()
			s.send(obj("type", "timer", "delay", 30))
			if m := s.message(); !equalJSON(m, obj("type", "timer", "fired", true)) {
				t.Errorf("timer reply %#v", m)
			}
			if d := time.Since(start); d < 30*time.Millisecond {
				t.Errorf("timer fired after %s, before its 30 ms", d)
			}
			s.disconnect()
			s.expectEOF()
			s.exit(0)
		})
	}
}

// Scenario 08's typed worker: typed handlers run after 'on primaryMessage'
// (which records every message), and replies keep JS's key order.
func TestTypedRouting(t *testing.T) {
	for _, g := range fullGuests {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.path(t))
			s.expectReady()
			a := obj("a", "a", "type", "a", "workerMessages", []any{"ready"})
			s.send(a)
			f := s.next()
			var m any
			if err := frame.Unmarshal(f.Body, &m); err != nil {
				t.Fatal(err)
			}
			if want := obj("message", a, "primaryMessages", []any{a}, "type", "x", "x", "x"); !equalJSON(m, want) {
				t.Errorf("reply to a: %#v", m)
			}
			if keys := cborKeys(t, f.Body); keys != "message,primaryMessages,type,x" {
				t.Errorf("reply keys in order %s", keys)
			}
			s.send(obj("type", "replyUnknown"))
			if m := s.message(); !equalJSON(m, obj("message", obj("type", "replyUnknown"), "primaryMessages", []any{a, obj("type", "replyUnknown")}, "type", "unknown")) {
				t.Errorf("reply to replyUnknown: %#v", m)
			}
			s.send(obj("type", "nobody"))
			s.send(obj("type", "ping")) // a reply proves the unknown type was ignored
			if m := s.message(); !equalJSON(m, obj("type", "pong", "workerId", int64(7))) {
				t.Errorf("ping reply %#v", m)
			}
		})
	}
}

// cborKeys lists the keys of an encoded map in their order.
func cborKeys(t *testing.T, body []byte) string {
	v, err := isowasm.Unmarshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range v.(isowasm.Object) {
		names = append(names, m.Key)
	}
	return strings.Join(names, ",")
}

// Scenario 15's replace worker: 'destroy', 'exit', 'throw'.
func TestReplaceMessages(t *testing.T) {
	t.Parallel()
	for _, g := range fullGuests {
		for _, c := range []struct {
			msg  string
			code int
		}{{"exit", 0}, {"throw", 1}, {"destroy", 0}} {
			t.Run(g.name+"/"+c.msg, func(t *testing.T) {
				if c.msg == "destroy" && (g.name != "c" || testing.Short()) {
					t.Skip("waits the default 6765 ms grace period: once is enough")
				}
				s := start(t, g.path(t))
				s.expectReady()
				s.send(c.msg)
				s.exit(c.code)
				if c.msg == "throw" && !strings.Contains(s.stderr.String(), "Throwing an error on purpose") {
					t.Errorf("stderr %q", s.stderr.String())
				}
			})
		}
	}
}

// A pending timer keeps the worker alive after the primary disconnects;
// the worker exits 0 once it has fired.
func TestDisconnectWaitsForTimers(t *testing.T) {
	t.Parallel()
	for _, g := range fullGuests {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.path(t))
			s.expectReady()
			began := time.Now()
			s.send(obj("type", "timer", "delay", 100))
			s.disconnect()
			s.expectEOF()
			s.exit(0)
			if d := time.Since(began); d < 100*time.Millisecond {
				t.Errorf("exited %s after the timer was set, before it fired", d)
			}
		})
	}
}

func TestPrimaryGone(t *testing.T) {
	s := start(t, cGuest(t))
	s.expectReady()
	s.conn.Close()
	s.exit(0)
}

func TestDestroy(t *testing.T) {
	t.Parallel()
	for _, g := range fullGuests {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.path(t))
			s.expectReady()
			began := time.Now()
			s.send(obj("type", "destroy", "timeout", 80))
			if f := s.next(); f.Type != frame.TypeExitedAfterDisconnect {
				t.Fatalf("got %s, want exitedAfterDisconnect", f.Type)
			}
			s.expectEOF()
			s.exit(0)
			if d := time.Since(began); d < 80*time.Millisecond {
				t.Errorf("exited %s after destroy, before its 80 ms timeout", d)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	for _, g := range fullGuests {
		t.Run(g.name, func(t *testing.T) {
			s := start(t, g.path(t))
			s.expectReady()
			s.send(obj("type", "exit", "code", 3))
			s.exit(3)
		})
	}
}

func TestTrap(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, module string
		msg          any
		stderr       string
	}{
		{"go panic", "go", obj("type", "trap"), "panic: Throwing an error on purpose"},
		{"c trap", "c", obj("type", "trap"), "trap in isowasm_on_message"},
		{"c recursion", "c", obj("type", "recurse"), "isowasm: worker 7: "},
		{"go recursion", "go", obj("type", "recurse"), "stack"},
		{"wat unreachable", fixture("trap"), "x", "wasm error: unreachable"},
		{"wat recursion", fixture("recurse"), "x", "stack overflow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.module
			switch c.module {
			case "go":
				path = goGuest(t)
			case "c":
				path = cGuest(t)
			}
			s := start(t, path)
			s.expectReady()
			s.send(c.msg)
			s.exit(1)
			t.Logf("stderr: %s", s.stderr.String())
			if e := s.stderr.String(); !strings.Contains(e, c.stderr) {
				t.Errorf("stderr %q does not contain %q", e, c.stderr)
			}
		})
	}
}

func TestInitialize(t *testing.T) {
	t.Run("error", func(t *testing.T) {
		s := start(t, fixture("init_error"))
		s.exit(1)
		e := s.stderr.String()
		for _, want := range []string{"Initialize error: no config", "initialize error: isowasm_init returned 1"} {
			if !strings.Contains(e, want) {
				t.Errorf("stderr %q does not contain %q", e, want)
			}
		}
	})
	t.Run("no ready", func(t *testing.T) {
		s := start(t, fixture("init_no_ready"))
		if m := s.message(); m != "not ready" {
			t.Fatalf("got %#v, want the guest's own \"not ready\"", m)
		}
		s.disconnect()
		s.expectEOF()
		s.exit(0)
	})
	t.Run("wat example logs", func(t *testing.T) {
		s := start(t, watGuest(t))
		s.expectReady()
		s.send(obj("a", []any{int64(1), "b"}))
		if m := s.message(); !equalJSON(m, obj("a", []any{int64(1), "b"})) {
			t.Errorf("echo %#v", m)
		}
		s.disconnect()
		s.exit(0)
		if out := s.stdout.String(); out != "worker 7 echoes\n" {
			t.Errorf("stdout %q", out)
		}
	})
}

func TestBadAlloc(t *testing.T) {
	s := start(t, fixture("bad_alloc"))
	s.expectReady()
	s.send("x")
	s.exit(1)
	if e := s.stderr.String(); !strings.Contains(e, "isowasm_alloc(2) returned 0x11170, not room for the message") {
		t.Errorf("stderr %q", e)
	}
}

func TestCheck(t *testing.T) {
	cases := []struct{ module, want string }{
		{"missing_export", "missing export isowasm_on_message (i32, i32) -> ()"},
		{"abi_v2", "built for isowasm guest ABI 2, but this isowasm speaks ABI 1"},
		{"unknown_import", "imports unknown function isowasm.frobnicate"},
		{"unknown_module", `imports env.abort from unknown module "env"`},
		{"wrong_signature", "export isowasm_on_message has type (i32) -> (); the ABI says (i32, i32) -> ()"},
		{"command", "is a command module (it exports _start)"},
		{"timer_without_handler", "imports isowasm.set_timer but is missing export isowasm_on_timer"},
		{"corrupt", "not a valid WebAssembly module"},
		{"does_not_exist", "cannot read the module: no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.module, func(t *testing.T) {
			path := fixture(c.module)
			err := wasm.Check(context.Background(), path, cacheDir)
			if err == nil {
				t.Fatal("Check accepted the module")
			}
			if !errors.Is(err, wasm.ErrModule) {
				t.Errorf("error %v is not ErrModule", err)
			}
			want := "wasm: " + path + ": " + c.want
			if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("error:\n %s\nwant one line starting with\n %s", msg, want)
			}
			// Run refuses it the same way, before saying hello's "ready".
			code, runErr := wasm.Run(context.Background(), wasm.Config{Module: path, CacheDir: cacheDir})
			if code != 1 || runErr == nil || runErr.Error() != err.Error() {
				t.Errorf("Run: %d, %v", code, runErr)
			}
		})
	}
	for _, ok := range []string{fixture("echo"), cGuest(t), watGuest(t)} {
		if err := wasm.Check(context.Background(), ok, cacheDir); err != nil {
			t.Errorf("Check(%s): %v", ok, err)
		}
	}
	if err := wasm.Check(context.Background(), goGuest(t), cacheDir); err != nil {
		t.Errorf("Check(Go guest): %v", err)
	}
}

func TestMemoryLimit(t *testing.T) {
	_, err := wasm.Run(context.Background(), wasm.Config{Module: fixture("big_memory"), CacheDir: "off", MemoryLimitPages: 2})
	if !errors.Is(err, wasm.ErrModule) {
		t.Fatalf("Run under a 2-page limit of a 4-page module: %v", err)
	}
	code, err := wasm.Run(context.Background(), wasm.Config{Module: fixture("big_memory"), CacheDir: "off", MemoryLimitPages: 8})
	if err != nil || code != 0 {
		t.Fatalf("Run under an 8-page limit: %d, %v", code, err)
	}
}

// Without a channel (not a cluster worker) a guest runs its init and exits
// 0 when nothing is pending.
func TestNoChannel(t *testing.T) {
	var out bytes.Buffer
	code, err := wasm.Run(context.Background(), wasm.Config{Module: watGuest(t), CacheDir: cacheDir, Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("Run: %d, %v", code, err)
	}
	if out.String() != "worker 0 echoes\n" {
		t.Errorf("stdout %q", out.String())
	}
}

// The fixtures and the committed example modules are what their sources
// build to.
func TestCommittedModulesAreUpToDate(t *testing.T) {
	builds := []struct{ dir, tool, install string }{
		{"runtimes/wasm/testdata", "wat2wasm", "apt-get install -y wabt"},
		{"examples/wasm-wat", "wat2wasm", "apt-get install -y wabt"},
		{"examples/wasm-c", "clang", "apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32"},
	}
	for _, b := range builds {
		t.Run(b.dir, func(t *testing.T) {
			if _, err := exec.LookPath(b.tool); err != nil {
				t.Skipf("%s not installed (%s)", b.tool, b.install)
			}
			src := filepath.Join(repoRoot(t), b.dir)
			tmp := t.TempDir()
			if err := os.CopyFS(tmp, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			// build.sh scripts use paths relative to themselves; the C
			// one needs the SDK header two levels up.
			if b.tool == "clang" {
				os.MkdirAll(filepath.Join(tmp, "..", "..", "hostabi", "guest"), 0o755)
				os.CopyFS(filepath.Join(tmp, "..", "..", "hostabi", "guest", "c"), os.DirFS(filepath.Join(repoRoot(t), "hostabi", "guest", "c")))
			}
			if out, err := exec.Command("sh", filepath.Join(tmp, "build.sh")).CombinedOutput(); err != nil {
				t.Fatalf("build.sh: %v\n%s", err, out)
			}
			entries, _ := os.ReadDir(src)
			for _, e := range entries {
				if filepath.Ext(e.Name()) != ".wasm" {
					continue
				}
				want, _ := os.ReadFile(filepath.Join(src, e.Name()))
				got, _ := os.ReadFile(filepath.Join(tmp, e.Name()))
				if !bytes.Equal(want, got) {
					t.Errorf("%s/%s is not what build.sh makes of its source: run %s/build.sh", b.dir, e.Name(), b.dir)
				}
			}
		})
	}
}

// equalJSON compares decoded payloads, numbers by value.
func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !equalJSON(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return a == b
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

var _ = io.EOF
