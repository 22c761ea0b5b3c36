package js

import (
	"strings"
	"testing"
)

// The body of a try statement with a catch clause runs through tryGuard
// only when it means the same as an arrow function's body, and only in the
// user's modules.
func TestInstrumentTryGuard(t *testing.T) {
	tests := []struct {
		name, code string
		guarded    bool
	}{
		{"call", "function f () { try { g(); } catch (e) { h(e); } }", true},
		{"this, arguments, let, nested function", "function f () { try { let x = this.a + arguments[0]; const k = () => { return x; }; k(); } catch { } }", true},
		{"loop with its own break inside a function", "try { [1].forEach(function () { for (;;) { break; } return 1; }); } catch (e) {}", true},
		{"no catch clause", "try { g(); } finally { h(); }", false},
		{"empty", "try { } catch (e) { }", false},
		{"return", "function f () { try { return g(); } catch (e) { } }", false},
		{"break", "for (;;) { try { break; } catch (e) { } }", false},
		{"continue", "for (;;) { try { continue; } catch (e) { } }", false},
		{"await", "async function f () { try { await g(); } catch (e) { } }", false},
		{"yield", "function* f () { try { yield 1; } catch (e) { } }", false},
		{"var", "function f () { try { var x = g(); } catch (e) { } return x; }", false},
		{"for var", "function f () { try { for (var k in o) { } } catch (e) { } }", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := instrumentCatches(tt.code, func(int) bool { return true })
			if strings.Contains(got, tryGuardOpen) != tt.guarded {
				t.Errorf("guarded %v, want %v:\n%s", !tt.guarded, tt.guarded, got)
			}
			if got := instrumentCatches(tt.code, func(int) bool { return false }); strings.Contains(got, tryGuardOpen) {
				t.Errorf("guarded where the guard refuses:\n%s", got)
			}
		})
	}
}

// userModules tells the user's modules of a bundle from the built-ins by
// esbuild's "// path" lines.
func TestUserModules(t *testing.T) {
	code := "(async function (__isowasm) {\n// isowasm:node:events\nA\n// srv/app/main.js\nB\n// isowasm:node:process\nC\n})"
	user := userModules(code)
	for _, c := range []struct {
		mark string
		want bool
	}{{"(async", false}, {"A", false}, {"B", true}, {"C", false}} {
		if got := user(strings.Index(code, c.mark)); got != c.want {
			t.Errorf("%q: user %v, want %v", c.mark, got, c.want)
		}
	}
}
