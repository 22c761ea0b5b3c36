//go:build !wasip1

package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/isowasm/isowasm/engine/enginetest"
)

// TestServe builds the guest from source, as build.sh does, runs it the way
// the README does with two workers on one port (granted, as PORT is), and checks that new
// connections reach both and that Ctrl-C ends the cluster cleanly.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	bin, err := enginetest.BuildIsowasm(dir)
	if err != nil {
		t.Fatal(err)
	}
	module := filepath.Join(dir, "worker.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", module, ".")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the guest: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	t.Setenv("PORT", port)

	// A guest sees only the environment and addresses it is granted.
	enginetest.ReadyThenInterruptArgs(t, ".", bin, 2, []string{"--env", "PORT", "--allow-listen", ":" + port, module}, func(r *enginetest.Run) {
		r.Stdout.Wait(t, "listening on port "+port, 2)
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: enginetest.WaitTimeout}
		seen := map[string]bool{}
		for i := 0; i < 200 && len(seen) < 2; i++ {
			res, err := c.Get("http://127.0.0.1:" + port + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !strings.HasPrefix(string(body), "Hello from worker ") {
				t.Fatalf("%d %q", res.StatusCode, body)
			}
			seen[string(body)] = true
		}
		if len(seen) < 2 {
			t.Errorf("200 connections all went to %v", seen)
		}
	})
}
