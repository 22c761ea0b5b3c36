package builtins

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/isowasm/isowasm/runtimes/js"
)

var jsProfile = flag.String("jsprofile", "", "write a pprof profile of the JavaScript run by BenchmarkPubsub to this file (goja's sampling profiler)")

// benchScript runs the built-ins' hot paths in goja: each case loops n
// times and prints the nanoseconds one iteration took, measured inside the
// script, so the bundle and start-up are not counted.
const benchScript = `
import _Pubsub from 'isotropic-pubsub';
import _make from 'isotropic-make';

const [name, countText] = process.argv.slice(2),
    n = Number(countText),
    noop = () => {};

const Publisher = _make(_Pubsub, {
    _eventTick () {}
}, {
    _pubsub: {
        tick: {
            completeFunction: '_eventTick'
        }
    }
});

const cases = {
    publish0 () {
        const p = Publisher();

        return () => p._publish('tick', {n: 1});
    },
    publish1 () {
        const p = Publisher();

        p.on('tick', noop);
        return () => p._publish('tick', {n: 1});
    },
    publish3 () {
        const p = Publisher();

        p.before('tick', noop);
        p.on('tick', noop);
        p.after('tick', noop);
        return () => p._publish('tick', {n: 1});
    },
    publishDistributed () {
        const p = Publisher(),
            d = Publisher();

        p.addDistributor(d);
        p.on('tick', noop);
        d.on('tick', noop);
        return () => p._publish('tick', {n: 1});
    },
    subscribeUnsubscribe () {
        const p = Publisher();

        return () => p.on('tick', noop).unsubscribe();
    },
    make () {
        const Thing = _make({
            _init (a) {
                this.a = a;
                return this;
            }
        });

        return () => Thing(1);
    }
};

const run = cases[name]();

for (let i = 0; i < 1000; i += 1) {
    run();
}

const start = process.hrtime.bigint();

for (let i = 0; i < n; i += 1) {
    run();
}

console.log(String(Number(process.hrtime.bigint() - start) / n));
`

// runJS runs script (written to a temporary .mjs file) with args and returns
// its stdout.
func runJS(tb testing.TB, script string, args ...string) string {
	dir := tb.TempDir()
	path := filepath.Join(dir, "script.mjs")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		tb.Fatal(err)
	}
	// ISOWASM_BUILTINS_CACHE keeps the bundles (to read a profile's line numbers).
	cacheDir := os.Getenv("ISOWASM_BUILTINS_CACHE")
	if cacheDir == "" {
		cacheDir = "off"
	}
	var stdout, stderr bytes.Buffer
	code, err := js.Run(context.Background(), js.Config{Script: path, Args: args, Stdout: &stdout, Stderr: &stderr, CacheDir: cacheDir})
	if err != nil || code != 0 {
		tb.Fatalf("%s: exit %d, %v\n%s%s", path, code, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// BenchmarkPubsub measures isotropic-pubsub's publish (a complete function
// and 0, 1 or 3 subscribers, with a distributor), subscribe+unsubscribe and
// a made constructor, in goja. ns/op is the time inside the script.
func BenchmarkPubsub(b *testing.B) {
	for _, name := range []string{"publish0", "publish1", "publish3", "publishDistributed", "subscribeUnsubscribe", "make"} {
		b.Run(name, func(b *testing.B) {
			n := max(b.N, 1)
			if *jsProfile != "" {
				f, err := os.Create(*jsProfile)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				if err := goja.StartProfile(f); err != nil {
					b.Fatal(err)
				}
				defer goja.StopProfile()
			}
			out := runJS(b, benchScript, name, strconv.Itoa(n))
			ns, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
			if err != nil {
				b.Fatalf("output %q: %v", out, err)
			}
			b.ReportMetric(ns, "js-ns/op")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestRunScript runs the script named by ISOWASM_BUILTINS_SCRIPT in goja and
// prints its output: a way to time ad-hoc experiments with the built-ins.
func TestRunScript(t *testing.T) {
	path := os.Getenv("ISOWASM_BUILTINS_SCRIPT")
	if path == "" {
		t.Skip("set ISOWASM_BUILTINS_SCRIPT to a script to run")
	}
	script, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Print(runJS(t, string(script), strings.Fields(os.Getenv("ISOWASM_BUILTINS_ARGS"))...))
}
