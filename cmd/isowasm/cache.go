package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/isowasm/isowasm/runtimes/wasm"
)

// envCacheMax caps the compile cache, in MiB (0: no cap).
const envCacheMax = "ISOWASM_CACHE_MAX"

// cacheMax is the compile cache's cap from the environment, as
// wasm.PrepareConfig.CacheMax.
func cacheMax(getenv func(string) string) (int64, error) {
	s := getenv(envCacheMax)
	if s == "" {
		return wasm.DefaultCacheMax, nil
	}
	mib, err := strconv.ParseUint(s, 10, 40)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a number of MiB (0 for no cap)", envCacheMax, s)
	}
	if mib == 0 {
		return -1, nil
	}
	return int64(mib) << 20, nil
}

func cacheCommand() *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "show or empty the cache of compiled WebAssembly modules",
		Description: "Compiled workers are compiled once, by the primary before it forks them, and\n" +
			"the code is kept on disk for every worker and later runs to load. After each\n" +
			"compile, the least recently used modules are removed until the cache fits its\n" +
			"cap (" + envCacheMax + " in MiB, 0 for no cap; default " + strconv.Itoa(wasm.DefaultCacheMax>>20) + ").",
		Subcommands: []*cli.Command{
			{
				Name:  "info",
				Usage: "print the cache's directory, entries and size",
				Action: func(c *cli.Context) error {
					max, err := cacheMax(os.Getenv)
					if err != nil {
						return fmt.Errorf("cache: %w", err)
					}
					st, err := wasm.CacheInfo("")
					if err != nil {
						return fmt.Errorf("cache: %w", err)
					}
					if st.Dir == "" {
						fmt.Fprintln(c.App.Writer, "no cache directory (no user cache directory: set $HOME or $XDG_CACHE_HOME)")
						return nil
					}
					cap := "no cap"
					if max > 0 {
						cap = fmt.Sprintf("cap %d MiB", max>>20)
					}
					fmt.Fprintf(c.App.Writer, "dir      %s\nentries  %d compiled modules\nsize     %s (%s; %s sets it, in MiB)\n",
						st.Dir, st.Entries, mb(st.Bytes), cap, envCacheMax)
					return nil
				},
			},
			{
				Name:  "clean",
				Usage: "remove every compiled module from the cache",
				Action: func(c *cli.Context) error {
					st, err := wasm.CleanCache("")
					if err != nil {
						return fmt.Errorf("cache: %w", err)
					}
					if st.Dir != "" {
						fmt.Fprintf(c.App.Writer, "removed %d compiled modules (%s) from %s\n", st.Entries, mb(st.Bytes), st.Dir)
					}
					return nil
				},
			},
		},
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// prepareModule checks and compiles a compiled worker's module once,
// before the first fork, for every worker to load from the cache.
// memoryPages is --max-memory in pages (0: none); progress gets the
// progress line of a long compile.
func prepareModule(ctx context.Context, path string, memoryPages uint32, progress io.Writer) (wasm.Prepared, error) {
	max, err := cacheMax(os.Getenv)
	if err != nil {
		return wasm.Prepared{}, fmt.Errorf("run: %w", err)
	}
	p, err := wasm.Prepare(ctx, path, wasm.PrepareConfig{CacheMax: max, MemoryLimitPages: memoryPages, Progress: progress})
	var ml *wasm.MemoryLimitError
	if errors.As(err, &ml) {
		need := (ml.MinPages + 15) / 16
		return p, fmt.Errorf("%s declares %d MiB of initial linear memory, more than --max-memory %d allows: give --max-memory %d or more, or leave it out",
			path, need, ml.LimitPages/16, need)
	}
	return p, err
}

// compileNote says, after the "ready in" figure, whether it includes a
// compile.
func compileNote(p *wasm.Prepared, script string) string {
	switch {
	case p == nil:
		return ""
	case p.Compiled:
		return fmt.Sprintf(" (%.1f s of it compiling %s)", p.Took.Seconds(), filepath.Base(script))
	}
	return fmt.Sprintf(" (%s loaded from the compile cache)", filepath.Base(script))
}
