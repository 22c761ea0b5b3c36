package js

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/isowasm/isowasm/runtimes/host"
)

// TestMain lets the test binary play a worker process (the re-exec helper
// pattern): forked by subprocs with the worker environment, it runs
// os.Args[1] as the worker script. Otherwise every goroutine a run starts
// (the channel's sender and reader, server accept loops) must be gone when
// Run returns.
func TestMain(m *testing.M) {
	if cfg, ok, err := host.FromEnv(os.Getenv); ok {
		os.Exit(workerProcess(cfg, err))
	}
	// fasthttp's Date header clock: one goroutine for the process's life.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"))
}

// workerProcess is runtimes/worker.Main for the test binary (which cannot
// import it: it imports this package).
func workerProcess(cfg host.Config, err error) int {
	if err == nil && len(os.Args) < 2 {
		err = fmt.Errorf("no worker script")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "test worker:", err)
		return 1
	}
	ch, err := host.Open(cfg, "js")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test worker:", err)
		return 1
	}
	var env []string
	for _, kv := range os.Environ() {
		env = append(env, kv)
	}
	code, err := Run(context.Background(), Config{
		Script: os.Args[1], Args: os.Args[2:], Env: env,
		Stdout: os.Stdout, Stderr: os.Stderr, Channel: ch,
		CacheDir: os.Getenv("ISOWASM_TEST_CACHE"),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "test worker:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
