package js

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

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

// BenchmarkHTTPHello is one keep-alive client against a hello-world
// server: the cost of a request through net/http, the loop and goja.
func BenchmarkHTTPHello(b *testing.B) {
	s := serve(b, helloServer)
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
