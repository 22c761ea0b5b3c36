package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// floodRSSLimit is what the primary's resident memory must stay under
// while four workers flood it.
const floodRSSLimit = 256 << 20

// TestFloodBounded: four workers send 16 KiB pings as fast as their
// channels take them, and the primary answers each with a pong as
// `isowasm run`'s default primary does. Its channels are read only as fast
// as its loop handles the pings, so its resident memory stays under
// floodRSSLimit (the race detector's own memory is not held to it). The
// flood lasts 10 s; ISOWASM_FLOOD_SECONDS=60 runs the full minute.
func TestFloodBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s flood")
	}
	seconds := 10
	if s := os.Getenv("ISOWASM_FLOOD_SECONDS"); s != "" {
		seconds, _ = strconv.Atoi(s)
	} else if raceEnabled {
		seconds = 2
	}
	// As the isowasm command runs its default primary (engine.TuneProcess,
	// engine.LimitPrimaryMemory).
	defer debug.SetGCPercent(debug.SetGCPercent(engine.PrimaryGCPercent))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	engine.LimitPrimaryMemory(os.Getenv)
	// The pongs to a worker busy sending wait within the bound the
	// isowasm command sets by default (--max-queued-size 8).
	p, err := engine.New(engine.Config{
		Executable: os.Args[0], WorkerScript: "ready-echo", Env: []string{workerGORACE()},
		MaxQueuedBytes: 8 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	var pings, ready atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	err = p.Do(ctx, func() {
		p.HandleType("ping", func(e *engine.Event) {
			pings.Add(1)
			m := e.Message.(map[string]any)
			reply := make(map[string]any, len(m))
			for k, v := range m {
				reply[k] = v
			}
			reply["type"] = "pong"
			e.Worker.Send(reply)
		})
		p.After("workerReady", func(e *engine.Event) {
			ready.Add(1)
			e.Worker.Send(map[string]any{"cmd": "flood", "size": 16 << 10})
		})
		p.Fork(4)
	})
	if err != nil {
		t.Fatal(err)
	}
	resetPeakRSS(t)
	time.Sleep(time.Duration(seconds) * time.Second) // the length of the flood, not a wait for an event
	peak := peakRSS(t)
	t.Logf("%d workers, %d pings of 16 KiB in %d s; the primary's peak RSS %d MiB", ready.Load(), pings.Load(), seconds, peak>>20)
	if ready.Load() != 4 || pings.Load() < 1000 {
		t.Fatalf("%d workers ready, %d pings: no flood", ready.Load(), pings.Load())
	}
	if !raceEnabled && peak > floodRSSLimit {
		t.Errorf("the primary's peak RSS was %d MiB, over %d MiB", peak>>20, floodRSSLimit>>20)
	}
}

// resetPeakRSS starts this process's peak resident memory (VmHWM) over.
func resetPeakRSS(t *testing.T) {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// peakRSS is VmHWM, in bytes.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// TestAmplifyingMessage: a well-formed message that would decode to many
// times its size (an array of 8 Mi nulls: 8 MiB sent, 128 MiB decoded) is
// refused as a protocol error naming the worker and the limit, the worker
// is killed, and the primary's heap does not take what it would have
// decoded to.
func TestAmplifyingMessage(t *testing.T) {
	h := start(t, engine.Config{})
	h.do(func() { h.p.Fork(1) })
	h.waitTrace("on workerReady w1")
	w := h.worker(1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h.do(func() { w.Send(map[string]any{"cmd": "amplify", "n": 8 << 20}) })
	e := h.waitEvent("workerError", nil)
	h.waitKilled(1)
	runtime.ReadMemStats(&after)
	var se *frame.DecodedSizeError
	if !errors.As(e.Error, &se) || !errors.Is(e.Error, engine.ErrProtocol) ||
		!strings.Contains(e.Error.Error(), "worker 1") || !strings.Contains(e.Error.Error(), "64 MiB") {
		t.Errorf("workerError %v, want a protocol error naming worker 1 and the limit", e.Error)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 48<<20 {
		t.Errorf("the primary allocated %d MiB for an 8 MiB message it refused", grew>>20)
	}
	if m := h.messages(1); len(m) != 1 { // 'ready'
		t.Errorf("messages from worker 1 delivered: %v", m)
	}
}
