package conformance

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
)

// TestSuite builds isowasm and the Go guest and runs every scenario of the
// built-in suite with JS workers and with Wasm workers, as `isowasm
// conformance` does: each result line must equal its expectation.
func TestSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite takes a while")
	}
	dir := t.TempDir()
	bin, err := enginetest.BuildIsowasm(dir)
	if err != nil {
		t.Fatal(err)
	}
	guest, err := BuildGuest(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := Runner{Binary: bin, Guest: guest, Env: []string{"XDG_CACHE_HOME=" + t.TempDir()}}
	suite := Embedded()
	report := Report{Runtimes: []string{JS, Wasm}, Results: r.RunSuite(context.Background(), t.TempDir(), suite.Scenarios)}
	report.Count()
	t.Log("\n" + report.Table(false))
	for _, res := range report.Results {
		if res.Status == Fail {
			t.Errorf("%s (%s): %s\n%s\n%s", res.Scenario, res.Runtime, res.Reason, res.Diff, tail(res.Output, 60))
		}
	}
	// The Wasm runs did run the guest: JS workers write workerReports, the
	// guest writes none.
	for _, res := range report.Results {
		if res.Runtime == Wasm && res.Status == Pass && slices.Contains(suite.find(res.Scenario).Wasm.Ignore, "workerReports") {
			var line struct {
				Extra struct{ WorkerReports map[string]any }
			}
			if err := json.Unmarshal(res.Line, &line); err != nil || len(line.Extra.WorkerReports) != 0 {
				t.Errorf("%s: the Wasm run has JS worker reports (%v): %s", res.Scenario, err, res.Line)
			}
		}
	}
	// Every scenario with a worker.js runs with Wasm workers but 14
	// (a listening server), whose reason is printed.
	for _, res := range report.Results {
		if res.Status == Skip && res.Runtime == Wasm && !strings.Contains(res.Reason, "no worker.js") && res.Scenario != "14-listening" {
			t.Errorf("%s: Wasm run skipped: %s", res.Scenario, res.Reason)
		}
	}
}

// TestCompare checks the comparison and its report of the first
// difference.
func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name, got, want, diff string
	}{
		{"equal", `{"a":[1,{"b":2}],"c":"x"}`, `{"c":"x","a":[1,{"b":2}]}`, ""},
		{"value", `{"a":[1,{"b":3}]}`, `{"a":[1,{"b":2}]}`, "at $.a[1].b:\n  got:  3\n  want: 2"},
		{"missing key", `{"a":1}`, `{"a":1,"b":2}`, "at $.b:\n  got:  (absent)\n  want: 2"},
		{"extra key", `{"a":1,"error":"timeout"}`, `{"a":1}`, "at $.error:\n  got:  \"timeout\"\n  want: (absent)"},
		{"short array", `{"t":["x"]}`, `{"t":["x","y"]}`, "at $.t[1]:\n  got:  (absent)\n  want: \"y\""},
		{"type", `{"t":null}`, `{"t":[]}`, "at $.t:\n  got:  null\n  want: []"},
		{"trace before extra", `{"trace":["a","x"],"extra":{"a":2}}`, `{"trace":["a","b"],"extra":{"a":1}}`, "at $.trace[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff := Compare([]byte(tc.got), []byte(tc.want))
			if tc.diff == "" {
				if diff != "" {
					t.Fatalf("want equal, got %s", diff)
				}
				return
			}
			if !strings.Contains(diff, tc.diff) {
				t.Fatalf("diff %q\nwant it to contain %q", diff, tc.diff)
			}
		})
	}
}

// TestCompareIgnoring leaves the named extra keys out, and only those.
func TestCompareIgnoring(t *testing.T) {
	want := []byte(`{"trace":["a"],"extra":{"workerReports":{"1":{}},"finalExits":{"w1":0}}}`)
	if d := CompareIgnoring([]byte(`{"trace":["a"],"extra":{"workerReports":{},"finalExits":{"w1":0}}}`), want, workerReports); d != "" {
		t.Errorf("ignored key compared: %s", d)
	}
	if d := CompareIgnoring([]byte(`{"trace":["a"],"extra":{"finalExits":{"w1":1}}}`), want, workerReports); !strings.Contains(d, "$.extra.finalExits.w1") {
		t.Errorf("diff %q", d)
	}
}

// TestDiff: a changed event order shows as - and + lines, the first one
// marked with the JSON path of the first divergence, with context and no
// wall of JSON.
func TestDiff(t *testing.T) {
	trace := make([]string, 40)
	for i := range trace {
		trace[i] = "on e" + string(rune('a'+i%26))
	}
	swapped := append([]string(nil), trace...)
	swapped[20], swapped[21] = swapped[21], swapped[20]
	line := func(tr []string) []byte {
		b, _ := json.Marshal(map[string]any{"scenario": "s", "trace": tr, "messages": []any{}, "extra": map[string]any{}})
		return b
	}
	d := Diff(line(swapped), line(trace), nil)
	lines := strings.Split(strings.TrimRight(d, "\n"), "\n")
	if len(lines) > 16 {
		t.Errorf("diff of one swap is %d lines:\n%s", len(lines), d)
	}
	marked := 0
	for _, l := range lines {
		if strings.Contains(l, "<<< first divergence, at $.trace[20]") {
			marked++
			if !strings.HasPrefix(l, "- ") {
				t.Errorf("marked line %q is not the expected side", l)
			}
		}
	}
	if marked != 1 {
		t.Errorf("%d marks:\n%s", marked, d)
	}
	if !strings.Contains(d, "+     \"on eu\",") || !strings.Contains(d, "--- expected\n+++ actual") {
		t.Errorf("diff:\n%s", d)
	}
	if Diff(line(trace), line(trace), nil) != "" {
		t.Error("equal results have a diff")
	}
}

// TestExtract finds the result line among log lines.
func TestExtract(t *testing.T) {
	out := "{\"name\":\"isotropic\",\"msg\":\"x\"}\n{\"scenario\":\"s\",\"trace\":[]}\nmore\n"
	got, err := Extract([]byte(out))
	if err != nil || string(got) != `{"scenario":"s","trace":[]}` {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := Extract([]byte("nothing\n")); err != ErrNoResult {
		t.Fatalf("err %v", err)
	}
}

// TestSuiteIsComplete: every scenario has a trace and says what its Wasm
// version is; the reference copy carries its provenance; the README lists
// every scenario.
func TestSuiteIsComplete(t *testing.T) {
	if names := Scenarios(); len(names) != 21 {
		t.Errorf("%d reference scenarios, want 21", len(names))
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range Embedded().Scenarios {
		if sc.Expected == nil {
			t.Errorf("%s: no trace", sc.Name)
		}
		if sc.HasWorker && sc.Wasm.Skip == "" && !sc.Wasm.Guest && sc.Wasm.Module == "" {
			t.Errorf("%s: no Wasm version and no reason", sc.Name)
		}
		if !strings.Contains(string(readme), "| "+sc.Name+" |") {
			t.Errorf("README.md does not list %s", sc.Name)
		}
	}
	for name := range guestVersions {
		if _, err := Trace(name); err != nil {
			t.Errorf("guest version of unknown scenario %s", name)
		}
	}
	if _, err := os.Stat("reference/PROVENANCE.md"); err != nil {
		t.Error(err)
	}
}

// TestOpenAndSelect reads a suite folder and filters it.
func TestOpenAndSelect(t *testing.T) {
	dir := fakeSuite(t, "x-one", "x-two")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Scenarios) != 2 || s.Scenarios[0].Expected == nil {
		t.Fatalf("scenarios %+v", s.Scenarios)
	}
	if got := s.Select(regexp.MustCompile("two")); len(got) != 1 || got[0].Name != "x-two" {
		t.Errorf("select: %v", got)
	}
	if s.Scenarios[0].Wasm.Skip == "" {
		t.Errorf("a scenario without worker.js has a Wasm version")
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("an empty folder is a suite")
	}
}

// fakeSuite writes a suite of primary-only scenarios that print a fixed
// result line, with that line as their trace.
func fakeSuite(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		line := `{"scenario":"` + name + `","trace":["on fork","after fork"],"messages":[],"extra":{}}`
		write(t, filepath.Join(dir, "scenarios", name, "primary.js"), "console.log('"+line+"');\n")
		write(t, filepath.Join(dir, "traces", name+".json"), line+"\n")
	}
	return dir
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestLiveReference: the comparison with a live Node run, with a fake node
// that prints canned result lines: isowasm is compared with what node
// printed (not with the recording), a node that differs from the recording
// fails its own column, and a node that prints nothing falls back to the
// recording. FindNode says what to install when node_modules lacks the
// original.
func TestLiveReference(t *testing.T) {
	dir := fakeSuite(t, "x-same", "x-drift", "x-silent")
	// The fake isowasm prints the scenario's result line (what primary.js,
	// its last argument, says); the fake node prints canned lines.
	bin := filepath.Join(t.TempDir(), "isowasm")
	write(t, bin, "#!/bin/sh\nfor a; do script=$a; done\nsed -n \"s/^console.log('\\(.*\\)');$/\\1/p\" \"$script\"\n")
	node := filepath.Join(t.TempDir(), "node")
	write(t, node, `#!/bin/sh
case "$PWD" in
*x-same*) echo '{"scenario":"x-same","trace":["on fork","after fork"],"messages":[],"extra":{}}' ;;
*x-drift*) echo '{"scenario":"x-drift","trace":["on fork"],"messages":[],"extra":{}}' ;;
esac
`)
	modules := filepath.Join(t.TempDir(), "node_modules")
	write(t, filepath.Join(modules, "isotropic-cluster", "package.json"), `{"name":"isotropic-cluster","version":"0.5.0"}`)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := Runner{Binary: bin, Runtimes: []string{JS}, Reference: &NodeReference{Node: node, Modules: modules}}
	got := map[string]Result{}
	for _, res := range r.RunSuite(context.Background(), t.TempDir(), s.Scenarios) {
		got[res.Scenario+"/"+res.Runtime] = res
	}
	for key, want := range map[string]Status{
		"x-same/node": Pass, "x-same/js": Pass,
		"x-drift/node": Fail, "x-drift/js": Fail, // isowasm prints the recording, node does not
		"x-silent/node": Fail, "x-silent/js": Pass, // compared with the recording
	} {
		if got[key].Status != want {
			t.Errorf("%s: %s (%s), want %s", key, got[key].Status, got[key].Reason, want)
		}
	}
	if r := got["x-drift/js"]; !strings.Contains(r.Against, "live run") || !strings.Contains(r.Diff, "first divergence, at $.trace[1]") {
		t.Errorf("x-drift/js against %q diff:\n%s", r.Against, r.Diff)
	}
	if r := got["x-silent/js"]; !strings.Contains(r.Against, "recorded trace") {
		t.Errorf("x-silent/js against %q", r.Against)
	}

	// Recording writes the node results as traces.
	out := t.TempDir()
	var results []Result
	for _, res := range got {
		results = append(results, res)
	}
	paths, err := Record(out, results)
	if err != nil || len(paths) != 2 {
		t.Fatalf("recorded %v, %v", paths, err)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "x-drift.json")); !strings.Contains(string(data), "\"trace\": [\n    \"on fork\"\n  ]") {
		t.Errorf("recorded:\n%s", data)
	}

	// Without the package: the error says what to install.
	t.Setenv("PATH", filepath.Dir(node)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if _, err := FindNode(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "npm install isotropic-cluster@0.5.0") {
		t.Errorf("FindNode without the package: %v", err)
	}
}

func (s *Suite) find(name string) *Scenario {
	for _, sc := range s.Scenarios {
		if sc.Name == name {
			return sc
		}
	}
	return &Scenario{}
}
