package worker

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// limitHeap caps this process's Go heap at limit bytes. The collector is
// told the limit (debug.SetMemoryLimit), so it collects more often as the
// heap nears it instead of letting garbage pile up to GOGC's goal; and
// after every collection, a heap whose live part is still over the limit
// calls exceeded (once): the memory is really in use, as in a Node worker
// whose heap reached --max-old-space-size. A JavaScript worker's objects
// are all on this heap, so this caps them when they are allocated, where
// the primary's --max-rss check sees the process only once a heartbeat.
// stop undoes it.
func limitHeap(limit int64, exceeded func(live uint64)) (stop func()) {
	old := debug.SetMemoryLimit(limit)
	var stopped, fired atomic.Bool
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	everyGC(func() bool {
		if stopped.Load() {
			return false
		}
		metrics.Read(sample)
		if live := sample[0].Value.Uint64(); live > uint64(limit) && !fired.Swap(true) {
			exceeded(live)
			return false
		}
		return true
	})
	return func() {
		stopped.Store(true)
		debug.SetMemoryLimit(old)
	}
}

// gcSentinel is an object only a finalizer refers to: it is collected by
// the next collection, and its finalizer runs right after it. It is big
// enough to get an allocation of its own (the tiny allocator would batch
// it with other objects and delay its finalizer).
type gcSentinel struct{ _ [32]byte }

// everyGC calls f after each collection until f returns false. f runs on
// the finalizer goroutine: it must be quick.
func everyGC(f func() bool) {
	s := &gcSentinel{}
	runtime.SetFinalizer(s, func(*gcSentinel) {
		if f() {
			everyGC(f)
		}
	})
}

// heapExceeded ends a worker whose heap went over --max-heap, saying so
// the way Node's "JavaScript heap out of memory" does, with Node's exit
// status for it (134, its abort).
func heapExceeded(stderr io.Writer, workerID int, kind, script string, live uint64, limit int64) {
	what := "its JavaScript heap"
	if kind == "wasm" {
		what = "the host side of its guest (its guest's own memory is capped by --max-memory)"
	}
	fmt.Fprintf(stderr, "isowasm: worker %d: %s: out of memory: %s holds %.1f MiB, over the %d MiB limit; raise --max-heap if it needs more\n",
		workerID, script, what, float64(live)/(1<<20), limit>>20)
	os.Exit(heapExitCode)
}

// heapExitCode is what a worker over its heap limit exits with: Node's
// status after "JavaScript heap out of memory" (it aborts: 128+SIGABRT).
const heapExitCode = 134
