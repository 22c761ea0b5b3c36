package js

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// segment is one decoded mapping: generated line and column, source,
// source line and column (absolute), and how many fields it had.
type segment struct{ line, col, src, srcLine, srcCol, n int }

func decodeMappings(t *testing.T, mappings string) []segment {
	t.Helper()
	var out []segment
	var src, srcLine, srcCol, name int
	for line, text := range strings.Split(mappings, ";") {
		col := 0
		for seg := range strings.SplitSeq(text, ",") {
			if seg == "" {
				continue
			}
			var f []int
			for p := 0; p < len(seg); {
				v, size, ok := decodeVLQ(seg[p:])
				if !ok {
					t.Fatalf("bad segment %q", seg)
				}
				f = append(f, v)
				p += size
			}
			col += f[0]
			s := segment{line: line, col: col, n: len(f), src: -1}
			if len(f) >= 4 {
				src += f[1]
				srcLine += f[2]
				srcCol += f[3]
				s.src, s.srcLine, s.srcCol = src, srcLine, srcCol
			}
			if len(f) == 5 {
				name += f[4]
			}
			out = append(out, s)
		}
	}
	return out
}

func encodeMappings(segs []segment) string {
	var b strings.Builder
	line, col, src, srcLine, srcCol := 0, 0, 0, 0, 0
	first := true
	for _, s := range segs {
		for line < s.line {
			b.WriteByte(';')
			line++
			col = 0
			first = true
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		encodeVLQ(&b, s.col-col)
		col = s.col
		if s.n >= 4 {
			encodeVLQ(&b, s.src-src)
			encodeVLQ(&b, s.srcLine-srcLine)
			encodeVLQ(&b, s.srcCol-srcCol)
			src, srcLine, srcCol = s.src, s.srcLine, s.srcCol
		}
	}
	return b.String()
}

// TestThinMappings: the user's segments keep their absolute positions, a
// built-in keeps the first segment of each line, and nothing else changes.
func TestThinMappings(t *testing.T) {
	// Sources 0 and 2 are built-ins, 1 is the user's.
	builtin := []bool{true, false, true}
	in := []segment{
		{0, 0, 0, 0, 0, 4}, {0, 5, 0, 0, 5, 4}, {0, 9, 0, 0, 12, 4},
		{1, 2, 0, 1, 2, 4}, {1, 7, 1, 10, 3, 4}, {1, 9, 1, 10, 8, 4}, {1, 20, 2, 4, 0, 4},
		{3, 0, 1, 11, 0, 4}, {3, 4, -1, 0, 0, 1}, {3, 8, 1, 11, 9, 4},
		{4, 1, 2, 5, 1, 4}, {4, 3, 2, 5, 3, 4},
	}
	want := []segment{
		{0, 0, 0, 0, 0, 4},
		{1, 2, 0, 1, 2, 4}, {1, 7, 1, 10, 3, 4}, {1, 9, 1, 10, 8, 4},
		{3, 0, 1, 11, 0, 4}, {3, 4, -1, 0, 0, 1}, {3, 8, 1, 11, 9, 4},
		{4, 1, 2, 5, 1, 4},
	}
	got, ok := thinMappings(encodeMappings(in), builtin)
	if !ok {
		t.Fatal("thinMappings refused its input")
	}
	if g, w := decodeMappings(t, got), want; len(g) != len(w) {
		t.Fatalf("got %v\nwant %v", g, w)
	} else {
		for i := range g {
			if g[i] != w[i] {
				t.Errorf("segment %d: got %v, want %v", i, g[i], w[i])
			}
		}
	}
	// Nothing built-in: the very same text.
	if got, _ := thinMappings(encodeMappings(in), make([]bool, 3)); got != encodeMappings(in) {
		t.Errorf("no built-in: got %q, want the input", got)
	}
	for _, bad := range []string{"!", "AAAAAAA", "AAAAAA", "AC"} {
		if _, ok := thinMappings(bad, builtin); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestBundleSourceMap: a bundle's map keeps every segment of the user's
// files and at most one per line of the built-ins.
func TestBundleSourceMap(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "main.mjs")
	if err := os.WriteFile(script, []byte("import _make from 'isotropic-make';\nconst A = _make({f () { return 1; }});\nconsole.log(A().f());\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := build(script)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(b.Code, sourceMapPrefix)
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b.Code[i+len(sourceMapPrefix):]))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Sources  []string `json:"sources"`
		Mappings string   `json:"mappings"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	perLine := map[int]int{}
	user := 0
	for _, s := range decodeMappings(t, m.Mappings) {
		if s.src < 0 {
			continue
		}
		if strings.HasPrefix(m.Sources[s.src], namespace+":") {
			perLine[s.line]++
			if perLine[s.line] > 1 {
				t.Fatalf("line %d has %d built-in segments", s.line, perLine[s.line])
			}
		} else {
			user++
		}
	}
	if user < 10 || len(perLine) < 100 {
		t.Errorf("%d user segments, %d built-in lines: the map lost too much", user, len(perLine))
	}
}
