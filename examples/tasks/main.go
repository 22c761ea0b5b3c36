// Command tasks is a Go program that embeds the isowasm engine as its
// primary: it forks JavaScript workers (worker.js), hands them tasks
// round-robin, collects their answers and shuts the cluster down.
//
// The program is its own worker executable: a process the engine forks finds
// itself a worker in worker.Main and runs worker.js instead of main's body.
//
//	go run ./examples/tasks                  # 4 workers, 20 tasks
//	go run ./examples/tasks -workers 2 -tasks 100
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/runtimes/worker"
)

func main() {
	if isWorker, code := worker.Main(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); isWorker {
		os.Exit(code)
	}
	engine.TuneProcess(os.Getenv) // the runtime settings a primary runs best with
	workers := flag.Int("workers", 4, "how many workers to fork")
	tasks := flag.Int("tasks", 20, "how many tasks to hand out")
	script := flag.String("script", defaultScript(), "the worker script")
	flag.Parse()
	if err := run(context.Background(), *script, *workers, *tasks, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tasks:", err)
		os.Exit(1)
	}
}

// defaultScript is worker.js next to this file's directory in the repo.
func defaultScript() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "worker.js"
	}
	return filepath.Join(filepath.Dir(file), "worker.js")
}

// result is one worker's answer to a task.
type result struct {
	task, sum, worker int
}

// run forks the workers, hands out the tasks round-robin once all are
// ready, prints the results and shuts down.
func run(ctx context.Context, script string, workers, tasks int, out io.Writer) error {
	p, err := engine.New(engine.Config{WorkerScript: script})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())

	results := make(chan result, tasks)
	allReady := make(chan struct{})
	err = p.Do(ctx, func() {
		p.After("workerReady", func(*engine.Event) {
			if len(p.Workers()) == workers {
				close(allReady)
			}
		})
		p.HandleType("result", func(e *engine.Event) {
			m := e.Message.(map[string]any)
			results <- result{task: asInt(m["id"]), sum: asInt(m["sum"]), worker: asInt(m["workerId"])}
		})
		p.Fork(workers)
	})
	if err != nil {
		return err
	}
	select {
	case <-allReady:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("the workers were not ready after 30s")
	}

	// Tasks arrive one every few milliseconds, as work from outside would;
	// each goes to the worker picked least recently (roundRobin keeps
	// isotropic-cluster's millisecond stamps: picks within one millisecond
	// go to the lowest id).
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for id := 1; id <= tasks; id++ {
		<-tick.C
		numbers := make([]int, id)
		for i := range numbers {
			numbers[i] = i + 1
		}
		if err := p.Do(ctx, func() {
			w, err := p.RoundRobin("")
			if err == nil {
				p.Send(map[string]any{"type": "task", "id": id, "numbers": numbers}, w)
			}
		}); err != nil {
			return err
		}
	}

	got := make([]result, 0, tasks)
	timeout := time.After(30 * time.Second)
	for len(got) < tasks {
		select {
		case r := <-results:
			got = append(got, r)
		case <-timeout:
			return fmt.Errorf("only %d of %d results after 30s", len(got), tasks)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].task < got[j].task })
	perWorker := map[int]int{}
	for _, r := range got {
		perWorker[r.worker]++
		fmt.Fprintf(out, "task %2d: sum 1..%d = %d (worker %d)\n", r.task, r.task, r.sum, r.worker)
	}
	ids := make([]int, 0, len(perWorker))
	for id := range perWorker {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		fmt.Fprintf(out, "worker %d did %d tasks\n", id, perWorker[id])
	}

	// Shut down and wait for every worker to leave (Close kills stragglers).
	if err := p.Do(ctx, func() {
		p.After("shutDownComplete", func(*engine.Event) { p.Destroy() })
		_ = p.ShutDown()
	}); err != nil {
		return err
	}
	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return p.Close(closeCtx)
}

func asInt(v any) int {
	switch n := v.(type) {
	case int64:
		return int(n)
	case uint64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}
