// Command isowasm-bench measures isowasm against its peer, a plain
// node:cluster application doing the same work (peer/), in one run: each
// workload runs on both sides in turn, A B A B, for several rounds, and the
// table gives the median, min and max of each side, the ratio
// isowasm/peer for the medians and for each round, and the target gain.
//
//	go run ./cmd/isowasm-bench                      # every workload, 5 rounds
//	go run ./cmd/isowasm-bench -rounds 3 -only 'start|mem'
//	go run ./cmd/isowasm-bench -quick -rounds 1     # a smoke run (CI)
//
// Each side of each round is a fresh primary process: `node peer/primary.js`
// for the peer, and this program re-run in its hidden primary mode (a Go
// primary built on package engine) for isowasm. The program is also its own
// worker executable, through worker.Main, as examples/tasks is.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/runtimes/worker"
)

func main() {
	if isWorker, code := worker.Main(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); isWorker {
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == primaryArg {
		engine.TuneProcess(os.Getenv) // as the isowasm command's primary
		os.Exit(primaryMain(context.Background(), os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	var cfg Config
	only := flag.String("only", "", "run only the workloads whose name matches this regular expression (names: start/16/js, mem/16/wasm, ping/js, pipeline/4/js, echo/1MiB/js, …; -list shows them)")
	flag.IntVar(&cfg.Rounds, "rounds", 5, "rounds of A B (isowasm, then the peer) per workload")
	flag.BoolVar(&cfg.Quick, "quick", false, "small counts and fewer workers: a smoke run, not figures to quote")
	flag.StringVar(&cfg.Node, "node", "node", "the node executable of the peer (\"\" or \"off\": isowasm only)")
	flag.BoolVar(&cfg.List, "list", false, "list the workloads and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "isowasm-bench: unexpected argument %q (see -help)\n", flag.Arg(0))
		os.Exit(2)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintf(os.Stderr, "isowasm-bench: -only: %v\n", err)
			os.Exit(2)
		}
		cfg.Only = re
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "isowasm-bench:", err)
		os.Exit(1)
	}
}
