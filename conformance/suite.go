package conformance

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Scenario is one scenario of a suite: a folder with primary.js (and often
// worker.js), the recorded result it must print, and how it runs with Wasm
// workers.
type Scenario struct {
	// Name is the folder's name, e.g. "07-communicate".
	Name string
	// Set is where it comes from: "reference" (recorded from the original
	// on Node), "isowasm" (this project's own, derived from the JS
	// behaviour) or "suite" (a --suite folder).
	Set string
	// Expected is the recorded result; nil when there is none (then only a
	// live reference run gives an expectation).
	Expected []byte
	// HasWorker says the folder has a worker.js, which the primary forks.
	HasWorker bool
	// Wasm is the scenario's Wasm version.
	Wasm WasmVersion

	files  fs.FS // the scenario folder
	common fs.FS // the _common helpers it imports as ../_common/
}

// WasmVersion says how a scenario runs with compiled workers: the
// scenario's own worker.wasm, or the suite's Go guest playing its
// worker.js; or why it has none.
type WasmVersion struct {
	// Module is the scenario's own compiled worker, a file of its folder
	// ("" when it has none).
	Module string
	// Guest says the scenario runs with the conformance Go guest
	// (wasm/guest), told the scenario's name.
	Guest bool
	// Ignore lists the keys of the result's "extra" that are not compared
	// for Wasm workers, because JS workers produce them in ways a guest has
	// no counterpart for (files a worker.js writes on exit).
	Ignore []string
	// Skip is why the scenario has no Wasm version ("" when it has one).
	Skip string
}

// Compared says in words what a Wasm run of the scenario is compared on.
func (w WasmVersion) Compared() string {
	if len(w.Ignore) == 0 {
		return "the whole result"
	}
	keys := make([]string, len(w.Ignore))
	for i, k := range w.Ignore {
		keys[i] = "extra." + k
	}
	return "the whole result but " + strings.Join(keys, ", ")
}

// set is a folder of scenario folders and a folder of traces, in fsys.
type set struct {
	name      string
	fsys      fs.FS
	scenarios string // folder of scenario folders
	traces    string // folder of <name>.json
}

func referenceSet() set {
	return set{name: "reference", fsys: files, scenarios: "reference/scenarios", traces: "reference/traces"}
}

// load lists the set's scenarios, sorted by name; folders starting with _
// are helpers. A set without its own _common uses the reference one.
func (s set) load() []*Scenario {
	entries, _ := fs.ReadDir(s.fsys, s.scenarios)
	common, err := fs.Sub(s.fsys, path.Join(s.scenarios, "_common"))
	if _, statErr := fs.Stat(s.fsys, path.Join(s.scenarios, "_common")); err != nil || statErr != nil {
		common, _ = fs.Sub(files, "reference/scenarios/_common")
	}
	var out []*Scenario
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "_") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := path.Join(s.scenarios, e.Name())
		sub, err := fs.Sub(s.fsys, dir)
		if err != nil {
			continue
		}
		if _, err := fs.Stat(sub, "primary.js"); err != nil {
			continue
		}
		sc := &Scenario{Name: e.Name(), Set: s.name, files: sub, common: common}
		sc.Expected, _ = fs.ReadFile(s.fsys, path.Join(s.traces, e.Name()+".json"))
		_, err = fs.Stat(sub, "worker.js")
		sc.HasWorker = err == nil
		sc.Wasm = wasmVersion(sc)
		out = append(out, sc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Suite is the scenarios a run chooses from.
type Suite struct {
	// Origin says where the suite was read from.
	Origin    string
	Scenarios []*Scenario
}

// Embedded is the suite built into this package: the reference scenarios
// and isowasm's own.
func Embedded() *Suite {
	s := &Suite{Origin: "built in"}
	s.Scenarios = append(referenceSet().load(),
		set{name: "isowasm", fsys: files, scenarios: "scenarios", traces: "traces"}.load()...)
	return s
}

// Open reads a suite from a folder laid out as the reference one: dir/
// scenarios/<name>/primary.js (+ worker.js, worker.wasm), dir/traces/
// <name>.json, and optionally dir/scenarios/_common/ (else the reference
// helpers are used).
func Open(dir string) (*Suite, error) {
	if _, err := os.Stat(filepath.Join(dir, "scenarios")); err != nil {
		return nil, fmt.Errorf("conformance: %s is not a suite: it needs a scenarios/ folder (and traces/): %w", dir, err)
	}
	s := &Suite{Origin: dir}
	s.Scenarios = set{name: "suite", fsys: os.DirFS(dir), scenarios: "scenarios", traces: "traces"}.load()
	if len(s.Scenarios) == 0 {
		return nil, fmt.Errorf("conformance: no scenario in %s/scenarios (each is a folder with a primary.js)", dir)
	}
	return s, nil
}

// Select returns the scenarios whose name matches re (all when re is nil).
func (s *Suite) Select(re *regexp.Regexp) []*Scenario {
	var out []*Scenario
	for _, sc := range s.Scenarios {
		if re == nil || re.MatchString(sc.Name) {
			out = append(out, sc)
		}
	}
	return out
}

// Prepare copies the scenario and the helpers it imports into dir
// (dir/<name> and dir/_common) and returns the path of its primary.js. A
// package.json marks the copies as ES modules, as the recording's project
// did.
func (sc *Scenario) Prepare(dir string) (string, error) {
	if err := copyFS(filepath.Join(dir, sc.Name), sc.files); err != nil {
		return "", fmt.Errorf("conformance: copying scenario %s: %w", sc.Name, err)
	}
	if err := copyFS(filepath.Join(dir, "_common"), sc.common); err != nil {
		return "", fmt.Errorf("conformance: copying the helpers of scenario %s: %w", sc.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type": "module"}`+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("conformance: %w", err)
	}
	return filepath.Join(dir, sc.Name, "primary.js"), nil
}

func copyFS(dst string, src fs.FS) error {
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		to := filepath.Join(dst, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
}
