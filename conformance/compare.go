package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Compare compares a result line with a recorded trace as JSON values and
// returns "" when they are equal, else where they first differ: its JSON
// path and both values.
func Compare(got, want []byte) string { return CompareIgnoring(got, want, nil) }

// CompareIgnoring is Compare leaving out the named keys of both results'
// "extra" object.
func CompareIgnoring(got, want []byte, ignore []string) string {
	g, w, msg := decodePair(got, want, ignore)
	if msg != "" {
		return msg
	}
	if reflect.DeepEqual(g, w) {
		return ""
	}
	at, gv, wv := firstDifference("$", g, w)
	return fmt.Sprintf("first difference at %s:\n  got:  %s\n  want: %s", at, show(gv), show(wv))
}

func decodePair(got, want []byte, ignore []string) (g, w any, msg string) {
	if err := json.Unmarshal(got, &g); err != nil {
		return nil, nil, fmt.Sprintf("the result line is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return nil, nil, fmt.Sprintf("the expected result is not JSON: %v", err)
	}
	for _, v := range []any{g, w} {
		if m, ok := v.(map[string]any); ok {
			if extra, ok := m["extra"].(map[string]any); ok {
				for _, k := range ignore {
					delete(extra, k)
				}
			}
		}
	}
	return g, w, ""
}

// missing stands for an absent key or array element in a difference.
type missing struct{}

func show(v any) string {
	if _, ok := v.(missing); ok {
		return "(absent)"
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// firstDifference walks both values in document order and returns the
// path of the first place they differ.
func firstDifference(at string, got, want any) (string, any, any) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return at, got, want
		}
		for _, k := range unionKeys(g, w) {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				return at + "." + k, missing{}, wv
			case !wok:
				return at + "." + k, gv, missing{}
			case !reflect.DeepEqual(gv, wv):
				return firstDifference(at+"."+k, gv, wv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return at, got, want
		}
		for i := 0; i < max(len(g), len(w)); i++ {
			p := at + "[" + strconv.Itoa(i) + "]"
			switch {
			case i >= len(g):
				return p, missing{}, w[i]
			case i >= len(w):
				return p, g[i], missing{}
			case !reflect.DeepEqual(g[i], w[i]):
				return firstDifference(p, g[i], w[i])
			}
		}
	}
	return at, got, want
}

// unionKeys is the keys of both objects in document order: the result
// line's top-level order first (scenario, trace, messages, extra), then
// the rest sorted.
func unionKeys(g, w map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, k := range []string{"scenario", "trace", "messages", "extra", "error"} {
		_, a := g[k]
		_, b := w[k]
		if a || b {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	var rest []string
	for _, m := range []map[string]any{w, g} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				rest = append(rest, k)
			}
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

// Diff is a readable line diff of an expected and an actual result: both
// pretty-printed (one trace event a line, keys in the order Compare walks
// them), changed lines marked - (expected) and + (actual) with 3 lines of
// context, and the first divergence marked with an arrow and its JSON path.
// It is "" when they are equal.
func Diff(got, want []byte, ignore []string) string {
	g, w, msg := decodePair(got, want, ignore)
	if msg != "" {
		return msg
	}
	if reflect.DeepEqual(g, w) {
		return ""
	}
	at, _, _ := firstDifference("$", g, w)
	a, b := prettyLines(w), prettyLines(g)
	ops := diffLines(a, b)
	const context = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- expected\n+++ actual\n")
	marked := false
	lastPrinted := -1
	for i, op := range ops {
		if op.kind == ' ' {
			near := false
			for j := max(0, i-context); j <= min(len(ops)-1, i+context); j++ {
				if ops[j].kind != ' ' {
					near = true
					break
				}
			}
			if !near {
				continue
			}
		}
		if lastPrinted >= 0 && i > lastPrinted+1 {
			out.WriteString("  …\n")
		}
		lastPrinted = i
		line := fmt.Sprintf("%c %s", op.kind, op.text)
		if op.kind != ' ' && !marked {
			marked = true
			line += "    <<< first divergence, at " + at
		}
		out.WriteString(line + "\n")
	}
	return out.String()
}

// prettyLines prints v indented, one array element or object member a
// line, objects' keys in unionKeys order at the top and sorted below.
func prettyLines(v any) []string {
	var b bytes.Buffer
	writePretty(&b, v, "", true)
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}

func writePretty(b *bytes.Buffer, v any, indent string, top bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		var keys []string
		if top {
			keys = unionKeys(x, x)
		} else {
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		}
		b.WriteString("{\n")
		for i, k := range keys {
			kb, _ := json.Marshal(k)
			b.WriteString(indent + "  " + string(kb) + ": ")
			writePretty(b, x[k], indent+"  ", false)
			if i < len(keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(indent + "  ")
			writePretty(b, e, indent+"  ", false)
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		var s bytes.Buffer
		enc := json.NewEncoder(&s)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x)
		b.Write(bytes.TrimRight(s.Bytes(), "\n"))
	}
	if top {
		b.WriteByte('\n')
	}
}

type diffOp struct {
	kind byte // ' ', '-' (only in a, expected), '+' (only in b, actual)
	text string
}

// diffLines is a longest-common-subsequence line diff of a and b.
func diffLines(a, b []string) []diffOp {
	// Trim the common head and tail: the table below is then small.
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	ma, mb := a[head:len(a)-tail], b[head:len(b)-tail]
	n, m := len(ma), len(mb)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if ma[i] == mb[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	for _, s := range a[:head] {
		ops = append(ops, diffOp{' ', s})
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && ma[i] == mb[j]:
			ops = append(ops, diffOp{' ', ma[i]})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', ma[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', mb[j]})
			j++
		}
	}
	for _, s := range a[len(a)-tail:] {
		ops = append(ops, diffOp{' ', s})
	}
	return ops
}
