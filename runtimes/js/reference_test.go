package js

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isowasm/isowasm/conformance"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// referenceDir holds the recorded isotropic-cluster scenarios, when this
// checkout has them beside it.
const referenceDir = "../../../shared/reference/scenarios"

// TestReferenceWorker runs the worker of scenario 07 (the built-in
// isotropic-cluster worker over a real channel): 'ready', then each message
// answered with count+1, then a primary-initiated disconnect and exit 0
// with its report written on 'exit'.
func TestReferenceWorker(t *testing.T) {
	src := filepath.Join(referenceDir, "07-communicate", "worker.js")
	if _, err := os.Stat(src); err != nil {
		t.Skip("reference scenarios not found beside this checkout")
	}
	dir := t.TempDir()
	for _, name := range []string{"07-communicate/worker.js", "_common/worker-harness.js"} {
		data, err := os.ReadFile(filepath.Join(referenceDir, name))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{name: string(data)})
	}
	writeFiles(t, dir, map[string]string{"package.json": `{"type": "module"}`})
	reports := t.TempDir()
	p, done := startWorkerEnv(t, dir, "07-communicate/worker.js", []string{"ISO_REF_REPORT_DIR=" + reports}, "a", "b")
	if got := p.message(); got != `"ready"` {
		t.Fatalf("first message %s", got)
	}
	for i := 0; i < 3; i++ {
		p.send(`{"count":` + string(rune('0'+2*i)) + `}`)
		if got, want := p.message(), `{"count":`+string(rune('0'+2*i+1))+`}`; got != want {
			t.Fatalf("reply %s, want %s", got, want)
		}
	}
	if err := p.w.Write(frame.Frame{Type: frame.TypeDisconnect}); err != nil {
		t.Fatal(err)
	}
	r := wait(t, done)
	if r.code != 0 || r.err != nil {
		t.Fatalf("code %d err %v stderr:\n%s", r.code, r.err, r.stderr)
	}
	report, err := os.ReadFile(filepath.Join(reports, "worker-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"argv":["a","b"],"received":[{"count":0},{"count":2},{"count":4}],"processExitEventCode":0}`; string(report) != want {
		t.Errorf("report %s\nwant   %s", report, want)
	}
	if strings.Contains(r.stderr, "Error") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestReferenceScenarios runs every reference scenario's primary.js in this
// process, as `isowasm run primary.js` would (the workers are this test
// binary re-run as workers), and compares its result line with the trace.
// The conformance package runs the same scenarios with the real binary.
func TestReferenceScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("the reference scenarios take a while")
	}
	if raceEnabled {
		t.Skip("the scenarios' timings do not hold under the race detector; the conformance package runs them with a normal build")
	}
	cache := t.TempDir()
	for _, name := range conformance.Scenarios() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, err := conformance.Trace(name)
			if err != nil {
				t.Fatal(err)
			}
			primary, err := conformance.Prepare(t.TempDir(), name)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr syncBuffer
			procs := newSubprocs(&stdout, &stderr, "ISOWASM_TEST_CACHE="+cache)
			defer procs.Close()
			ctx, cancel := context.WithTimeout(context.Background(), conformance.DefaultTimeout)
			defer cancel()
			code, err := Run(ctx, Config{
				Script: primary, Env: os.Environ(), Stdout: &stdout, Stderr: &stderr,
				CacheDir: cache, Processes: procs,
			})
			if err != nil {
				t.Fatalf("run: %v (code %d)\nstderr:\n%s", err, code, stderr.String())
			}
			got, err := conformance.Extract([]byte(stdout.String()))
			if err != nil {
				t.Fatalf("%v (code %d)\nstdout:\n%s\nstderr:\n%s", err, code, stdout.String(), stderr.String())
			}
			if diff := conformance.Compare(got, want); diff != "" {
				t.Errorf("%s\nresult: %s\nstdout:\n%s\nstderr:\n%s", diff, got, stdout.String(), stderr.String())
			}
		})
	}
}
