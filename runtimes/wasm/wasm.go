// Package wasm is isowasm's WebAssembly worker runtime: it compiles a guest
// module with wazero (through an on-disk cache shared by every worker),
// checks it against the guest ABI of package hostabi, instantiates it with
// WASI preview 1 and the "isowasm" host module, and runs the worker's event
// loop: messages from the primary, timers, disconnect, destroy and exit, one
// guest call at a time.
//
// Run is all a worker needs; Prepare lets the primary refuse a broken or
// hostile module and warm the cache once before forking.
package wasm

import (
	"context"
	"io"

	"github.com/isowasm/isowasm/runtimes/host"
)

// Config says what to run and where its output goes. The zero value of each
// field means its default.
type Config struct {
	// Module is the path of the .wasm file.
	Module string
	// Args are the guest's arguments after argv[0] (which is Module).
	Args []string
	// Env is the guest's environment, as "KEY=value" entries.
	Env []string
	// Stdout and Stderr receive the guest's fd 1 and 2, its log lines and
	// the runtime's own error lines; nil discards.
	Stdout, Stderr io.Writer
	// Channel is the open channel to the primary, nil outside a cluster.
	// Run takes it over: it starts reading, and closes it before returning.
	Channel *host.Channel
	// CacheDir holds compiled code shared by every worker; "" is
	// os.UserCacheDir()/isowasm/wasm, "off" disables the cache. A
	// directory that cannot be created is the same as "off".
	CacheDir string
	// AllowDirs are the host directories the guest may use (ParseDir
	// reads them as the command line writes them). The guest cannot leave
	// them, by ".." or by any symbolic link. None: no filesystem at all.
	AllowDirs []Dir
	// AllowListen are the addresses the guest may listen on (ParseListen
	// reads them as the command line writes them). None: it cannot listen.
	AllowListen []Listen
	// MemoryLimitPages caps the guest's memory in 64 KiB pages; 0 is
	// wazero's limit (4 GiB).
	MemoryLimitPages uint32
}

// Run runs the module as a worker until it exits, and returns the exit
// code Node would give a JS worker doing the same: 0 when the channel is
// gone and no timer is pending, or when a destroy's grace period ends; the
// guest's code for proc_exit; 1 after a trap or an initialize error (the
// cause is printed on Stderr first). An error is returned only when the
// module could not run at all (a *ModuleError for a module the ABI
// refuses), or ctx ended.
func Run(ctx context.Context, cfg Config) (exitCode int, err error) {
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.Channel != nil {
		defer cfg.Channel.Close()
	}
	e := newEngine(ctx, cfg.CacheDir, cfg.MemoryLimitPages)
	defer e.Close(context.WithoutCancel(ctx))
	cm, err := e.compile(ctx, cfg.Module)
	if err != nil {
		return 1, err
	}
	w := newWorker(cfg)
	if err := w.instantiate(ctx, e.rt, cm); err != nil {
		return 1, err
	}
	return w.run(ctx)
}

// Check is Prepare with the defaults and cacheDir (as Config.CacheDir).
func Check(ctx context.Context, path, cacheDir string) error {
	_, err := Prepare(ctx, path, PrepareConfig{CacheDir: cacheDir})
	return err
}
