package wasm_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
	"github.com/isowasm/isowasm/runtimes/wasm"
)

// httpGuest is testdata/httpguest.
func httpGuest(t testing.TB) string { return buildGoGuest(t, "runtimes/wasm/testdata/httpguest") }

func withEnv(env ...string) option { return func(c *wasm.Config) { c.Env = env } }

func withListen(specs ...string) option {
	return func(c *wasm.Config) {
		for _, spec := range specs {
			l, err := wasm.ParseListen(spec)
			if err != nil {
				panic(err)
			}
			c.AllowListen = append(c.AllowListen, l)
		}
	}
}

// listening waits for the worker's Listening frame and returns its URL.
func (s *session) listening() (string, frame.Listening) {
	s.t.Helper()
	for {
		f := s.next()
		if f.Type != frame.TypeListening {
			continue
		}
		var l frame.Listening
		if err := f.Decode(&l); err != nil {
			s.t.Fatal(err)
		}
		return "http://127.0.0.1:" + strconv.Itoa(l.Port), l
	}
}

func httpDo(t *testing.T, c *http.Client, method, url, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestHTTPGuest(t *testing.T) {
	s := start(t, httpGuest(t), withEnv("PORT=0"), withListen("127.0.0.1:0"))
	s.expectReady()
	url, l := s.listening()
	if l.Address != "127.0.0.1" || l.AddressType != 4 {
		t.Errorf("listening %+v", l)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	res, body := httpDo(t, c, "POST", url+"/echo?a=1", "hello body", "X-One", "1", "X-One", "2", "Content-Type", "text/plain")
	want := "POST /echo?a=1 HTTP/1.1\ncontent-length: 10\ncontent-type: text/plain\nx-one: 1\nx-one: 2\nbody: hello body\nworker: 7\n"
	if res.StatusCode != 200 || body != want {
		t.Errorf("echo: %d %q, want %q", res.StatusCode, body, want)
	}
	if got := res.Header.Get("Content-Length"); got != strconv.Itoa(len(want)) {
		t.Errorf("Content-Length %q", got)
	}

	res, body = httpDo(t, c, "GET", url+"/status", "")
	if res.StatusCode != 418 || body != "teapot" || res.Header.Get("X-Tea") != "pot" || res.Header["Content-Type"] != nil {
		t.Errorf("status: %d %q %v", res.StatusCode, body, res.Header)
	}

	// Answered from a timer, while other requests go on.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if res, body := httpDo(t, c, "GET", url+"/later", ""); res.StatusCode != 200 || body != "later" {
				t.Errorf("later: %d %q", res.StatusCode, body)
			}
		})
	}
	wg.Wait()

	if res, body := httpDo(t, c, "GET", url+"/big", ""); res.StatusCode != 200 || len(body) != 1<<20 {
		t.Errorf("big: %d, %d bytes", res.StatusCode, len(body))
	}
	if res, _ := httpDo(t, c, "POST", url+"/echo", strings.Repeat("y", 17<<20)); res.StatusCode != 413 {
		t.Errorf("a body over the limit: %d, want 413", res.StatusCode)
	}

	// The primary's disconnect closes the server, then the channel; with
	// nothing left the worker exits 0.
	s.disconnect()
	s.expectEOF()
	s.exit(0)
	if _, err := c.Get(url + "/echo"); err == nil {
		t.Errorf("the server still answers after the worker ended")
	}
}

func TestHTTPGuestPanics(t *testing.T) {
	s := start(t, httpGuest(t), withEnv("PORT=0"), withListen("127.0.0.1:0"))
	s.expectReady()
	url, _ := s.listening()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: tr}).Get(url + "/panic"); err == nil {
		t.Errorf("a request whose handler panicked got a response")
	}
	s.exit(1)
	if !strings.Contains(s.stderr.String(), "panic: on purpose") {
		t.Errorf("stderr %q", s.stderr.String())
	}
}

// The C example answers as the Go one does.
func TestHTTPExampleC(t *testing.T) {
	s := start(t, filepath.Join(repoRoot(t), "examples", "http-wasm-c", "worker.wasm"), withEnv("PORT=0"), withListen(":0"))
	url, l := s.listening()
	s.expectReady()
	if l.Address != "" || l.AddressType != 4 {
		t.Errorf("listening %+v, want Node's for a server on every address", l)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, body := httpDo(t, &http.Client{Transport: tr}, "GET", url+"/", "")
	if res.StatusCode != 200 || body != "Hello from worker 7" || res.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("%d %q %v", res.StatusCode, body, res.Header)
	}
	if !strings.Contains(s.stdout.String(), "Worker 7 listening on port ") {
		t.Errorf("stdout %q", s.stdout.String())
	}
	s.disconnect()
	s.exit(0)
}

// Guests that use the extension wrongly are refused when checked.
func TestHTTPCheck(t *testing.T) {
	tests := []struct{ name, wat, want string }{{
		name: "no marker",
		wat: `(module (import "isowasm" "http_listen" (func (param i32 i32 i32) (result i32)))
			(memory (export "memory") 1) (func (export "isowasm_abi_v1"))
			(func (export "isowasm_alloc") (param i32) (result i32) i32.const 16)
			(func (export "isowasm_on_message") (param i32 i32))
			(func (export "isowasm_on_http_request") (param i32 i32 i32)))`,
		want: "does not export isowasm_http_v1",
	}, {
		name: "no handler",
		wat: `(module (import "isowasm" "http_listen" (func (param i32 i32 i32) (result i32)))
			(memory (export "memory") 1) (func (export "isowasm_abi_v1")) (func (export "isowasm_http_v1"))
			(func (export "isowasm_alloc") (param i32) (result i32) i32.const 16)
			(func (export "isowasm_on_message") (param i32 i32)))`,
		want: "missing export isowasm_on_http_request (i32, i32, i32) -> ()",
	}, {
		name: "newer extension",
		wat: `(module (memory (export "memory") 1) (func (export "isowasm_abi_v1")) (func (export "isowasm_http_v2"))
			(func (export "isowasm_alloc") (param i32) (result i32) i32.const 16)
			(func (export "isowasm_on_message") (param i32 i32)))`,
		want: "built for the isowasm HTTP extension 2, but this isowasm speaks version 1",
	}}
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm not installed (apt-get install -y wabt)")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src, bin := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
			os.WriteFile(src, []byte(tt.wat), 0o644)
			if out, err := exec.Command("wat2wasm", src, "-o", bin).CombinedOutput(); err != nil {
				t.Fatalf("wat2wasm: %v\n%s", err, out)
			}
			err := wasm.Check(context.Background(), bin, "off")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: %v, want %q", err, tt.want)
			}
		})
	}
}

// serveModule runs module as a worker listening on a free port (as its
// Listening frame says) until the benchmark ends.
func serveModule(b *testing.B, module string) string {
	primary, worker := net.Pipe()
	frames := make(chan frame.Frame, 64)
	var reading sync.WaitGroup
	reading.Go(func() {
		// Reads until the pipe closes, so the worker's writes never block.
		defer close(frames)
		r := frame.NewReader(primary, 0)
		for {
			f, err := r.Read()
			if err != nil {
				return
			}
			select {
			case frames <- f:
			default:
			}
		}
	})
	ch, err := host.New(host.Config{WorkerID: 1, Cookie: "c"}, worker, "wasm")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		wasm.Run(context.Background(), wasm.Config{Module: module, Channel: ch, CacheDir: cacheDir, Env: []string{"PORT=0"}, AllowListen: []wasm.Listen{{Low: 0, High: 0}}})
	}()
	b.Cleanup(func() { primary.Close(); <-done; reading.Wait() })
	for f := range frames {
		if f.Type == frame.TypeListening {
			var l frame.Listening
			f.Decode(&l)
			return "127.0.0.1:" + strconv.Itoa(l.Port)
		}
	}
	b.Fatal("the worker ended before listening")
	return ""
}

// BenchmarkHTTP is hello world through the C and Go examples, with a
// client that speaks minimal HTTP/1.1 over keep-alive connections.
func BenchmarkHTTP(b *testing.B) {
	guests := map[string]string{
		"c":  filepath.Join(repoRoot(b), "examples", "http-wasm-c", "worker.wasm"),
		"go": httpGuest(b),
	}
	for _, name := range []string{"c", "go"} {
		b.Run(name, func(b *testing.B) {
			addr := serveModule(b, guests[name])
			path := "/"
			if name == "go" {
				path = "/status"
			}
			req := []byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for pb.Next() {
					if err := rawGet(c, br, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// rawGet sends req and reads a response with a Content-Length.
func rawGet(c net.Conn, br *bufio.Reader, req []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(string(line)), "content-length:"); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if n < 0 {
		return fmt.Errorf("no content-length")
	}
	_, err := br.Discard(n)
	return err
}

// The committed examples/http-wasm-c/worker.wasm is what build.sh makes
// of worker.c and the SDK header.
func TestHTTPExampleCUpToDate(t *testing.T) {
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("clang not installed (apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32)")
	}
	dir := filepath.Join(repoRoot(t), "examples", "http-wasm-c")
	out := filepath.Join(t.TempDir(), "worker.wasm")
	cmd := exec.Command("clang", "--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-Wl,--strip-all",
		"-I", filepath.Join(repoRoot(t), "hostabi", "guest", "c"), "-o", out, "worker.c")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "worker.wasm"))
	got, _ := os.ReadFile(out)
	if !bytes.Equal(want, got) {
		t.Errorf("examples/http-wasm-c/worker.wasm is not what build.sh makes of worker.c: run examples/http-wasm-c/build.sh")
	}
}

// What goes over the wire: pipelined requests answered in order on one
// connection, HEAD without a body, no Content-Type the guest did not set,
// a head over 16 KiB refused with 431, and a client that leaves before
// its asynchronous answer does not disturb the others.
func TestHTTPGuestWire(t *testing.T) {
	s := start(t, httpGuest(t), withEnv("PORT=0"), withListen("127.0.0.1:0"))
	s.expectReady()
	url, _ := s.listening()
	addr := strings.TrimPrefix(url, "http://")
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	readHead := func(br *bufio.Reader) (string, map[string]string) {
		t.Helper()
		status, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("status line: %v", err)
		}
		h := map[string]string{}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("headers: %v", err)
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				return strings.TrimSpace(status), h
			}
			k, v, _ := strings.Cut(line, ":")
			h[strings.ToLower(k)] = strings.TrimSpace(v)
		}
	}
	readBody := func(br *bufio.Reader, h map[string]string) string {
		t.Helper()
		n, err := strconv.Atoi(h["content-length"])
		if err != nil {
			t.Fatalf("content-length %q", h["content-length"])
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	c, br := dial()
	fmt.Fprintf(c, "GET /status HTTP/1.1\r\nhost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\nX-Up: A\r\n\r\nabcHEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /status HTTP/1.1\r\nHost: x\r\n\r\n")
	status, h := readHead(br)
	if body := readBody(br, h); status != "HTTP/1.1 418 I'm a teapot" || body != "teapot" || h["x-tea"] != "pot" {
		t.Errorf("first: %s %v %q", status, h, body)
	}
	if _, ok := h["content-type"]; ok {
		t.Errorf("a Content-Type the guest did not set: %v", h)
	}
	status, h = readHead(br)
	want := "POST /echo HTTP/1.1\ncontent-length: 3\nx-up: A\nbody: abc\nworker: 7\n"
	if body := readBody(br, h); status != "HTTP/1.1 200 OK" || body != want {
		t.Errorf("second: %s %q, want %q", status, body, want)
	}
	status, h = readHead(br) // HEAD: the length of what GET would send, no body
	if status != "HTTP/1.1 200 OK" || h["content-length"] != strconv.Itoa(1<<20) {
		t.Errorf("HEAD: %s %v", status, h)
	}
	status, h = readHead(br)
	if body := readBody(br, h); status != "HTTP/1.1 418 I'm a teapot" || body != "teapot" {
		t.Errorf("after HEAD: %s %q", status, body)
	}

	c, br = dial()
	fmt.Fprintf(c, "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("b", 17<<10))
	if status, _ := readHead(br); status != "HTTP/1.1 431 Request Header Fields Too Large" {
		t.Errorf("a head over the limit: %s", status)
	}

	// Several clients leave before their answers (from a timer); the
	// worker forgets those requests and serves on.
	for range 3 {
		c, _ := dial()
		fmt.Fprintf(c, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n")
		c.Close()
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if res, body := httpDo(t, &http.Client{Transport: tr}, "GET", url+"/later", ""); res.StatusCode != 200 || body != "later" {
		t.Errorf("later: %d %q", res.StatusCode, body)
	}
	s.disconnect()
	s.exit(0)
}
