// Package enginetest helps tests that run isowasm processes: it watches their
// output for text and tells when a process is gone, without sleeping.
package enginetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// WaitTimeout bounds every wait; reaching it fails the test.
const WaitTimeout = 30 * time.Second

// Lines collects what a process writes and lets a test wait for a text.
type Lines struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{}
}

// NewLines returns an empty collector.
func NewLines() *Lines { return &Lines{changed: make(chan struct{})} }

// Write implements io.Writer.
func (l *Lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// String is everything written so far.
func (l *Lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Count is how many times text occurs in what was written so far.
func (l *Lines) Count(text string) int { return strings.Count(l.String(), text) }

// Wait blocks until text has been written n times (default once), failing
// the test after WaitTimeout.
func (l *Lines) Wait(t testing.TB, text string, n ...int) {
	t.Helper()
	want := 1
	if len(n) > 0 {
		want = n[0]
	}
	deadline := time.After(WaitTimeout)
	for {
		l.mu.Lock()
		ok := strings.Count(l.buf.String(), text) >= want
		changed := l.changed
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("waited %s for %q (x%d); output so far:\n%s", WaitTimeout, text, want, l.String())
		}
	}
}

// Alive reports whether pid names a live process (not a zombie).
func Alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// WaitGone waits until pid has exited (a zombie counts as gone), up to d.
func WaitGone(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH) || !Alive(pid)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return !Alive(pid)
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if n > 0 || err != nil {
			return true
		}
	}
}

// BuildIsowasm builds the isowasm command into dir and returns its path, so
// tests can run it as a user would.
func BuildIsowasm(dir string) (string, error) {
	bin := filepath.Join(dir, "isowasm")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/isowasm/isowasm/cmd/isowasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building isowasm: %v\n%s", err, out)
	}
	return bin, nil
}

// Run is a running isowasm command whose output a test watches.
type Run struct {
	t      testing.TB
	Cmd    *exec.Cmd
	Stdout *Lines
	Stderr *Lines
	done   chan error
}

// Start runs bin with args in dir ("" the test's), and kills it when the test
// ends; a failed test logs its output.
func Start(t testing.TB, dir, bin string, args ...string) *Run {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	r := &Run{t: t, Cmd: cmd, Stdout: NewLines(), Stderr: NewLines(), done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.done
		r.done <- nil
		if t.Failed() {
			t.Logf("%s\nstdout:\n%s\nstderr:\n%s", strings.Join(cmd.Args, " "), r.Stdout, r.Stderr)
		}
	})
	return r
}

// Signal sends sig to the command.
func (r *Run) Signal(sig os.Signal) { _ = r.Cmd.Process.Signal(sig) }

// Wait waits for the command to end and returns its exit code (-1 for a
// signal), failing the test after WaitTimeout.
func (r *Run) Wait() int {
	r.t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			r.t.Fatal(err)
		}
		return 0
	case <-time.After(WaitTimeout):
		r.t.Fatalf("%s did not exit within %s", r.Cmd.Path, WaitTimeout)
		return -1
	}
}

var pidLine = regexp.MustCompile(`worker (\d+) forked \(pid (\d+)\)`)

// PIDs are the worker pids the default primary's log has announced so far,
// by worker id.
func (r *Run) PIDs() map[int]int {
	pids := map[int]int{}
	for _, m := range pidLine.FindAllStringSubmatch(r.Stderr.String(), -1) {
		id, _ := strconv.Atoi(m[1])
		pid, _ := strconv.Atoi(m[2])
		pids[id] = pid
	}
	return pids
}

// ReadyThenInterrupt runs `isowasm run --workers n script` in dir, waits for
// all n workers to be ready, then stops it with Ctrl-C and checks that it
// exits 0 leaving no worker behind. It returns the run for further checks.
func ReadyThenInterrupt(t testing.TB, dir, bin string, n int, script string, wait func(*Run)) *Run {
	t.Helper()
	return ReadyThenInterruptArgs(t, dir, bin, n, []string{script}, wait)
}

// ReadyThenInterruptArgs is ReadyThenInterrupt with more for `isowasm run
// --workers n`: flags, then the script and its arguments.
func ReadyThenInterruptArgs(t testing.TB, dir, bin string, n int, args []string, wait func(*Run)) *Run {
	t.Helper()
	r := Start(t, dir, bin, append([]string{"run", "--workers", strconv.Itoa(n)}, args...)...)
	r.Stderr.Wait(t, fmt.Sprintf("%d of %d workers ready", n, n))
	if wait != nil {
		wait(r)
	}
	pids := r.PIDs()
	r.Signal(os.Interrupt)
	if code := r.Wait(); code != 0 {
		t.Fatalf("exit code %d after Ctrl-C, want 0", code)
	}
	for id, pid := range pids {
		if Alive(pid) {
			t.Errorf("worker %d (pid %d) left running", id, pid)
		}
	}
	return r
}
