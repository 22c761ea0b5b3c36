package httpjs

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/isowasm/isowasm/engine/enginetest"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// get does one request on a new connection and returns the body.
func get(c *http.Client, url string) (string, error) {
	res, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != 200 {
		err = fmt.Errorf("status %d", res.StatusCode)
	}
	return string(b), err
}

func newClient() (*http.Client, func()) {
	tr := &http.Transport{DisableKeepAlives: true}
	return &http.Client{Transport: tr, Timeout: enginetest.WaitTimeout}, tr.CloseIdleConnections
}

// TestPrimary runs the README's example as written: `isowasm run
// primary.js` forks one worker per CPU, each listening on the same port.
func TestPrimary(t *testing.T) {
	dir := t.TempDir()
	bin, err := enginetest.BuildIsowasm(dir)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	r := startEnv(t, []string{"PORT=" + port}, bin, "run", "primary.js")
	n := runtime.NumCPU()
	r.Stdout.Wait(t, "listening on port "+port, n)
	r.Stdout.Wait(t, "is ready to handle connections", n)

	// New connections are spread over the workers by the kernel.
	c, done := newClient()
	defer done()
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < min(n, 2); i++ {
		body, err := get(c, "http://127.0.0.1:"+port+"/")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(body, "Hello from worker ") {
			t.Fatalf("body %q", body)
		}
		seen[body] = true
	}
	if len(seen) < min(n, 2) {
		t.Errorf("200 connections all went to %v", seen)
	}

	r.Signal(syscall.SIGTERM)
	if code := r.Wait(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	for _, want := range []string{"Shutting down server", "Primary asked worker to disconnect, closing server", "Worker 1 exited with code 0 and signal null"} {
		if !strings.Contains(r.Stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.Stdout)
		}
	}
}

// startEnv is enginetest.Start with extra environment.
func startEnv(t *testing.T, env []string, bin string, args ...string) *enginetest.Run {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return enginetest.Start(t, ".", bin, args...)
}

// TestWorkerKilledUnderLoad runs worker.js under the default primary,
// kills one worker with SIGKILL while clients keep connecting, and checks
// that no connection is refused: the port stays open on the other workers
// and the replacement binds it again. Requests in flight on the killed
// worker may fail; nothing else may.
func TestWorkerKilledUnderLoad(t *testing.T) {
	dir := t.TempDir()
	bin, err := enginetest.BuildIsowasm(dir)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	const workers, clients = 3, 8
	r := startEnv(t, []string{"PORT=" + port}, bin, "run", "--workers", strconv.Itoa(workers), "worker.js")
	r.Stderr.Wait(t, fmt.Sprintf("%d of %d workers ready", workers, workers))
	r.Stdout.Wait(t, "listening on port "+port, workers)

	var ok, refused, failed atomic.Int64
	var lastErr atomic.Value
	stop := make(chan struct{})
	served := make(chan struct{}, 1)
	var wg sync.WaitGroup
	c, done := newClient()
	defer done()
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := get(c, "http://127.0.0.1:"+port+"/")
				switch {
				case err == nil:
					ok.Add(1)
					select {
					case served <- struct{}{}:
					default:
					}
				case errors.Is(err, syscall.ECONNREFUSED):
					refused.Add(1)
					lastErr.Store(err.Error())
				default:
					failed.Add(1)
					lastErr.Store(err.Error())
				}
			}
		})
	}
	waitServed := func(n int64) {
		t.Helper()
		target := ok.Load() + n
		deadline := time.NewTimer(enginetest.WaitTimeout)
		defer deadline.Stop()
		for ok.Load() < target {
			select {
			case <-served:
			case <-deadline.C:
				close(stop)
				wg.Wait()
				t.Fatalf("served %d requests, want %d (refused %d, failed %d, last error %v)", ok.Load(), target, refused.Load(), failed.Load(), lastErr.Load())
			}
		}
	}
	waitServed(200)
	pid := r.PIDs()[2]
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.Stderr.Wait(t, "to replace worker 2")
	r.Stdout.Wait(t, "listening on port "+port, workers+1)
	waitServed(200)
	close(stop)
	wg.Wait()
	t.Logf("served %d, refused %d, failed %d (last error: %v)", ok.Load(), refused.Load(), failed.Load(), lastErr.Load())
	if refused.Load() != 0 {
		t.Errorf("%d connections refused", refused.Load())
	}
	if failed.Load() > clients {
		t.Errorf("%d requests failed, more than the %d that can be in flight", failed.Load(), clients)
	}
	r.Signal(os.Interrupt)
	if code := r.Wait(); code != 0 {
		t.Errorf("exit code %d after Ctrl-C", code)
	}
}
