// Command isowasm-httpbench measures hello-world HTTP serving on 127.0.0.1
// by a cluster of 2 and 4 workers, in one run: a Node cluster (peer/, plain
// node:cluster and node:http, skipped when node is missing), isowasm with
// JavaScript workers (the same worker.js as Node's), and isowasm with
// compiled workers (examples/http-wasm-go built from source, and
// examples/http-wasm-c). A Go load generator (keep-alive connections, one
// request in flight on each, as wrk) drives each configuration for a warm-up
// and then -duration; the table gives req/s, p50 and p99 latency, the
// workers' CPU time per request (user + system, from /proc: what serving a
// request costs, whatever else the machine runs), the load generator's,
// and each isowasm row's ratio to Node's with the same number of workers.
// With -rounds the configurations are measured in turn that many times
// and the table gives medians.
//
//	go run ./cmd/isowasm-httpbench                   # 5 s per configuration
//	go run ./cmd/isowasm-httpbench -duration 2s -workers 2
//	go run ./cmd/isowasm-httpbench -only 'js|node'
//	go run ./cmd/isowasm-httpbench -rounds 3         # medians, for a machine that runs other work
//
// The isowasm side is this program itself: a Go primary on package engine
// forks it again as each worker (through worker.Main), as `isowasm run` does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/isowasm/isowasm/runtimes/worker"
)

func main() {
	if isWorker, code := worker.Main(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); isWorker {
		os.Exit(code)
	}
	var cfg Config
	workers := flag.String("workers", "2,4", "comma-separated worker counts")
	only := flag.String("only", "", "run only the configurations whose name matches this regular expression (node, js, wasm-go, wasm-c)")
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Second, "measured time per configuration")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured load before each measurement")
	flag.IntVar(&cfg.Conns, "connections", 64, "keep-alive connections of the load generator")
	flag.IntVar(&cfg.Rounds, "rounds", 1, "measure each configuration this many times, in turn with the others, and report medians")
	flag.StringVar(&cfg.Node, "node", "node", "the node executable of the peer (\"off\": isowasm only)")
	flag.IntVar(&cfg.GOMAXPROCS, "worker-gomaxprocs", 0, "GOMAXPROCS of isowasm's worker processes (0: the workers' default, 1, as Node's workers are single-threaded)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "isowasm-httpbench: unexpected argument %q (see -help)\n", flag.Arg(0))
		os.Exit(2)
	}
	for _, w := range strings.Split(*workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "isowasm-httpbench: -workers: %q is not a worker count\n", w)
			os.Exit(2)
		}
		cfg.Workers = append(cfg.Workers, n)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintf(os.Stderr, "isowasm-httpbench: -only: %v\n", err)
			os.Exit(2)
		}
		cfg.Only = re
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "isowasm-httpbench:", err)
		os.Exit(1)
	}
}
