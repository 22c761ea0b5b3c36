package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// conformanceRun runs `isowasm conformance args...` and returns its
// stdout, stderr and exit code.
func conformanceRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"conformance"}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestConformanceTable: --run selects scenarios; each runs with JS and
// Wasm workers (08 with the Go guest, w1 with its own worker.wasm, 01 has
// no worker.js); progress on stderr, the table on stdout, exit 0.
func TestConformanceTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios")
	}
	stdout, stderr, code := conformanceRun(t, "--run", "^(01|08|w1)-")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, re := range []string{
		`(?m)^scenario\s+js\s+wasm\s*$`,
		`(?m)^01-worker-construct\s+pass\s+\S+\s+skip\s*$`,
		`(?m)^08-typed-routing\s+pass\s+\S+\s+pass\s+\S+\s*$`,
		`(?m)^w1-wasm-trap\s+pass\s+\S+\s+pass\s+\S+\s*$`,
		`no worker.js`,
		`(?m)^5 pass, 0 fail, 1 skip \(6 runs of 3 scenarios\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("stdout lacks %s:\n%s", re, stdout)
		}
	}
	if strings.Contains(stdout, "13-multiple") {
		t.Errorf("--run let another scenario through:\n%s", stdout)
	}
	if !regexp.MustCompile(`(?m)^\[[ 1-6]/6\] 08-typed-routing\s+wasm … pass`).MatchString(stderr) {
		t.Errorf("no progress line on stderr:\n%s", stderr)
	}
}

// TestConformanceJSON: the report's shape.
func TestConformanceJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios")
	}
	stdout, stderr, code := conformanceRun(t, "--json", "--run", "^(07|w2)-")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var report struct {
		Isowasm, Suite, Reference string
		Runtimes                  []string
		Results                   []struct {
			Scenario, Set, Runtime, Status, Against string
			DurationMS                              int64 `json:"durationMs"`
			Result                                  json.RawMessage
		}
		Summary struct{ Pass, Fail, Skip int }
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if report.Reference != "recorded traces" || strings.Join(report.Runtimes, ",") != "js,wasm" || report.Summary.Pass != 4 || len(report.Results) != 4 {
		t.Fatalf("report %+v", report)
	}
	for _, res := range report.Results {
		if res.Status != "pass" || len(res.Result) == 0 || res.DurationMS <= 0 {
			t.Errorf("result %+v", res)
		}
		if res.Scenario == "07-communicate" && res.Runtime == "wasm" && !strings.Contains(res.Against, "but extra.workerReports") {
			t.Errorf("07 wasm compared on %q", res.Against)
		}
		wantSet := map[string]string{"07-communicate": "reference", "w2-wasm-init-error": "isowasm"}[res.Scenario]
		if res.Set != wantSet {
			t.Errorf("%s: set %q", res.Scenario, res.Set)
		}
	}
}

// TestConformanceFailure: a scenario whose expected trace has two events
// swapped (what a build that changed the event order would give) fails
// with JS and Wasm workers, exit 1, and --verbose shows a diff marking the
// first divergence.
func TestConformanceFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios")
	}
	suite := t.TempDir()
	const name = "08-typed-routing"
	src := filepath.Join("..", "..", "conformance", "reference", "scenarios", name)
	for _, f := range []string{"primary.js", "worker.js"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(suite, "scenarios", name, f), data)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "conformance", "reference", "traces", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var trace map[string]any
	if err := json.Unmarshal(data, &trace); err != nil {
		t.Fatal(err)
	}
	events := trace["trace"].([]any)
	events[8], events[9] = events[9], events[8] // on workerReady <-> on addWorker
	broken, _ := json.Marshal(trace)
	writeFile(t, filepath.Join(suite, "traces", name+".json"), broken)

	stdout, stderr, code := conformanceRun(t, "--suite", suite, "--verbose")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^08-typed-routing\s+FAIL\s+\S+\s+FAIL\s+\S+\s*$`).MatchString(stdout) {
		t.Errorf("table:\n%s", stdout)
	}
	for _, want := range []string{
		"FAIL 08-typed-routing (js)",
		"FAIL 08-typed-routing (wasm)",
		"first difference at $.trace[8]",
		`-     "on addWorker",    <<< first divergence, at $.trace[8]`,
		"0 pass, 2 fail, 0 skip",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// Without --verbose: the first difference, and no diff.
	stdout, _, _ = conformanceRun(t, "--suite", suite, "--runtime", "js")
	if strings.Contains(stdout, "<<<") || !strings.Contains(stdout, "--verbose shows") {
		t.Errorf("without --verbose:\n%s", stdout)
	}
}

// TestConformanceReferenceMissing: --reference node without the original
// says what to install and skips the Node runs; --record cannot run.
func TestConformanceReferenceMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios")
	}
	empty := t.TempDir()
	stdout, stderr, code := conformanceRun(t, "--reference", "node", "--node-modules", empty, "--run", "^w3-", "--runtime", "js")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	install := "npm install isotropic-cluster@0.5.0"
	if _, err := exec.LookPath("node"); err != nil {
		install = "install Node.js"
	}
	if !strings.Contains(stderr, install) || !strings.Contains(stdout, install) {
		t.Errorf("no install hint %q:\nstdout:\n%s\nstderr:\n%s", install, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^scenario\s+node\s+js\s*$`).MatchString(stdout) || !regexp.MustCompile(`(?m)^w3-wasm-abi-error\s+skip\s+pass`).MatchString(stdout) {
		t.Errorf("table:\n%s", stdout)
	}
	_, stderr, code = conformanceRun(t, "--record", t.TempDir(), "--node-modules", empty, "--run", "^w3-")
	if code == 0 || !strings.Contains(stderr, "--record needs the original") {
		t.Errorf("--record without node: exit %d\n%s", code, stderr)
	}
	_, stderr, code = conformanceRun(t, "--run", "nothing-matches-this")
	if code == 0 || !strings.Contains(stderr, "no scenario matches") {
		t.Errorf("empty selection: exit %d\n%s", code, stderr)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
