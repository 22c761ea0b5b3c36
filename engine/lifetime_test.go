package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/engine"
)

const envHelperPrimary = "ISOWASM_TEST_HELPER_PRIMARY"

// helperPrimary runs a primary with one worker, prints the worker's pid and
// waits to be killed.
func helperPrimary() int {
	p, err := engine.New(engine.Config{Executable: os.Args[0], WorkerScript: "ready-echo"})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	_ = p.Do(context.Background(), func() {
		p.On("workerReady", func(e *engine.Event) { fmt.Printf("pid %d\n", e.Worker.PID()) })
		// Fork from a goroutine that ends, on a thread that may be retired:
		// the worker must survive it (the spawner's thread forks).
		p.Fork(1)
	})
	for range 20 { // churn threads: each locked goroutine's thread dies with it
		done := make(chan struct{})
		go func() { runtime.LockOSThread(); close(done) }()
		<-done
	}
	time.Sleep(time.Hour)
	return 0
}

func TestParentDeathKillsWorkers(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelperPrimary+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- s
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(guard):
		t.Fatal("helper primary printed nothing")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("worker %d: %v", pid, err)
	}
	defer unix.Close(pidfd)
	// Still alive after the thread churn.
	if n, _ := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, 0); n == 1 {
		t.Fatal("worker died before its primary")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// The pidfd becomes readable when the worker exits.
	deadline := time.Now().Add(guard)
	n, err := 0, unix.EINTR
	for errors.Is(err, unix.EINTR) && time.Now().Before(deadline) {
		n, err = unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, int(time.Until(deadline)/time.Millisecond))
	}
	if err != nil || n != 1 {
		t.Fatalf("worker %d outlived its primary (poll %d, %v)", pid, n, err)
	}
}

func TestCloseLeavesNothing(t *testing.T) {
	p, err := engine.New(engine.Config{Executable: os.Args[0], WorkerScript: "ready-echo", Env: []string{workerGORACE()}})
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{}, 2)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	_ = p.Do(ctx, func() {
		p.On("workerReady", func(*engine.Event) { ready <- struct{}{} })
		p.Fork(2)
	})
	<-ready
	<-ready
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal("second Close:", err)
	}
	select {
	case <-p.Done():
	default:
		t.Error("Close did not destroy the primary")
	}
	if err := p.Do(ctx, func() {}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Do after Close: %v", err)
	}
	goleak.VerifyNone(t)
}

func TestCloseKillsStubbornWorkers(t *testing.T) {
	p, err := engine.New(engine.Config{Executable: os.Args[0], WorkerScript: "never-hello", HelloTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	forked := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	_ = p.Do(ctx, func() {
		p.On("workerFork", func(e *engine.Event) { forked <- e.Worker.PID() })
		p.Fork(1)
	})
	pid := <-forked
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := p.Close(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Close: %v", err)
	}
	if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("worker %d still there after Close: %v", pid, err)
	}
	goleak.VerifyNone(t)
}

// chanExecutor is an external loop, as a JavaScript event loop would be.
type chanExecutor struct {
	mu     sync.Mutex
	queue  []func()
	wake   chan struct{}
	inLoop atomic.Bool
	stop   chan struct{}
	done   chan struct{}
}

func newChanExecutor() *chanExecutor {
	x := &chanExecutor{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(x.done)
		for {
			select {
			case <-x.wake:
			case <-x.stop:
				return
			}
			for {
				x.mu.Lock()
				if len(x.queue) == 0 {
					x.mu.Unlock()
					break
				}
				fn := x.queue[0]
				x.queue = x.queue[1:]
				x.mu.Unlock()
				x.inLoop.Store(true)
				fn()
				x.inLoop.Store(false)
			}
		}
	}()
	return x
}

func (x *chanExecutor) Post(fn func()) {
	x.mu.Lock()
	x.queue = append(x.queue, fn)
	x.mu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func TestExternalExecutor(t *testing.T) {
	x := newChanExecutor()
	// Registered first, so it runs last: Close needs the executor running.
	t.Cleanup(func() { close(x.stop); <-x.done })
	h := start(t, engine.Config{Executor: x})
	var onLoop atomic.Bool
	onLoop.Store(true)
	h.do(func() {
		h.p.On("workerMessage", func(*engine.Event) {
			if !x.inLoop.Load() {
				onLoop.Store(false)
			}
		})
		h.p.Fork(1)
	})
	h.waitTrace("after addWorker w1")
	thenOnLoop := make(chan bool, 1)
	h.do(func() { h.p.Send("hi", 1).Then(func(error) { thenOnLoop <- x.inLoop.Load() }) })
	if !<-thenOnLoop {
		t.Error("Then callback off the executor")
	}
	h.waitMessages(1, 2)
	if !onLoop.Load() {
		t.Error("handler off the executor")
	}
}
