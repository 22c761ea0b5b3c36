package conformance

import (
	"context"
	"strings"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
)

// TestReference builds isowasm and runs every reference scenario with it,
// as a user would (`isowasm run primary.js` in the scenario's folder),
// comparing each result line with the recorded trace.
func TestReference(t *testing.T) {
	if testing.Short() {
		t.Skip("the reference scenarios take a while")
	}
	bin, err := enginetest.BuildIsowasm(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := Runner{Binary: bin, Env: []string{"XDG_CACHE_HOME=" + t.TempDir()}}
	results := r.RunAll(context.Background(), t.TempDir(), nil, 0)
	t.Log("\n" + Table(results))
	for _, res := range results {
		if !res.Pass {
			t.Errorf("%s: %s\n%s", res.Name, res.Diff, indent(res.Output))
		}
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
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

// TestReferenceIsComplete: every scenario has a trace and the copy carries
// its provenance.
func TestReferenceIsComplete(t *testing.T) {
	names := Scenarios()
	if len(names) != 21 {
		t.Errorf("%d scenarios, want 21", len(names))
	}
	for _, name := range names {
		if _, err := Trace(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := Reference.ReadFile("reference/scenarios/_common/harness.js"); err != nil {
		t.Error(err)
	}
}
