package wasm_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/wasm"
)

// sandboxGuest is testdata/sandboxguest, the hostile guest.
func sandboxGuest(t testing.TB) string { return buildGoGuest(t, "runtimes/wasm/testdata/sandboxguest") }

func withDirs(dirs ...wasm.Dir) option { return func(c *wasm.Config) { c.AllowDirs = dirs } }

// ask sends {type: typ, ...} to the sandbox guest and returns its results.
func (s *session) ask(typ string, kv ...any) map[string]any {
	s.t.Helper()
	s.send(obj(append([]any{"type", typ}, kv...)...))
	f := s.next()
	for f.Type == frame.TypeListening { // a listen that succeeded says so first
		f = s.next()
	}
	var v any
	if f.Type != frame.TypeMessage || frame.Unmarshal(f.Body, &v) != nil {
		s.t.Fatalf("answer to %s: a %s frame", typ, f.Type)
	}
	m, ok := v.(map[string]any)
	if !ok || m["type"] != typ {
		s.t.Fatalf("answer to %s: %#v\nstderr: %s", typ, m, s.stderr.String())
	}
	results, _ := m["results"].(map[string]any)
	return results
}

// TestDirGrantConfines attacks the granted directories from a guest: with
// links that were there before it ran (absolute, relative, to a
// directory), links it makes itself, "..", and writes through a read-only
// grant. Every attempt is refused and nothing outside changes; ordinary
// use inside the grant works.
func TestDirGrantConfines(t *testing.T) {
	top := t.TempDir()
	jail, ro, outside := filepath.Join(top, "jail"), filepath.Join(top, "ro"), filepath.Join(top, "outside")
	for _, d := range []string{jail, ro, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(top, "secret.txt")
	mustWrite(t, secret, "secret")
	mustWrite(t, filepath.Join(ro, "inside.txt"), "inside, read-only")
	for link, target := range map[string]string{
		"abs":     secret,
		"rel":     "../secret.txt",
		"dirlink": "../outside",
	} {
		if err := os.Symlink(target, filepath.Join(jail, link)); err != nil {
			t.Fatal(err)
		}
	}

	s := start(t, sandboxGuest(t), withDirs(wasm.Dir{Host: jail, Guest: "/jail"}, wasm.Dir{Host: ro, Guest: "/ro", ReadOnly: true}))
	s.expectReady()
	got := s.ask("fs")
	for _, ok := range []string{"write", "read", "mkdir", "rename", "readdir", "linkInside", "remove", "readRO"} {
		if got[ok] != "ok" {
			t.Errorf("%s inside the grant: %v, want ok", ok, got[ok])
		}
	}
	for _, escape := range []string{"dotdot", "rawDotdot", "absLink", "relLink", "writeThroughRelLink", "dirLink", "madeRelLink", "madeWriteLink", "madeUpLink", "madeAbsLink", "writeRO", "overwriteRO", "mkdirRO", "removeRO"} {
		if r, ok := got[escape].(string); !ok || r == "ok" {
			t.Errorf("%s: %v, want refused", escape, got[escape])
		} else {
			t.Logf("%s: %s", escape, r)
		}
	}

	// Nothing outside the grants changed.
	if b, _ := os.ReadFile(secret); string(b) != "secret" {
		t.Errorf("secret.txt now holds %q", b)
	}
	for _, p := range []string{filepath.Join(top, "planted.txt"), filepath.Join(outside, "planted.txt"), filepath.Join(ro, "new.txt"), filepath.Join(ro, "sub")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("the guest made %s", p)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(ro, "inside.txt")); string(b) != "inside, read-only" {
		t.Errorf("the read-only file now holds %q", b)
	}
	entries, _ := os.ReadDir(top)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "jail outside ro secret.txt" {
		t.Errorf("the grants' parent holds %v", names)
	}
	s.disconnect()
	s.exit(0)
}

func TestParseDir(t *testing.T) {
	tests := []struct {
		spec string
		want wasm.Dir
		ok   bool
	}{
		{"/srv", wasm.Dir{Host: "/srv", Guest: "/srv"}, true},
		{"/srv:ro", wasm.Dir{Host: "/srv", Guest: "/srv", ReadOnly: true}, true},
		{"/srv:/data", wasm.Dir{Host: "/srv", Guest: "/data"}, true},
		{"/srv:/data:ro", wasm.Dir{Host: "/srv", Guest: "/data", ReadOnly: true}, true},
		{"/srv:/data:rw", wasm.Dir{Host: "/srv", Guest: "/data"}, true},
		{"/a:/b:/c", wasm.Dir{}, false},
		{":/data", wasm.Dir{}, false},
		{"", wasm.Dir{}, false},
	}
	for _, tt := range tests {
		got, err := wasm.ParseDir(tt.spec)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseDir(%q) = %+v, %v", tt.spec, got, err)
		}
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freePort is a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A guest listens only where a grant lets it: nowhere by default, then
// the host and ports granted.
func TestListenNeedsGrant(t *testing.T) {
	p := freePort(t)
	port := strconv.Itoa(p)
	tests := []struct {
		name   string
		grants []string
		host   string
		ok     bool
	}{
		{"no grant", nil, "127.0.0.1", false},
		{"no grant, every address", nil, "", false},
		{"any host", []string{":" + port}, "127.0.0.1", true},
		{"that host", []string{"127.0.0.1:" + port}, "127.0.0.1", true},
		{"another host", []string{"localhost:" + port}, "127.0.0.1", false},
		{"every address, granted one", []string{"127.0.0.1:" + port}, "", false},
		{"in a range", []string{fmt.Sprintf(":%d-%d", p-1, p+1)}, "127.0.0.1", true},
		{"out of the range", []string{fmt.Sprintf(":%d-%d", p+1, p+2)}, "127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, sandboxGuest(t), withListen(tt.grants...))
			s.expectReady()
			got := s.ask("listen", "host", tt.host, "port", p)["listen"]
			if (got == "ok") != tt.ok {
				t.Errorf("listen on %q port %d with %v: %v", tt.host, p, tt.grants, got)
			}
			if !tt.ok && !strings.Contains(s.stderr.String(), "refused: "+sandboxGuest(t)+" may not listen there; grant it with --allow-listen ") {
				t.Errorf("stderr %q", s.stderr.String())
			}
			s.disconnect()
			s.exit(0)
		})
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct {
		spec string
		want wasm.Listen
		ok   bool
	}{
		{":8080", wasm.Listen{Low: 8080, High: 8080}, true},
		{"127.0.0.1:8080", wasm.Listen{Host: "127.0.0.1", Low: 8080, High: 8080}, true},
		{"[::1]:8000-8099", wasm.Listen{Host: "::1", Low: 8000, High: 8099}, true},
		{":0", wasm.Listen{}, true},
		{"8080", wasm.Listen{}, false},
		{":http", wasm.Listen{}, false},
		{":9000-8000", wasm.Listen{}, false},
		{":70000", wasm.Listen{}, false},
	}
	for _, tt := range tests {
		got, err := wasm.ParseListen(tt.spec)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseListen(%q) = %+v, %v", tt.spec, got, err)
		}
	}
}

// A guest whose every send is refused does not flood stderr: a few lines
// a second, and one that counts the rest.
func TestRefusedSendsAreCounted(t *testing.T) {
	s := start(t, sandboxGuest(t))
	s.expectReady()
	const n = 100000
	if got := s.ask("spam", "count", n)["refused"]; !equalJSON(got, n) {
		t.Fatalf("refused %v of %d sends", got, n)
	}
	s.disconnect()
	s.exit(0)
	out := s.stderr.String()
	lines := strings.Count(out, "\n")
	if lines > 50 || strings.Count(out, "send refused") < 1 {
		t.Fatalf("%d lines on stderr for %d refused sends:\n%.2000s", lines, n, out)
	}
	left := 0
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, ": worker 7: "); ok {
			var k int
			if _, err := fmt.Sscanf(rest, "%d more lines like this one were left out", &k); err == nil {
				left += k
			}
		}
	}
	if printed := strings.Count(out, "send refused") - strings.Count(out, "left out"); printed+left != n {
		t.Errorf("%d lines printed and %d counted, want %d in all:\n%s", printed, left, n, out)
	}
}
