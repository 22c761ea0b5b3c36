// Package worker is the entry point of a worker process: a process that an
// isowasm primary started finds its channel here, says hello, and runs its
// script in the runtime that fits it. The isowasm binary calls Main first
// thing; a Go program that embeds the engine does the same, so that it can be
// its own worker executable.
package worker

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/isowasm/isowasm/runtimes/host"
	"github.com/isowasm/isowasm/runtimes/js"
)

// Main runs this process as a worker when the environment says it is one.
// args are the process arguments: args[1] is the worker script, args[2:] its
// arguments. isWorker is false (and nothing is done) when the process was not
// started by a primary; otherwise code is the exit code to end with.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (isWorker bool, code int) {
	cfg, ok, err := host.FromEnv(getenv)
	if !ok {
		return false, 0
	}
	fail := func(err error) (bool, int) {
		fmt.Fprintf(stderr, "isowasm: worker %d: %v\n", cfg.WorkerID, err)
		return true, 1
	}
	if err != nil {
		return fail(err)
	}
	if len(args) < 2 {
		return fail(fmt.Errorf("no worker script given"))
	}
	script := args[1]
	kind, err := Kind(script)
	if err != nil {
		return fail(err)
	}
	ch, err := host.Open(cfg, kind)
	if err != nil {
		return fail(err)
	}
	defer ch.Close()
	switch kind {
	case "js":
		code, err = js.Run(ctx, js.Config{
			Script:  script,
			Args:    args[2:],
			Stdout:  stdout,
			Stderr:  stderr,
			Channel: ch,
		})
	}
	if err != nil {
		fmt.Fprintf(stderr, "isowasm: worker %d: %v\n", cfg.WorkerID, err)
		if code == 0 {
			code = 1
		}
	}
	return true, code
}

// Kind names the runtime for a script by its extension: "js" or "wasm".
func Kind(script string) (string, error) {
	switch strings.ToLower(filepath.Ext(script)) {
	case ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts":
		return "js", nil
	case ".wasm":
		return "", fmt.Errorf("%s: compiled workers are not supported by this build yet", script)
	}
	return "", fmt.Errorf("%s: unknown script type %q: give a .js, .mjs, .cjs, .ts or .mts file", script, filepath.Ext(script))
}
