// Package js is isowasm's JavaScript worker runtime: it bundles a script and
// its imports with esbuild (built-in node: and isotropic-* modules served
// from sources embedded here, everything else from node_modules), runs the
// bundle in goja on an event loop in Node's order, and connects the script's
// process and node:cluster objects to the primary's channel.
//
// Run is all a worker needs; Check lets the primary refuse a broken script
// before forking anything.
package js

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dop251/goja"

	"github.com/isowasm/isowasm/runtimes/host"
)

// Config says what to run and where its output goes. The zero value of each
// field means its default.
type Config struct {
	// Script is the path of the entry script (.js, .mjs, .cjs, .ts, .mts).
	Script string
	// Args are the script's arguments: process.argv[2:].
	Args []string
	// Env is process.env, as "KEY=value" entries (os.Environ's form).
	Env []string
	// Stdout and Stderr receive console output and process.stdout/stderr
	// writes; nil discards.
	Stdout, Stderr io.Writer
	// Channel is the open channel to the primary when this process is a
	// cluster worker, nil otherwise. Run takes it over: it starts reading,
	// and closes it before returning.
	Channel *host.Channel
	// CacheDir holds bundles shared by every worker; "" is
	// os.UserCacheDir()/isowasm, "off" disables the cache.
	CacheDir string
	// ExecPath is process.argv[0] and process.execPath; "" is os.Executable().
	ExecPath string
	// Processes starts the workers node:cluster forks when the script is a
	// primary (Channel is nil). Nil makes cluster.fork() throw: a primary
	// script must be run by `isowasm run`, which passes the engine's.
	Processes Processes
	// Signals delivers the signals the process receives (the caller
	// subscribes with signal.Notify). SIGINT, SIGTERM, SIGHUP… are emitted
	// as process events when the script listens for them; otherwise the
	// script ends as Node's default handler would, with 128+signal number.
	Signals <-chan os.Signal
}

// Run bundles and runs the script until its event loop is empty, it calls
// process.exit, or ctx ends, and returns the process exit code Node would
// have: 0, process.exitCode, the code given to process.exit, 1 after an
// uncaught exception or unhandled rejection, 13 for a top-level await that
// never settles. An error is returned only when the script could not run at
// all (a *BuildError for a script that does not bundle), or ctx ended.
func Run(ctx context.Context, cfg Config) (exitCode int, err error) {
	start := time.Now()
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.ExecPath == "" {
		cfg.ExecPath, _ = os.Executable()
	}
	if cfg.Channel != nil {
		defer cfg.Channel.Close()
	}
	b, err := load(cfg.Script, cacheDir(cfg.CacheDir))
	if err != nil {
		return 1, err
	}
	prg, err := compile(cfg.Script, b)
	if err != nil {
		return 1, err
	}
	r := newRuntime(cfg, start)
	return r.run(ctx, prg, b.ESM)
}

// Check bundles and compiles the script without running it, so a primary
// can report a syntax error or a missing import once, as one line per
// problem ("file:line:col: message"), instead of forking workers that die.
// The bundle is cached in cacheDir as Run would ("" default, "off" none).
func Check(script, cacheDirectory string) error {
	b, err := load(script, cacheDir(cacheDirectory))
	if err != nil {
		return err
	}
	if b.Compiled {
		// This very code compiled before (the cache entry says so, and it
		// is current): the workers compile it anyway, once each.
		return nil
	}
	_, err = compile(script, b)
	return err
}

// ScriptInfo is what Inspect learns about a script without running it.
type ScriptInfo struct {
	// Primary says the script is a cluster primary: it imports
	// isotropic-cluster/lib/cluster-primary.js or node:cluster (bare
	// "cluster" too), so it must be run with Config.Processes.
	Primary bool
}

// Inspect bundles the script (through the same cache as Run) and reports
// what kind of script it is, so a command can decide how to run it.
func Inspect(script, cacheDirectory string) (ScriptInfo, error) {
	b, err := load(script, cacheDir(cacheDirectory))
	if err != nil {
		return ScriptInfo{}, err
	}
	return ScriptInfo{Primary: b.Primary}, nil
}

func cacheDir(dir string) string { return host.CacheDir(dir, "") }

// bundleName is the program name goja reports for code outside any source.
const bundleName = "/isowasm-bundle.js"

// compile turns the bundle into a goja program. esbuild has already parsed
// the code, so an error here is goja missing a feature.
func compile(script string, b *bundle) (*goja.Program, error) {
	abs, _ := filepath.Abs(script)
	// Source map paths are relative to "/" (esbuild's working directory
	// here), and goja resolves them against the program's name.
	prg, err := goja.Compile(bundleName, b.Code, true)
	if err != nil {
		var se *goja.CompilerSyntaxError
		if errors.As(err, &se) {
			return nil, &BuildError{Script: abs, Messages: []string{fmt.Sprintf("%s: the bundle uses syntax isowasm's JavaScript engine lacks: %s", abs, se.Error())}}
		}
		return nil, fmt.Errorf("js: compiling %s: %w", abs, err)
	}
	if !b.Compiled {
		b.Compiled = true
		if b.file != "" {
			// Recorded, so that Check skips the compile next time; a cache
			// that cannot be written only costs time.
			_ = writeCached(b.file, b)
		}
	}
	return prg, nil
}
