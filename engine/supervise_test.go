package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isowasm/isowasm/engine"
)

// Workers that die before they are ready are given up after
// MaxStartFailures in a row, whatever MaxRestarts allows; with ReportFatal
// each hands over the error that ended it.
func TestStartFailuresGiveUp(t *testing.T) {
	h := start(t, engine.Config{ReportFatal: true, Restart: engine.RestartPolicy{
		Backoff: time.Millisecond, MaxRestarts: 100, MaxStartFailures: 3}}, "fatal")
	var fatals []string
	h.do(func() {
		h.p.On("workerExit", func(e *engine.Event) {
			fatals = append(fatals, e.Worker.FatalError())
			if e.Worker.WasReady() {
				t.Errorf("worker %d was ready", e.Worker.ID())
			}
		})
		h.p.Fork(1)
	})
	give := h.waitEvent("workerGiveUp", nil)
	var sf *engine.StartFailureError
	if give.Worker.ID() != 3 || !errors.As(give.Error, &sf) || sf.Failures != 3 || !errors.Is(give.Error, engine.ErrStartFailures) {
		t.Errorf("workerGiveUp w%d: %v", give.Worker.ID(), give.Error)
	}
	h.do(func() {
		if want := []string{"Error: at start\n", "Error: at start\n", "Error: at start\n"}; !slices.Equal(fatals, want) {
			t.Errorf("fatal errors %q, want %q", fatals, want)
		}
	})
}

// Once a worker of a slot was ready, its successors' failed starts fall
// under MaxRestarts alone: a dependency gone for a while does not make the
// primary give up after MaxStartFailures.
func TestStartFailuresAfterReady(t *testing.T) {
	h := start(t, engine.Config{Restart: engine.RestartPolicy{
		Backoff: time.Millisecond, MaxRestarts: 100, MaxStartFailures: 3}}, "fatal", "2,3,4,5")
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after workerReady w1")
	h.do(func() { _ = h.p.WorkerByID(1).Kill(syscall.SIGKILL) })
	h.waitTrace("after workerReady w6")
	if tr := h.snapshot(); slices.ContainsFunc(tr, func(s string) bool { return strings.HasPrefix(s, "on workerGiveUp") }) {
		t.Error("gave up on a slot that had been ready")
	}
}

// A crash loop slows down (doubling backoffs, capped) and stops at the
// restart limit; the primary then has nothing live.
func TestRestartBackoffAndGiveUp(t *testing.T) {
	h := start(t, engine.Config{Restart: engine.RestartPolicy{
		Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		MinUptime: time.Hour, MaxRestarts: 4, Window: time.Hour,
	}}, "exit", "*", "1")
	h.do(func() { h.p.Fork(1) })
	give := h.waitEvent("workerGiveUp", nil)
	if give.Worker.ID() != 5 || !errors.Is(give.Error, engine.ErrRestartLimit) {
		t.Errorf("workerGiveUp w%d: %v", give.Worker.ID(), give.Error)
	}
	t.Log(give.Error)
	var delays []time.Duration
	h.mu.Lock()
	for _, e := range h.events {
		if e.Name == "workerRestart" {
			delays = append(delays, e.Delay)
		}
	}
	h.mu.Unlock()
	want := []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
	if !slices.Equal(delays, want) {
		t.Errorf("backoffs %v, want %v", delays, want)
	}
	h.do(func() {
		if n := h.p.Live(); n != 0 {
			t.Errorf("Live() = %d after giving up", n)
		}
	})
	if slices.Contains(h.snapshot(), "on workerFork w6") {
		t.Error("w6 forked after the limit")
	}
	// The replacement fork is still a fork event, after the workerRestart.
	tr := h.snapshot()
	i := slices.Index(tr, "after workerRestart w1")
	j := slices.Index(tr, "on workerFork w2")
	if i < 0 || j < i || !slices.Contains(tr[i:j], "on fork") {
		t.Errorf("no fork between workerRestart w1 and workerFork w2:\n%s", strings.Join(tr, "\n"))
	}
}

// Preventing a workerRestart cancels the replacement.
func TestRestartPrevented(t *testing.T) {
	h := start(t, engine.Config{Restart: engine.RestartPolicy{Backoff: time.Millisecond, MinUptime: time.Hour}}, "exit", "*", "1")
	h.do(func() {
		h.p.On("workerRestart", func(e *engine.Event) { e.Prevent() })
		h.p.Fork(1)
	})
	h.waitTrace("on workerRestart w1")
	h.do(func() {
		if n := h.p.Live(); n != 0 {
			t.Errorf("Live() = %d", n)
		}
	})
}

func TestReadyTimeout(t *testing.T) {
	h := start(t, engine.Config{ReadyTimeout: 200 * time.Millisecond}, "idle")
	h.do(func() { h.p.Fork(1) })
	e := h.waitEvent("workerError", nil)
	var ke *engine.KillError
	if !errors.Is(e.Error, engine.ErrReadyTimeout) || !errors.As(e.Error, &ke) || ke.WorkerID != 1 {
		t.Errorf("workerError %v", e.Error)
	}
	t.Log(e.Error)
	h.waitKilled(1)
	h.waitTrace("on workerFork w2")
}

// A worker whose loop stops (its reader blocks: no frame read, no
// heartbeat answered) is reported, killed and replaced; the others, which
// answered every heartbeat meanwhile, carry on.
func TestHeartbeatKillsHungWorker(t *testing.T) {
	h := start(t, engine.Config{HeartbeatInterval: 20 * time.Millisecond, HeartbeatTimeout: 300 * time.Millisecond})
	h.do(func() { h.p.Fork(2) })
	h.waitTrace("after addWorker w1")
	h.waitTrace("after addWorker w2")
	if _, err := h.send(map[string]any{"cmd": "hang"}, 1); err != nil {
		t.Fatal(err)
	}
	e := h.waitEvent("workerError", nil)
	var ke *engine.KillError
	if !errors.Is(e.Error, engine.ErrUnresponsive) || !errors.As(e.Error, &ke) || ke.WorkerID != 1 ||
		!strings.Contains(e.Error.Error(), "worker 1 did not answer the heartbeat for") {
		t.Errorf("workerError %v", e.Error)
	}
	t.Log(e.Error)
	h.waitKilled(1)
	h.waitTrace("after addWorker w3")
	if _, err := h.send("still here", 2); err != nil {
		t.Fatal(err)
	}
	h.waitMessages(2, 2) // 'ready', then the echo
	if tr := h.snapshot(); slices.Contains(tr, "on workerError w2") || slices.Contains(tr, "on workerError w3") {
		t.Errorf("a healthy worker was reported:\n%s", strings.Join(tr, "\n"))
	}
}

func TestMaxRSS(t *testing.T) {
	h := start(t, engine.Config{MaxRSS: 200 << 20, HeartbeatInterval: 20 * time.Millisecond, HeartbeatTimeout: guard})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after addWorker w1")
	if _, err := h.send(map[string]any{"cmd": "bloat", "mib": int64(300)}, 1); err != nil {
		t.Fatal(err)
	}
	e := h.waitEvent("workerError", nil)
	if !errors.Is(e.Error, engine.ErrMemoryLimit) || !strings.Contains(e.Error.Error(), "over the limit of 200 MiB") {
		t.Errorf("workerError %v", e.Error)
	}
	t.Log(e.Error)
	h.waitKilled(1)
	h.waitTrace("after addWorker w2")
}

// A worker that stops reading: sends beyond MaxQueued fail at once with
// ErrQueueFull; those queued fail with ErrChannelClosed when it dies. None
// hangs.
func TestQueueFull(t *testing.T) {
	const maxQueued, sends = 8, 200
	h := start(t, engine.Config{MaxQueued: maxQueued})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("after addWorker w1")
	if _, err := h.send(map[string]any{"cmd": "hang"}, 1); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 256<<10)
	var ds []*engine.Delivery
	h.do(func() {
		w := h.p.WorkerByID(1)
		for range sends {
			ds = append(ds, w.Send(big))
		}
	})
	full := 0
	for _, d := range ds {
		select {
		case <-d.Done():
			if errors.Is(d.Err(), engine.ErrQueueFull) {
				full++
			}
		default:
		}
	}
	// 50 MiB in all: at most the socket's buffers (a few MiB) and
	// maxQueued messages are taken.
	if full < sends/2 || full > sends-maxQueued {
		t.Errorf("%d of %d sends refused as queue full", full, sends)
	}
	h.do(func() { _ = h.p.WorkerByID(1).Kill(syscall.SIGKILL) })
	resolved, closed := 0, 0
	for _, d := range ds {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		err := d.Wait(ctx)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			t.Fatal("a send hangs")
		case err == nil:
			resolved++
		case errors.Is(err, engine.ErrChannelClosed):
			closed++
		case !errors.Is(err, engine.ErrQueueFull):
			t.Errorf("send: %v", err)
		}
	}
	t.Logf("%d sends: %d written, %d refused (queue full), %d rejected (channel closed)", sends, resolved, full, closed)
	if closed == 0 || closed > maxQueued {
		t.Errorf("%d queued sends rejected when the worker died", closed)
	}
}

// Garbage from one worker kills it alone: the other keeps answering.
func TestHostileWorkerLeavesOthers(t *testing.T) {
	for _, mode := range []string{"garbage", "deep", "oversize", "truncated"} {
		t.Run(mode, func(t *testing.T) {
			h := start(t, engine.Config{MaxFrameSize: 1 << 20}, mode, "2")
			h.do(func() { h.p.Fork(2) })
			h.waitTrace("after addWorker w1")
			e := h.waitEvent("workerError", nil)
			if e.Worker.ID() != 2 || !errors.Is(e.Error, engine.ErrProtocol) {
				t.Errorf("workerError w%d %v", e.Worker.ID(), e.Error)
			}
			h.waitTrace("after addWorker w3")
			if _, err := h.send("ping", 1); err != nil {
				t.Fatal(err)
			}
			h.waitMessages(1, 2)
		})
	}
}

// A worker that exits before its hello, during its initialization.
func TestExitDuringInitialization(t *testing.T) {
	h := start(t, engine.Config{}, "die-early", "1", "3")
	h.do(func() { h.p.Fork(1) })
	exit := h.waitEvent("workerExit", nil)
	if exit.Worker.ID() != 1 || exit.Code != 3 {
		t.Errorf("exit of w%d: %d %q", exit.Worker.ID(), exit.Code, exit.Signal)
	}
	h.waitTrace("after addWorker w2")
	if slices.Contains(h.snapshot(), "on workerOnline w1") {
		t.Error("w1 online")
	}
}

// Messages sent to a worker while it exits each resolve or reject with
// ErrChannelClosed; none hangs.
func TestSendToExitingWorker(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() { h.p.Fork(1) })
	resolved, rejected := 0, 0
	for round := range 10 {
		id := round + 1
		h.waitTrace(fmt.Sprintf("after addWorker w%d", id))
		var (
			ds []*engine.Delivery
			w  *engine.Worker
		)
		h.do(func() {
			w = h.p.WorkerByID(id)
			ds = append(ds, w.Send(map[string]any{"cmd": "exit", "code": int64(0)}))
			for i := range 100 {
				ds = append(ds, w.Send(i))
			}
		})
		// Keep sending, a turn of the loop at a time, until its exit is
		// seen: through its disconnect and exit.
		deadline := time.Now().Add(guard)
		for dead := false; !dead; {
			h.do(func() {
				ds = append(ds, w.Send("more"))
				dead = w.IsDead()
			})
			if time.Now().After(deadline) {
				t.Fatal("the worker did not exit")
			}
		}
		for _, d := range ds {
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			err := d.Wait(ctx)
			cancel()
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				t.Fatal("a send hangs")
			case err == nil:
				resolved++
			case errors.Is(err, engine.ErrChannelClosed):
				rejected++
			default:
				t.Errorf("send: %v", err)
			}
		}
	}
	t.Logf("%d sends resolved, %d rejected (channel closed)", resolved, rejected)
}

// kill -9 of random workers under a steady load of sends: every send
// settles, and the cluster returns to N ready workers. Kills from outside
// back off but never count against the restart limit.
func TestKillStormUnderLoad(t *testing.T) {
	const n, kills, perKill = 4, 30, 40
	h := start(t, engine.Config{Restart: engine.RestartPolicy{
		Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRestarts: 2, Window: time.Hour}})
	h.do(func() { h.p.Fork(n) })
	h.waitTrace("after addWorker w4")
	rng := rand.New(rand.NewPCG(1, 2))
	var ds []*engine.Delivery
	killed := map[int]bool{} // by pid
	for i := 0; len(killed) < kills; i++ {
		var victim int
		h.do(func() {
			var alive []*engine.Worker
			for _, w := range h.p.Workers() {
				ds = append(ds, w.Send(map[string]any{"i": int64(i)}))
				if !killed[w.PID()] {
					alive = append(alive, w)
				}
			}
			if i%perKill == perKill-1 && len(alive) > 0 {
				victim = alive[rng.IntN(len(alive))].PID()
			}
		})
		if victim != 0 {
			_ = syscall.Kill(victim, syscall.SIGKILL)
			killed[victim] = true
		}
	}
	resolved, rejected := 0, 0
	for _, d := range ds {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		err := d.Wait(ctx)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			t.Fatal("a send hangs")
		case err == nil:
			resolved++
		case errors.Is(err, engine.ErrChannelClosed):
			rejected++
		default:
			t.Errorf("send: %v", err)
		}
	}
	h.waitFor(fmt.Sprintf("%d ready workers after %d kills", n, kills), func(tr []string, _ []*engine.Event) bool {
		ready, exits := 0, 0
		for _, s := range tr {
			switch {
			case strings.HasPrefix(s, "after addWorker"):
				ready++
			case strings.HasPrefix(s, "after removeWorker"):
				ready--
			case strings.HasPrefix(s, "after workerExit"):
				exits++
			}
		}
		return exits >= kills && ready == n
	})
	t.Logf("%d kills: %d sends, %d resolved, %d rejected (channel closed); %d ready again", kills, len(ds), resolved, rejected, len(h.workerIDs()))
	if tr := h.snapshot(); slices.ContainsFunc(tr, func(s string) bool { return strings.HasPrefix(s, "on workerGiveUp") }) {
		t.Error("the primary gave up on a worker killed from outside")
	}
}

// 1,000 replacements leave no descriptor and no goroutine behind.
func TestNoLeakAcrossReplacements(t *testing.T) {
	replacements := 1000
	if testing.Short() {
		replacements = 100
	}
	const n = 4
	fdsBefore, gBefore := openFDs(t), runtime.NumGoroutine()
	h := start(t, engine.Config{}, "exit", "*", "0")
	done := make(chan struct{})
	forks := 0
	h.do(func() {
		h.p.On("workerFork", func(*engine.Event) {
			if forks++; forks == n+replacements {
				_ = h.p.ShutDown()
			}
		})
		h.p.Once("shutDownComplete", func(*engine.Event) { close(done) })
		h.p.Fork(n)
	})
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("%d forks in 3 minutes", forks)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := h.p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	fdsAfter := openFDs(t)
	// Goroutines that posted their last event may still be returning, and
	// the spawner's, locked to its thread, waits for that thread to be
	// scheduled to end: nothing signals either, so poll, for a while.
	gAfter := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); gAfter > gBefore && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		gAfter = runtime.NumGoroutine()
	}
	t.Logf("%d workers replaced %d times: fds %d → %d, goroutines %d → %d", n, forks-n, fdsBefore, fdsAfter, gBefore, gAfter)
	if fdsAfter > fdsBefore {
		t.Errorf("descriptors: %d before, %d after", fdsBefore, fdsAfter)
	}
	if gAfter > gBefore {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after:\n%s", gBefore, gAfter, buf[:runtime.Stack(buf, true)])
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
