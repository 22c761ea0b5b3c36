package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isowasm/isowasm/runtimes/worker"
)

// The test binary is the workers' executable, as the program is.
func TestMain(m *testing.M) {
	if isWorker, code := worker.Main(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); isWorker {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// The load generator reads Content-Length and chunked responses over
// keep-alive connections, and counts non-2xx answers.
func TestLoad(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[string]bool{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		if r.URL.Path == "/chunked" {
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			w.Write([]byte("b"))
			return
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("hello"))
	})}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	defer func() { srv.Close(); <-done }()
	for _, path := range []string{"/", "/chunked", "/missing"} {
		l := load{Addr: ln.Addr().String(), Path: path, Conns: 4, Duration: 200 * time.Millisecond}
		st, err := l.run(context.Background())
		if err != nil {
			t.Fatal(path, err)
		}
		if st.Requests < 10 || st.Errors != 0 || len(st.Latencies) != st.Requests {
			t.Errorf("%s: %d requests, %d errors (last: %v), %d latencies", path, st.Requests, st.Errors, st.LastError, len(st.Latencies))
		}
		if (st.Non2xx == st.Requests) != (path == "/missing") {
			t.Errorf("%s: %d of %d non-2xx", path, st.Non2xx, st.Requests)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 12 {
		t.Errorf("%d connections, want 4 per run (keep-alive)", len(conns))
	}
}

// A short run of the isowasm sides prints the table.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("forks workers")
	}
	var out, log bytes.Buffer
	cfg := Config{Workers: []int{2}, Duration: 300 * time.Millisecond, Node: "off", Only: regexp.MustCompile(`^(js|wasm-c)$`), Conns: 8}
	if err := Run(context.Background(), cfg, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{"isowasm JS workers", "isowasm Wasm (C guest)"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want) + `\s+2\s+\d+`).MatchString(out.String()) {
			t.Errorf("no figures for %q:\n%s\n%s", want, out.String(), log.String())
		}
	}
	if strings.Contains(out.String(), "failed") {
		t.Errorf("a configuration failed:\n%s\n%s", out.String(), log.String())
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{-1, 5, -1}, 5}, // unknown entries left out
		{[]float64{-1}, -1},
	}
	for _, tt := range tests {
		if got := median(slices.Clone(tt.in)); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
