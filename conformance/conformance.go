// Package conformance is isowasm's conformance suite: scenarios that drive
// isotropic-cluster's public API from a primary.js and print one result
// line, the traces that line must equal, and the runner that runs them with
// an isowasm binary (JS workers, and Wasm workers where the scenario has a
// Wasm version), or under Node with the original library, and reports how
// each run compares.
//
// The suite is embedded, so `isowasm conformance` works from anywhere:
//   - reference/: the scenarios recorded by running the ORIGINAL library on
//     Node (ground truth, never edited; see reference/PROVENANCE.md);
//   - scenarios/ and traces/: isowasm's own scenarios for what the
//     reference set cannot cover (Wasm-only behaviour), with expectations
//     derived from the JS behaviour, each saying how in its header;
//   - wasm/guest: the Go source of the compiled worker that plays the
//     reference scenarios' worker.js (built on demand; see BuildGuest).
//
// A run copies a scenario folder and the shared _common/ helpers to a
// temporary directory, runs `isowasm run primary.js` there, extracts the
// line starting with {"scenario": and compares it with the expectation as
// JSON values. The scenarios already normalise what varies between runs
// (ports, timings, cross-worker order), so the comparison is exact.
package conformance

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// files is the embedded suite.
//
//go:embed all:reference all:scenarios all:traces
var files embed.FS

// resultPrefix starts the one line a scenario prints as its result.
const resultPrefix = `{"scenario":`

// DefaultTimeout bounds one scenario run. The slowest reference scenario
// takes about 10 s (a worker's 6.5 s destroy grace period and more).
const DefaultTimeout = 60 * time.Second

// Scenarios lists the names of the reference scenarios, sorted.
func Scenarios() []string {
	var names []string
	for _, sc := range referenceSet().load() {
		names = append(names, sc.Name)
	}
	return names
}

// Trace returns the recorded result of a reference scenario.
func Trace(name string) ([]byte, error) {
	data, err := fs.ReadFile(files, "reference/traces/"+name+".json")
	if err != nil {
		return nil, fmt.Errorf("conformance: no trace for scenario %s: %w", name, err)
	}
	return data, nil
}

// Prepare copies reference scenario name and the shared helpers into dir
// (dir/name and dir/_common, as they sit in reference/scenarios, since the
// scripts import ../_common/…) and returns the path of its primary.js.
func Prepare(dir, name string) (string, error) {
	for _, sc := range referenceSet().load() {
		if sc.Name == name {
			return sc.Prepare(dir)
		}
	}
	return "", fmt.Errorf("conformance: no reference scenario %s", name)
}

// ErrNoResult is a run whose output has no result line.
var ErrNoResult = errors.New("conformance: no result line in the output")

// Extract returns the result line of a scenario's output.
func Extract(stdout []byte) ([]byte, error) {
	for _, line := range bytes.Split(stdout, []byte("\n")) {
		if bytes.HasPrefix(line, []byte(resultPrefix)) {
			return bytes.TrimRight(line, "\r"), nil
		}
	}
	return nil, ErrNoResult
}
