package js

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/isowasm/isowasm/engine/enginetest"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// server is a script running in-process whose node:http server a test
// talks to.
type server struct {
	url    string
	client *http.Client
	stdout *enginetest.Lines
	stderr *enginetest.Lines
	done   chan result
	cancel context.CancelFunc
}

var listeningLine = regexp.MustCompile(`listening (\d+)\n`)

// serve runs src (an ES module that prints "listening PORT" once its
// server listens) and returns once it listens. The script is stopped when
// the test ends, unless the test waited for it to end.
func serve(t testing.TB, src string, files ...string) *server {
	t.Helper()
	dir := t.TempDir()
	fs := map[string]string{"main.mjs": src}
	for i := 0; i+1 < len(files); i += 2 {
		fs[files[i]] = files[i+1]
	}
	for name, text := range fs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: enginetest.NewLines(), stderr: enginetest.NewLines(), done: make(chan result, 1), cancel: cancel}
	go func() {
		code, err := Run(ctx, Config{Script: filepath.Join(dir, "main.mjs"), Stdout: s.stdout, Stderr: s.stderr, CacheDir: filepath.Join(dir, ".cache")})
		s.done <- result{stdout: s.stdout.String(), stderr: s.stderr.String(), code: code, err: err}
	}()
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	s.client = &http.Client{Transport: transport}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		cancel()
		<-s.done
		s.done <- result{}
	})
	s.stdout.Wait(t, "listening ")
	m := listeningLine.FindStringSubmatch(s.stdout.String())
	if m == nil {
		s.stdout.Wait(t, "\n")
		m = listeningLine.FindStringSubmatch(s.stdout.String())
	}
	s.url = "http://127.0.0.1:" + m[1]
	return s
}

// get does one request and returns the response with its body read.
func (s *server) do(t testing.TB, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr: %s", method, path, err, s.stderr)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return res, string(b)
}

const helloServer = `
import http from 'node:http';
const server = http.createServer((req, res) => {
    res.writeHead(200, {'Content-Type': 'text/plain'});
    res.end('Hello World');
});
server.listen(0, '127.0.0.1', () => console.log('listening', server.address().port));
`

var httpJSProfile = flag.String("httpjsprofile", "", "write a pprof profile of the JavaScript run by BenchmarkHTTPHello to this file (goja's sampling profiler)")

// BenchmarkHTTPHello is one keep-alive client against a hello-world
// server: the cost of a request through fasthttp, the loop and goja.
func BenchmarkHTTPHello(b *testing.B) {
	s := serve(b, helloServer)
	if *httpJSProfile != "" {
		f, err := os.Create(*httpJSProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := goja.StartProfile(f); err != nil {
			b.Fatal(err)
		}
		defer goja.StopProfile()
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			res, err := s.client.Get(s.url + "/")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := s.client.Get(s.url + "/")
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	})
	// raw: clients that speak just enough HTTP/1.1 to stay cheap, so that
	// the server's share of the CPU shows.
	b.Run("raw", func(b *testing.B) {
		req := []byte("GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
		b.SetParallelism(8)
		cpu0 := processCPU()
		defer func() {
			// CPU time (client's and server's) per request: steadier than
			// ns/op on a machine that runs other work.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		}()
		b.RunParallel(func(pb *testing.PB) {
			c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
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

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
		return errors.New("no content-length")
	}
	_, err := br.Discard(n)
	return err
}

const routesServer = `
import http from 'node:http';
const server = http.createServer(async (req, res) => {
    switch (req.url) {
    case '/':
        res.writeHead(200, {'Content-Type': 'text/plain'});
        res.end('Hello World');
        return;
    case '/echo': {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', chunk => { body += chunk; });
        req.on('end', () => {
            res.setHeader('X-Method', req.method);
            res.end(JSON.stringify({body, version: req.httpVersion, ct: req.headers['content-type'], dup: req.headers['x-dup'], raw: req.rawHeaders.length % 2}));
        });
        return;
    }
    case '/iter': {
        const chunks = [];
        for await (const chunk of req) {
            chunks.push(chunk);
        }
        res.end(String(Buffer.concat(chunks).length));
        return;
    }
    case '/pipe':
        req.pipe(res);
        return;
    case '/stream':
        res.statusCode = 201;
        res.write('a');
        res.write(Buffer.from('b'));
        setTimeout(() => res.end('c'), 5);
        return;
    case '/headers': {
        res.setHeader('X-A', '1');
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.setHeader('X-Gone', 'x');
        res.removeHeader('x-gone');
        const before = [res.getHeader('x-a'), res.hasHeader('X-A'), res.hasHeader('x-gone'), res.headersSent, res.getHeaderNames().join()];
        res.writeHead(202, 'Fine', {'X-B': '2'});
        let threw = '';
        try { res.setHeader('X-C', '3'); } catch (e) { threw = e.code; }
        res.end(JSON.stringify({before, after: res.headersSent, threw}));
        return;
    }
    case '/bad':
        try { res.setHeader('Bad Name', 'x'); } catch (e) { res.end(e.code); }
        return;
    case '/finish':
        res.on('finish', () => console.log('finished', req.url));
        res.end('done');
        return;
    }
    res.writeHead(404);
    res.end();
});
server.listen({port: 0, host: '127.0.0.1'}, () => console.log('listening', server.address().port));
`

func TestHTTPServer(t *testing.T) {
	s := serve(t, routesServer)
	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		want                     string
		wantHeader               map[string]string
	}{
		{name: "hello", method: "GET", path: "/", status: 200, want: "Hello World",
			wantHeader: map[string]string{"Content-Type": "text/plain", "Content-Length": "11", "Connection": "keep-alive", "Keep-Alive": "timeout=5"}},
		{name: "echo", method: "POST", path: "/echo", body: "héllo wörld", header: []string{"Content-Type", "text/x", "X-Dup", "1", "X-Dup", "2"}, status: 200,
			want: `{"body":"héllo wörld","version":"1.1","ct":"text/x","dup":"1, 2","raw":0}`, wantHeader: map[string]string{"X-Method": "POST"}},
		{name: "iterate", method: "PUT", path: "/iter", body: strings.Repeat("z", 200000), status: 200, want: "200000"},
		{name: "pipe", method: "POST", path: "/pipe", body: "piped body", status: 200, want: "piped body"},
		{name: "stream", method: "GET", path: "/stream", status: 201, want: "abc", wantHeader: map[string]string{"Content-Length": ""}},
		{name: "headers", method: "GET", path: "/headers", status: 202,
			want:       `{"before":["1",true,false,false,"x-a,set-cookie"],"after":true,"threw":"ERR_HTTP_HEADERS_SENT"}`,
			wantHeader: map[string]string{"X-A": "1", "X-B": "2", "Set-Cookie": "a=1"}},
		{name: "bad header", method: "GET", path: "/bad", status: 200, want: "ERR_INVALID_HTTP_TOKEN"},
		{name: "not found", method: "GET", path: "/nope", status: 404, want: ""},
		{name: "finish", method: "GET", path: "/finish", status: 200, want: "done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := s.do(t, tt.method, tt.path, tt.body, tt.header...)
			if res.StatusCode != tt.status || body != tt.want {
				t.Errorf("%d %q, want %d %q\nstderr: %s", res.StatusCode, body, tt.status, tt.want, s.stderr)
			}
			for k, v := range tt.wantHeader {
				if got := res.Header.Get(k); got != v {
					t.Errorf("header %s: %q, want %q", k, got, v)
				}
			}
		})
	}
	s.stdout.Wait(t, "finished /finish")
}

// Requests on one keep-alive connection are answered in turn.
func TestHTTPKeepAlive(t *testing.T) {
	s := serve(t, helloServer)
	reused := 0
	for i := range 20 {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", s.url+"/", nil)
		res, err := s.client.Do(req)
		if err != nil {
			t.Fatal(i, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if reused != 19 {
		t.Errorf("%d of 19 requests reused the connection", reused)
	}
}

// server.close() stops listening, 'close' follows, and with nothing else
// to do the script ends.
func TestHTTPClose(t *testing.T) {
	s := serve(t, `
import http from 'node:http';
const server = http.createServer((req, res) => {
    res.end('bye');
    server.close(err => console.log('closed', err === undefined));
});
server.on('close', () => console.log('close event'));
server.listen(0, '127.0.0.1', () => console.log('listening', server.address().port));
process.on('exit', code => console.log('exit', code));
`)
	if _, body := s.do(t, "GET", "/", ""); body != "bye" {
		t.Errorf("body %q", body)
	}
	s.client.Transport.(*http.Transport).CloseIdleConnections()
	r := <-s.done
	s.done <- r
	if r.code != 0 || !strings.HasSuffix(r.stdout, "close event\nclosed true\nexit 0\n") {
		t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A port in use is Node's EADDRINUSE error, on the server's 'error'.
func TestHTTPListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	r, _ := runFiles(t, map[string]string{"main.mjs": `
import http from 'node:http';
const server = http.createServer();
server.on('error', e => console.log(e.code, e.syscall, e.port, e.message));
server.listen(` + strconv.Itoa(port) + `, '127.0.0.1');
`}, "main.mjs")
	want := "EADDRINUSE listen " + strconv.Itoa(port) + " listen EADDRINUSE: address already in use 127.0.0.1:" + strconv.Itoa(port) + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("code %d stdout %q, want %q; stderr %q", r.code, r.stdout, want, r.stderr)
	}
}

// In a cluster worker the primary hears of the server (workerListening,
// with Node's address for a server on every address), and its disconnect
// closes the server before the channel.
func TestHTTPWorkerListening(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
import http from 'node:http';
const server = http.createServer((req, res) => res.end('hi'));
server.listen(0, () => console.log('listening', server.address().address, server.address().family));
server.on('close', () => console.log('closed'));
process.on('exit', code => console.log('exit', code));
`})
	p, done := startWorker(t, dir, "worker.mjs")
	var l frame.Listening
	for f := p.next(); ; f = p.next() {
		if f.Type == frame.TypeListening {
			if err := f.Decode(&l); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if l.Port <= 0 || l.AddressType != 4 || l.Address != "" {
		t.Errorf("listening %+v", l)
	}
	tr := &http.Transport{}
	res, err := (&http.Client{Transport: tr}).Get("http://127.0.0.1:" + strconv.Itoa(l.Port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tr.CloseIdleConnections()
	if string(b) != "hi" {
		t.Errorf("body %q", b)
	}
	if err := p.w.Write(frame.Frame{Type: frame.TypeDisconnect}); err != nil {
		t.Fatal(err)
	}
	r := wait(t, done)
	if r.code != 0 || r.stdout != "listening :: IPv6\nclosed\nexit 0\n" {
		t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// rawConn is a client connection that speaks HTTP/1.1 by hand, to see
// exactly what goes over the wire.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, url string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A response that never comes fails the test instead of hanging it.
	_ = c.SetDeadline(time.Now().Add(enginetest.WaitTimeout))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// head reads a status line and headers; names keep their case.
func (rc *rawConn) head() (status string, header [][2]string) {
	rc.t.Helper()
	line, err := rc.br.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("reading the status line: %v", err)
	}
	status = strings.TrimSpace(line)
	for {
		line, err := rc.br.ReadString('\n')
		if err != nil {
			rc.t.Fatalf("reading the headers: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return status, header
		}
		k, v, _ := strings.Cut(line, ":")
		header = append(header, [2]string{k, strings.TrimSpace(v)})
	}
}

func get(header [][2]string, name string) string {
	for _, kv := range header {
		if strings.EqualFold(kv[0], name) {
			return kv[1]
		}
	}
	return ""
}

// chunk reads one chunk of a chunked body ("" at the last).
func (rc *rawConn) chunk() string {
	rc.t.Helper()
	line, err := rc.br.ReadString('\n')
	if err != nil {
		rc.t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
	if err != nil {
		rc.t.Fatalf("chunk size %q", line)
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(rc.br, b); err != nil {
		rc.t.Fatal(err)
	}
	return string(b[:n])
}

func (rc *rawConn) body(n int) string {
	rc.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(rc.br, b); err != nil {
		rc.t.Fatal(err)
	}
	return string(b)
}

const streamServer = `
import http from 'node:http';
let held = [];
const server = http.createServer((req, res) => {
    switch (req.url) {
    case '/stream':
        // Written before the end, with no Content-Length: chunked, each
        // write sent as it is made; the end waits for /release.
        res.writeHead(200, {'X-Case': 'Kept'});
        res.write('first');
        held.push(() => res.end('last'));
        return;
    case '/length':
        res.setHeader('Content-Length', '10');
        res.write('01234');
        held.push(() => res.end('56789'));
        return;
    case '/release':
        held.forEach(f => f());
        held = [];
        res.end('released');
        return;
    case '/raw':
        res.end(JSON.stringify({raw: req.rawHeaders, host: req.headers.host, mixed: req.headers['x-mixed-case'], version: req.httpVersion}));
        return;
    case '/hold':
        res.on('close', () => console.log('res close', res.writableFinished));
        req.on('close', () => console.log('req close'));
        console.log('holding');
        return;
    case '/destroy':
        res.destroy();
        return;
    case '/throw':
        throw new Error('thrown on purpose');
    case '/big': {
        const part = Buffer.alloc(256 * 1024, 'x');
        for (let i = 0; i < 8; i++) res.write(part);
        res.end();
        return;
    }
    case '/size': {
        let n = 0;
        req.on('data', c => { n += c.length; });
        req.on('end', () => res.end(String(n)));
        return;
    }
    case '/after-head':
        // writeHead's quick path keeps the head as text: the getters
        // still read it.
        res.writeHead(200, {'X-A': ['1', '2'], 'X-B': 'b'});
        res.end(JSON.stringify({headers: res.getHeaders(), names: res.getHeaderNames(), sent: res.headersSent}));
        return;
    case '/early':
        // Answered before the body is read: the body is left to Go.
        res.end('early');
        return;
    }
    res.end(req.method + ' ' + req.url);
});
process.on('uncaughtException', e => console.log('uncaught', e.message));
server.listen(0, '127.0.0.1', () => console.log('listening', server.address().port));
`

// Writes before the end go out as they are made, in chunks without a
// Content-Length, as Node sends them, and the connection stays usable.
func TestHTTPStreaming(t *testing.T) {
	s := serve(t, streamServer)
	rc := dialRaw(t, s.url)
	rc.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	status, header := rc.head()
	if status != "HTTP/1.1 200 OK" || get(header, "Transfer-Encoding") != "chunked" || get(header, "Content-Length") != "" {
		t.Fatalf("%s %v", status, header)
	}
	if header[0][0] == "" || get(header, "X-Case") != "Kept" {
		t.Errorf("headers %v", header)
	}
	for _, kv := range header {
		if strings.EqualFold(kv[0], "x-case") && kv[0] != "X-Case" {
			t.Errorf("header name %q, want it as the script wrote it", kv[0])
		}
	}
	// The first write arrives while the response is still open.
	if c := rc.chunk(); c != "first" {
		t.Fatalf("first chunk %q", c)
	}
	if _, body := s.do(t, "GET", "/release", ""); body != "released" {
		t.Fatalf("release: %q", body)
	}
	if c := rc.chunk(); c != "last" {
		t.Errorf("second chunk %q", c)
	}
	if c := rc.chunk(); c != "" {
		t.Errorf("last chunk %q", c)
	}
	// The same connection serves the next request.
	rc.send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
	if status, header := rc.head(); status != "HTTP/1.1 200 OK" || rc.body(mustAtoi(t, get(header, "Content-Length"))) != "GET /again" {
		t.Errorf("next request: %s %v", status, header)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// A Content-Length the script sets frames a streamed body.
func TestHTTPStreamingWithLength(t *testing.T) {
	s := serve(t, streamServer)
	rc := dialRaw(t, s.url)
	rc.send("GET /length HTTP/1.1\r\nHost: x\r\n\r\n")
	s.do(t, "GET", "/release", "")
	status, header := rc.head()
	if status != "HTTP/1.1 200 OK" || get(header, "Content-Length") != "10" || get(header, "Transfer-Encoding") != "" {
		t.Fatalf("%s %v", status, header)
	}
	if b := rc.body(10); b != "0123456789" {
		t.Errorf("body %q", b)
	}
}

// req.rawHeaders are the headers as sent (case and order), req.headers
// has them by lower-case name; requests pipelined on one connection are
// answered in order.
func TestHTTPRawHeadersAndPipelining(t *testing.T) {
	s := serve(t, streamServer)
	rc := dialRaw(t, s.url)
	rc.send("GET /raw HTTP/1.1\r\nHost: example\r\nX-Mixed-CASE: v1\r\naccept: */*\r\n\r\nGET /second HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
	_, header := rc.head()
	want := `{"raw":["Host","example","X-Mixed-CASE","v1","accept","*/*"],"host":"example","mixed":"v1","version":"1.1"}`
	if b := rc.body(mustAtoi(t, get(header, "Content-Length"))); b != want {
		t.Errorf("body %s, want %s", b, want)
	}
	status, header := rc.head()
	if b := rc.body(mustAtoi(t, get(header, "Content-Length"))); status != "HTTP/1.0 200 OK" && status != "HTTP/1.1 200 OK" || b != "GET /second" {
		t.Errorf("second: %s %q", status, b)
	}
}

// Bodies of several MiB, sent with a length or in chunks, arrive whole,
// as does a large response written in parts.
func TestHTTPLargeBodies(t *testing.T) {
	s := serve(t, streamServer)
	big := strings.Repeat("0123456789abcdef", 5<<16) // 5 MiB
	if res, body := s.do(t, "POST", "/size", big); res.StatusCode != 200 || body != strconv.Itoa(len(big)) {
		t.Errorf("with Content-Length: %d %q", res.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", s.url+"/size", io.MultiReader(strings.NewReader(big), strings.NewReader("!")))
	res, err := s.client.Do(req) // unknown length: chunked
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != strconv.Itoa(len(big)+1) {
		t.Errorf("chunked: %q", b)
	}
	if res, body := s.do(t, "GET", "/big", ""); res.StatusCode != 200 || len(body) != 2<<20 {
		t.Errorf("big response: %d, %d bytes", res.StatusCode, len(body))
	}
	// A response made before the body was read: the client still gets
	// it, and the next request on the connection too.
	for range 2 {
		if res, body := s.do(t, "POST", "/early", big); res.StatusCode != 200 || body != "early" {
			t.Errorf("early: %d %q", res.StatusCode, body)
		}
	}
}

// A client that goes away while the script holds its response: the
// script hears 'close' on req and res, unfinished.
func TestHTTPClientGone(t *testing.T) {
	s := serve(t, streamServer)
	rc := dialRaw(t, s.url)
	rc.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	s.stdout.Wait(t, "holding")
	rc.c.Close()
	s.stdout.Wait(t, "res close false")
	s.stdout.Wait(t, "req close")
	if _, body := s.do(t, "GET", "/after", ""); body != "GET /after" {
		t.Errorf("after: %q", body)
	}
}

// res.destroy() drops the connection without a response; a handler that
// throws goes to 'uncaughtException' (the request is left unanswered, as
// in Node), and the server carries on.
func TestHTTPDestroyAndThrow(t *testing.T) {
	s := serve(t, streamServer)
	rc := dialRaw(t, s.url)
	rc.send("GET /destroy HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := rc.br.ReadByte(); err == nil {
		t.Errorf("destroy: a response came")
	}
	rc = dialRaw(t, s.url)
	rc.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n")
	s.stdout.Wait(t, "uncaught thrown on purpose")
	rc.c.Close()
	if _, body := s.do(t, "GET", "/after", ""); body != "GET /after" {
		t.Errorf("after: %q", body)
	}
}

// The headers writeHead was given can be read back after it.
func TestHTTPHeadersAfterWriteHead(t *testing.T) {
	s := serve(t, streamServer)
	res, body := s.do(t, "GET", "/after-head", "")
	want := `{"headers":{"x-a":["1","2"],"x-b":"b"},"names":["x-a","x-b"],"sent":true}`
	if body != want || strings.Join(res.Header.Values("X-A"), ",") != "1,2" || res.Header.Get("X-B") != "b" {
		t.Errorf("%q %v, want %s", body, res.Header, want)
	}
}

// HEAD gets the head of a streamed response and no body; the connection
// stays usable.
func TestHTTPHead(t *testing.T) {
	s := serve(t, streamServer)
	rc := dialRaw(t, s.url)
	rc.send("HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	if status, _ := rc.head(); status != "HTTP/1.1 200 OK" {
		t.Errorf("HEAD: %s", status)
	}
	status, header := rc.head()
	if b := rc.body(mustAtoi(t, get(header, "Content-Length"))); status != "HTTP/1.1 200 OK" || b != "GET /next" {
		t.Errorf("next: %s %q", status, b)
	}
}

// server.close() while a response is held: it is still written, then
// its connection and the server close.
func TestHTTPCloseWaitsForResponses(t *testing.T) {
	s := serve(t, `
import http from 'node:http';
const server = http.createServer((req, res) => {
    if (req.url === '/hold') {
        server.close(() => console.log('closed'));
        setImmediate(() => res.end('held'));
        return;
    }
    res.end('no');
});
server.listen(0, '127.0.0.1', () => console.log('listening', server.address().port));
`)
	rc := dialRaw(t, s.url)
	rc.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	status, header := rc.head()
	if b := rc.body(mustAtoi(t, get(header, "Content-Length"))); status != "HTTP/1.1 200 OK" || b != "held" {
		t.Errorf("%s %v %q", status, header, b)
	}
	if _, err := rc.br.ReadByte(); err != io.EOF {
		t.Errorf("after the response: %v, want the connection closed", err)
	}
	s.stdout.Wait(t, "closed")
}
