package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/runtimes/js"
	"github.com/isowasm/isowasm/runtimes/wasm"
)

// primaryArg is the hidden first argument of the primary mode: one workload
// run by a Go primary on package engine, the isowasm side of a round.
const primaryArg = "__isowasm-bench-primary"

// window is how many pipelined messages each worker has in flight at most,
// on both sides (peer/primary.js has the same constant).
const window = 1000

// spec is one side's run of one workload: what the primary process is told.
type spec struct {
	Workload string // start, mem, ping, pipeline, echo
	Workers  int
	Count    int           // round trips or messages
	Size     int           // echo payload bytes
	Settle   time.Duration // mem: idle time before measuring
}

// result is the one JSON line a primary prints at the end (both sides), or
// its {"measure": true} line for mem.
type result struct {
	Measure   bool    `json:"measure,omitempty"`
	Pids      []int   `json:"pids,omitempty"`
	ReadyMs   float64 `json:"readyMs"`
	ElapsedMs float64 `json:"elapsedMs,omitempty"`
	Count     int     `json:"count,omitempty"`
}

// primaryArgs is the command line of the primary mode: the spec, the
// runtime ("js" or "wasm") and the worker script.
func (s spec) primaryArgs(runtime, script string) []string {
	return []string{primaryArg, s.Workload, strconv.Itoa(s.Workers), strconv.Itoa(s.Count), strconv.Itoa(s.Size),
		strconv.FormatInt(s.Settle.Milliseconds(), 10), runtime, script}
}

// primaryMain runs one workload as peer/primary.js does, with a Go primary.
func primaryMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if err := runPrimary(ctx, args, stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "isowasm-bench primary:", err)
		return 1
	}
	return 0
}

func runPrimary(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 7 {
		return fmt.Errorf("want 7 arguments, got %q", args)
	}
	var s spec
	var nums [4]int
	for i, a := range args[1:5] {
		n, err := strconv.Atoi(a)
		if err != nil {
			return fmt.Errorf("argument %q: %w", a, err)
		}
		nums[i] = n
	}
	s.Workload, s.Workers, s.Count, s.Size, s.Settle = args[0], nums[0], nums[1], nums[2], time.Duration(nums[3])*time.Millisecond
	runtime, script := args[5], args[6]

	// What `isowasm run` does before forking: refuse a broken script, and
	// warm the bundle (JS) or compilation (Wasm) cache the workers share.
	var err error
	if runtime == "wasm" {
		err = wasm.Check(ctx, script, "")
	} else {
		err = js.Check(script, "")
	}
	if err != nil {
		return err
	}
	p, err := engine.New(engine.Config{WorkerScript: script})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())

	var res result
	allReady := make(chan []*engine.Worker, 1)
	var t0 time.Time
	err = p.Do(ctx, func() {
		p.After("workerReady", func(*engine.Event) {
			if ws := p.Workers(); len(ws) == s.Workers {
				res.ReadyMs = ms(time.Since(t0))
				allReady <- ws
			}
		})
		t0 = time.Now()
		p.Fork(s.Workers)
	})
	if err != nil {
		return err
	}
	var workers []*engine.Worker
	select {
	case workers = <-allReady:
	case <-time.After(60 * time.Second):
		return fmt.Errorf("the workers were not ready after 60s")
	}

	done := make(chan struct{})
	var bad error // set on the loop before done closes
	switch s.Workload {
	case "start":
		close(done)
	case "mem":
		time.Sleep(s.Settle)
		res.Pids = []int{os.Getpid()}
		for _, w := range workers {
			res.Pids = append(res.Pids, w.PID())
		}
		if err := json.NewEncoder(stdout).Encode(result{Measure: true, Pids: res.Pids}); err != nil {
			return err
		}
		if _, err := bufio.NewReader(stdin).ReadString('\n'); err != nil {
			return fmt.Errorf("waiting for the driver: %w", err)
		}
		close(done)
	case "ping":
		w := workers[0]
		n := 0
		var start time.Time
		_ = p.Do(ctx, func() {
			p.HandleType("pong", func(*engine.Event) {
				n++
				if n == s.Count {
					res.ElapsedMs, res.Count = ms(time.Since(start)), n
					close(done)
					return
				}
				w.Send(map[string]any{"type": "ping", "n": n})
			})
			start = time.Now()
			w.Send(map[string]any{"type": "ping", "n": n})
		})
	case "pipeline":
		sent := map[*engine.Worker]int{}
		quota := map[*engine.Worker]int{}
		answered := 0
		var start time.Time
		_ = p.Do(ctx, func() {
			p.HandleType("pong", func(e *engine.Event) {
				answered++
				w := e.Worker
				if sent[w] < quota[w] {
					w.Send(map[string]any{"type": "ping", "n": sent[w]})
					sent[w]++
				}
				if answered == s.Count {
					res.ElapsedMs, res.Count = ms(time.Since(start)), answered
					close(done)
				}
			})
			start = time.Now()
			for i, w := range workers {
				quota[w] = s.Count / s.Workers
				if i < s.Count%s.Workers {
					quota[w]++
				}
				for sent[w] < min(window, quota[w]) {
					w.Send(map[string]any{"type": "ping", "n": sent[w]})
					sent[w]++
				}
			}
		})
	case "echo":
		w := workers[0]
		data := strings.Repeat("x", s.Size)
		n := 0
		var start time.Time
		_ = p.Do(ctx, func() {
			p.HandleType("echo", func(e *engine.Event) {
				if got, _ := e.Message.(map[string]any)["data"].(string); len(got) != s.Size && bad == nil {
					bad = fmt.Errorf("echo of %d bytes, not %d", len(got), s.Size)
				}
				n++
				if n == s.Count {
					res.ElapsedMs, res.Count = ms(time.Since(start)), n
					close(done)
					return
				}
				w.Send(map[string]any{"type": "echo", "n": n, "data": data})
			})
			start = time.Now()
			w.Send(map[string]any{"type": "echo", "n": n, "data": data})
		})
	default:
		return fmt.Errorf("unknown workload %q", s.Workload)
	}
	select {
	case <-done:
		if bad != nil {
			return bad
		}
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("%s: no end after 5 minutes", s.Workload)
	case <-ctx.Done():
		return ctx.Err()
	}

	// A graceful shutdown, as cluster.disconnect on the peer's side.
	if err := p.Do(ctx, func() {
		p.After("shutDownComplete", func(*engine.Event) { p.Destroy() })
		_ = p.ShutDown()
	}); err != nil {
		return err
	}
	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Close(closeCtx); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// assetsDir is this program's source directory (peer/ and workers/ are in
// it), found from the build's file names: `go run` and `go test` from a
// clone keep them.
func assetsDir() string {
	wd, _ := os.Getwd()
	for _, dir := range []string{sourceDir(), wd, filepath.Join(wd, "cmd", "isowasm-bench")} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "peer", "primary.js")); err == nil {
			return dir
		}
	}
	return sourceDir()
}
