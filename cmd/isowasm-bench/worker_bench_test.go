package main

import (
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
	"github.com/isowasm/isowasm/runtimes/js"
)

var jsProfile = flag.String("jsprofile", "", "write a pprof profile of the JavaScript functions run by BenchmarkJSWorker's pipelined cases to this file (goja's sampling profiler)")

// socketPair returns the two ends of a Unix stream socket pair, the kind of
// channel a primary gives its workers.
func socketPair(tb testing.TB) (net.Conn, net.Conn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "channel")
		if conns[i], err = net.FileConn(f); err != nil {
			tb.Fatal(err)
		}
		f.Close()
	}
	return conns[0], conns[1]
}

// startJSWorker runs script in this process (js.Run on a
// goroutine) behind a socket pair, reads its hello and 'ready', and returns
// the primary's end. The worker ends when the test does.
func startJSWorker(b *testing.B, script string) (*frame.Reader, *frame.Writer) {
	primary, workerEnd := socketPair(b)
	ch, err := host.New(host.Config{WorkerID: 1, Cookie: "bench"}, workerEnd, "js")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = js.Run(context.Background(), js.Config{Script: script, Channel: ch})
	}()
	b.Cleanup(func() { primary.Close(); <-done })
	r, w := frame.NewReader(primary, 0), frame.NewWriter(primary, 0)
	for _, want := range []frame.Type{frame.TypeHello, frame.TypeMessage} {
		f, err := r.Read()
		if err != nil || f.Type != want {
			b.Fatalf("waiting for %s: %v %v", want, f.Type, err)
		}
	}
	return r, w
}

// BenchmarkJSWorker measures a JavaScript worker's side of a message: the
// frame read, the CBOR → JS value, ClusterWorker's primaryMessage dispatch,
// worker.send and the JS value → CBOR, the frame written, with the primary
// reduced to a frame reader and writer. ping waits for each answer;
// pipelined keeps up to window messages in flight. cluster-worker is
// workers/worker.js (isotropic-cluster's ClusterWorker, as the benchmark
// program runs); process is the same logic on process.on('message') and
// process.send alone.
func BenchmarkJSWorker(b *testing.B) {
	for _, s := range []struct{ name, script string }{
		{"cluster-worker", filepath.Join(assetsDir(), "workers", "worker.js")},
		{"process", filepath.Join(assetsDir(), "testdata", "process-worker.js")},
	} {
		b.Run(s.name, func(b *testing.B) { benchmarkJSWorker(b, s.script) })
	}
}

// cpuTime is the CPU time this process has used (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per op since start (both ends of
// the channel, the collector included): steadier than ns/op when other
// work shares the machine.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func benchmarkJSWorker(b *testing.B, script string) {
	ping, _ := frame.Marshal(map[string]any{"type": "ping", "n": 1})
	b.Run("ping", func(b *testing.B) {
		r, w := startJSWorker(b, script)
		cpu := cpuTime()
		defer func() { reportCPU(b, cpu) }()
		for b.Loop() {
			if err := w.Write(frame.Message(ping)); err != nil {
				b.Fatal(err)
			}
			if _, err := r.Read(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pipelined", func(b *testing.B) {
		r, w := startJSWorker(b, script)
		inFlight := make(chan struct{}, window)
		readErr := make(chan error, 1)
		if *jsProfile != "" {
			f, err := os.Create(*jsProfile)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := goja.StartProfile(f); err != nil {
				b.Fatal(err)
			}
			defer goja.StopProfile()
		}
		go func() {
			for range inFlight {
				if _, err := r.Read(); err != nil {
					readErr <- err
					return
				}
			}
			readErr <- nil
		}()
		cpu := cpuTime()
		for b.Loop() {
			inFlight <- struct{}{}
			if err := w.Write(frame.Message(ping)); err != nil {
				b.Fatal(err)
			}
		}
		close(inFlight)
		if err := <-readErr; err != nil {
			b.Fatal(err)
		}
		reportCPU(b, cpu)
	})
}
