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
// told the limit (debug.SetMemoryLimit), so garbage cannot pile up to
// GOGC's goal; exceeded is called (once) after a collection that leaves
// the heap full: its live part over the limit, or the collector out of
// breath, its CPU limiter engaged (it would need more than half the CPU to
// stay under the limit) with the live heap over half of it. That is Node's
// "JavaScript heap out of memory": a worker whose heap reached
// --max-old-space-size. A JavaScript worker's objects are all on this
// heap, so this stops them where they are allocated, where the primary's
// --max-rss check sees the process only once a heartbeat. Waiting for the
// live heap alone to pass the limit is not enough: as it nears the limit
// the collector runs back to back, and a worker measured 190 of 200 MiB
// live after 40 s of doing little else. stop undoes it.
func limitHeap(limit int64, exceeded func(live uint64)) (stop func()) {
	old := debug.SetMemoryLimit(limit)
	var stopped, fired atomic.Bool
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/limiter/last-enabled:gc-cycle"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(sample)
	armed := sample[2].Value.Uint64() // the limiter engaged before is none of ours
	everyGC(func() bool {
		if stopped.Load() {
			return false
		}
		metrics.Read(sample)
		live, limiter := sample[0].Value.Uint64(), sample[1].Value.Uint64()
		full := live > uint64(limit) || limiter > armed && live > uint64(limit)/2
		if full && !fired.Swap(true) {
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
	fmt.Fprintf(stderr, "isowasm: worker %d: %s: out of memory: %s holds %.1f MiB, and the %d MiB limit leaves no room to collect garbage in; raise --max-heap if it needs more\n",
		workerID, script, what, float64(live)/(1<<20), limit>>20)
	os.Exit(heapExitCode)
}

// heapExitCode is what a worker over its heap limit exits with: Node's
// status after "JavaScript heap out of memory" (it aborts: 128+SIGABRT).
const heapExitCode = 134
