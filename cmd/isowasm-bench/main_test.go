package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/isowasm/isowasm/runtimes/worker"
)

// The test binary plays every part, as the program does: the driver (the
// tests), the isowasm primary (primaryArg) and the workers (worker.Main).
func TestMain(m *testing.M) {
	if isWorker, code := worker.Main(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); isWorker {
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == primaryArg {
		os.Exit(primaryMain(context.Background(), os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestQuick runs every workload once with -quick, against Node when it is
// installed, so that the program cannot rot.
func TestQuick(t *testing.T) {
	// Under -race every process otherwise sleeps 1 s on exit; the primaries
	// and their workers inherit this.
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // a bound for a loaded machine, not a target
	defer cancel()
	var out, log bytes.Buffer
	start := time.Now()
	if err := Run(ctx, Config{Quick: true, Rounds: 1}, &out, &log); err != nil {
		t.Fatalf("%v\n%s\n%s", err, log.String(), out.String())
	}
	t.Logf("%s in all\n%s\n%s", time.Since(start).Round(time.Millisecond), log.String(), out.String())
	table := out.String()
	for _, want := range []string{"start/1/js", "ready ms", "start+shutdown ms", "mem/4/js", "VmRSS/worker MB",
		"tree Pss MB", "ping/js", "pipeline/4/js", "messages/s", "echo/1MiB/js", "MB/s"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q", want)
		}
	}
	if _, v := findNode(""); v == "" {
		if !strings.Contains(log.String(), "Node peer is skipped") {
			t.Errorf("no word that the peer was skipped:\n%s", log.String())
		}
	} else if !strings.Contains(table, "advanced") || !strings.Contains(table, "isowasm/node") {
		t.Errorf("node is installed but the table has no peer columns")
	}
}

func TestOnlyAndList(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), Config{List: true, Only: regexp.MustCompile(`^echo/.*/js$`)}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "echo/1KiB/js\necho/64KiB/js\necho/1MiB/js\n"; got != want {
		t.Errorf("-list -only: got %q, want %q", got, want)
	}
	err := Run(context.Background(), Config{Only: regexp.MustCompile(`nothing`)}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "matches no workload") {
		t.Errorf("-only matching nothing: %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
