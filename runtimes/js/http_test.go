package js

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
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
