package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
)

// The sandbox flags reach the guest through the default primary and the
// worker process: a guest sees only the environment --env grants, listens
// only where --allow-listen lets it, and a bad grant stops isowasm before
// any worker starts.
func TestSandboxFlags(t *testing.T) {
	guest := filepath.Join(t.TempDir(), "sandboxguest.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", guest, "../../runtimes/wasm/testdata/sandboxguest")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the guest: %v\n%s", err, out)
	}
	t.Setenv("GRANTED", "from the host")
	t.Setenv("NOT_GRANTED", "secret")

	t.Run("env", func(t *testing.T) {
		enginetest.ReadyThenInterruptArgs(t, "", bin, 1, []string{"--env", "GRANTED", "--env", "SET=here", "--env", "UNSET_ON_HOST", guest, "env"}, func(r *enginetest.Run) {
			r.Stdout.Wait(t, "env: end")
			var got []string
			for _, line := range strings.Split(r.Stdout.String(), "\n") {
				if kv, ok := strings.CutPrefix(line, "env: "); ok && kv != "end" {
					got = append(got, kv)
				}
			}
			if strings.Join(got, " ") != "GRANTED=from the host SET=here" {
				t.Errorf("the guest's environment: %q", got)
			}
		})
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	for _, tt := range []struct {
		name, want string
		grant      []string
	}{
		{"listen without a grant", "cannot listen on 127.0.0.1:" + port, nil},
		{"listen granted", "listen: ok", []string{"--allow-listen", "127.0.0.1:" + port}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.grant, guest, "listen", "127.0.0.1", port)
			enginetest.ReadyThenInterruptArgs(t, "", bin, 1, args, func(r *enginetest.Run) {
				r.Stdout.Wait(t, tt.want)
				if tt.grant == nil {
					r.Stderr.Wait(t, "may not listen there; grant it with --allow-listen 127.0.0.1:"+port)
				}
			})
		})
	}

	for _, bad := range [][]string{
		{"--allow-dir", filepath.Join(t.TempDir(), "missing")},
		{"--allow-dir", "/a:/b:/c"},
		{"--allow-listen", "8080"},
		{"--env", "=x"},
		{"--max-memory", "5000"},
	} {
		r := start(t, append(append([]string{"run", "--workers", "1"}, bad...), guest)...)
		if code := r.Wait(); code == 0 || !strings.Contains(r.Stderr.String(), "run: "+bad[0]) {
			t.Errorf("%v: exit %d, stderr %q", bad, code, r.Stderr.String())
		}
	}
}
