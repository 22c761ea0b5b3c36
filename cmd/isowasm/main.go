// Command isowasm runs a cluster of JavaScript or WebAssembly workers under
// one primary, with the API and semantics of the Node.js library
// isotropic-cluster.
//
// The same binary is its own worker: a process started by a primary (its
// environment says so) runs its script as a worker and never sees the CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/runtimes/worker"
)

func main() {
	if isWorker, code := worker.Main(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); isWorker {
		os.Exit(code)
	}
	engine.TuneProcess(os.Getenv)
	os.Exit(Main(context.Background(), os.Args, os.Stdout, os.Stderr))
}

// exitError carries an exit code out of a command without a message of its own.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the CLI with args and returns the process exit code. Tests call it
// in-process.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	if err := app.RunContext(ctx, args); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintf(stderr, "isowasm: %v\n", err)
		return 1
	}
	return 0
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "isowasm",
		Usage: "run a cluster of JavaScript or WebAssembly workers, the isotropic-cluster way",
		Description: "isowasm starts a primary that forks worker processes; each runs a JavaScript\n" +
			"script (goja) written against isotropic-cluster's ClusterWorker, and talks to the\n" +
			"primary with CBOR frames.\n\n" +
			"   isowasm run app.js                   app.js is the primary (ClusterPrimary), forking its workers\n" +
			"   isowasm run --workers 4 worker.js    the default primary with 4 workers\n" +
			"   isowasm conformance                  the conformance suite, JS and Wasm workers\n" +
			"   isowasm cache info                   the cache of compiled WebAssembly modules (clean empties it)",
		Version:      version(),
		Writer:       stdout,
		ErrWriter:    stderr,
		OnUsageError: usageError,
		Commands: []*cli.Command{
			runCommand(),
			conformanceCommand(),
			cacheCommand(),
			{
				Name:  "version",
				Usage: "print the version of isowasm and of its engines",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(c.App.Writer, versionText())
					return nil
				},
			},
		},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = usageError
	}
	return app
}

func init() {
	// --version prints what the version command prints.
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, versionText()) }
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

// versionText is isowasm's version and the versions of what it is built on.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "isowasm %s (%s, %s/%s)", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			switch dep.Path {
			case "github.com/dop251/goja", "github.com/tetratelabs/wazero", "github.com/evanw/esbuild", "github.com/fxamacker/cbor/v2":
				fmt.Fprintf(&b, "\n  %s %s", dep.Path, dep.Version)
			}
		}
	}
	return b.String()
}

// invalidValue is how the flag parser reports a value it cannot parse.
var invalidValue = regexp.MustCompile(`^invalid value "(.*)" for flag -(\S+): `)

// usageError reports a mistake on the command line in one line that says
// what was expected, instead of the help text, and exits 2.
func usageError(c *cli.Context, err error, _ bool) error {
	msg := err.Error()
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%s: %q %s", dashed(m[2]), m[1], expectedValue(c, m[2]))
	} else if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		help := "isowasm --help"
		if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
			help = "isowasm help " + c.Command.Name
		}
		msg = fmt.Sprintf("unknown flag %s (%s lists them)", dashed(strings.TrimPrefix(name, "-")), help)
	}
	fmt.Fprintf(c.App.ErrWriter, "isowasm: %s\n", msg)
	return exitError{2}
}

// dashed is a flag's name as it is typed: -j, --workers.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// expectedValue says what the flag named takes.
func expectedValue(c *cli.Context, name string) string {
	flags := c.App.Flags
	if c.Command != nil {
		flags = append(flags, c.Command.Flags...)
	}
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		switch f.(type) {
		case *cli.IntFlag, *cli.Int64Flag:
			return "is not a whole number"
		case *cli.UintFlag, *cli.Uint64Flag:
			return "is not a whole number (0 or more)"
		case *cli.DurationFlag:
			return "is not a duration, use e.g. 10s"
		case *cli.Float64Flag:
			return "is not a number"
		case *cli.BoolFlag:
			return "is not true or false"
		}
	}
	return "is not a valid value"
}
