package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Report is a whole conformance run, as `isowasm conformance --json`
// prints it.
type Report struct {
	// Isowasm is the version of the binary under test.
	Isowasm string `json:"isowasm"`
	// Suite says where the scenarios came from.
	Suite string `json:"suite"`
	// Reference is what isowasm was compared with: "recorded traces", or
	// the live Node and isotropic-cluster versions.
	Reference string   `json:"reference"`
	Runtimes  []string `json:"runtimes"`
	Results   []Result `json:"results"`
	Summary   Summary  `json:"summary"`
	// Notes are things a reader should know (a guest that could not be
	// built, a live reference that could not run, traces recorded).
	Notes []string `json:"notes,omitempty"`
}

// Summary counts the results.
type Summary struct {
	Pass int `json:"pass"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

// Count fills the summary from the results.
func (r *Report) Count() {
	r.Summary = Summary{}
	for _, res := range r.Results {
		switch res.Status {
		case Pass:
			r.Summary.Pass++
		case Fail:
			r.Summary.Fail++
		case Skip:
			r.Summary.Skip++
		}
	}
}

// JSON is the report, indented.
func (r *Report) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r)
	return b.Bytes()
}

// Table is the report as text: one line per scenario, a column per
// runtime (pass / FAIL / skip), the skip reasons grouped below, each
// failure's first difference (with its readable diff when verbose), and
// the counts.
func (r *Report) Table(verbose bool) string {
	var b strings.Builder
	var names []string
	cells := map[string]map[string]Result{}
	width := len("scenario")
	for _, res := range r.Results {
		if cells[res.Scenario] == nil {
			cells[res.Scenario] = map[string]Result{}
			names = append(names, res.Scenario)
			width = max(width, len(res.Scenario))
		}
		cells[res.Scenario][res.Runtime] = res
	}
	fmt.Fprintf(&b, "%-*s", width, "scenario")
	for _, rt := range r.Runtimes {
		fmt.Fprintf(&b, "  %-12s", rt)
	}
	b.WriteString("\n")
	skips := map[string][]string{}
	var failures []Result
	for _, name := range names {
		fmt.Fprintf(&b, "%-*s", width, name)
		for _, rt := range r.Runtimes {
			res, ok := cells[name][rt]
			cell := "-"
			if ok {
				switch res.Status {
				case Pass:
					cell = fmt.Sprintf("pass %4.1fs", res.Duration.Seconds())
				case Fail:
					cell = fmt.Sprintf("FAIL %4.1fs", res.Duration.Seconds())
					failures = append(failures, res)
				case Skip:
					cell = "skip"
					key := rt + ": " + res.Reason
					skips[key] = append(skips[key], name)
				}
			}
			fmt.Fprintf(&b, "  %-12s", cell)
		}
		b.WriteString("\n")
	}
	if len(skips) > 0 {
		b.WriteString("\nskipped:\n")
		keys := make([]string, 0, len(skips))
		for k := range skips {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s\n      %s\n", k, strings.Join(skips[k], ", "))
		}
	}
	for _, res := range failures {
		fmt.Fprintf(&b, "\nFAIL %s (%s), compared with %s:\n%s\n", res.Scenario, res.Runtime, res.Against, indent(res.Reason))
		if verbose && res.Diff != "" {
			b.WriteString(indent(strings.TrimRight(res.Diff, "\n")) + "\n")
		}
		if errs := strings.TrimSpace(stderrOf(res.Output)); verbose && errs != "" {
			b.WriteString("  its stderr (the end):\n" + indent(indent(tail(errs, 40))) + "\n")
		}
	}
	if len(failures) > 0 && !verbose {
		b.WriteString("\n(--verbose shows each failure's diff, first divergence marked, and its stderr)\n")
	}
	for _, n := range r.Notes {
		b.WriteString("\nnote: " + n + "\n")
	}
	fmt.Fprintf(&b, "\n%d pass, %d fail, %d skip (%d runs of %d scenarios)\n",
		r.Summary.Pass, r.Summary.Fail, r.Summary.Skip, len(r.Results), len(names))
	return b.String()
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

func stderrOf(output string) string {
	if _, after, ok := strings.Cut(output, "\nstderr:\n"); ok {
		return after
	}
	return output
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// Record writes the result line of each passing or failing Node run in
// results to dir/<scenario>.json, pretty-printed as the recorded traces
// are, and returns the paths written.
func Record(dir string, results []Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("conformance: recording: %w", err)
	}
	var written []string
	for _, res := range results {
		if res.Runtime != Node || res.Line == nil {
			continue
		}
		var b bytes.Buffer
		if err := json.Indent(&b, res.Line, "", "  "); err != nil {
			return written, fmt.Errorf("conformance: recording %s: %w", res.Scenario, err)
		}
		b.WriteByte('\n')
		p := filepath.Join(dir, res.Scenario+".json")
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return written, fmt.Errorf("conformance: recording %s: %w", res.Scenario, err)
		}
		written = append(written, p)
	}
	return written, nil
}
