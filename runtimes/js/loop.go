package js

import (
	"container/heap"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// loop is the event loop in Node's (libuv's) order: timers, then events
// posted from other goroutines (the poll phase), then immediates (the check
// phase). Every callback runs through the JS trampoline, which drains
// process.nextTick after it; goja runs promise jobs when the outermost call
// returns. Only the goroutine running run touches the VM.
type loop struct {
	start time.Time
	// now is the time since start as the timer phase sees it: refreshed at
	// the start of each turn, as libuv does, and whenever a timer is armed
	// (Node's getLibuvNow updates libuv's time first), so that a timer
	// armed after the loop slept is due delay after it was armed.
	now time.Duration

	timers  timerHeap
	byKey   map[int64]*timer
	seq     int64
	refs    int // ref'd timers and immediates
	pending int // Go work that keeps the loop alive (registered callbacks)

	immediates []*timer

	mu     sync.Mutex
	posted []func()
	wake   chan struct{}
	closed bool // no more posts are taken

	stopped bool
}

// timer is a timeout or an immediate; obj is its JS object.
type timer struct {
	key       int64
	due       time.Duration // since loop.start
	seq       int64
	obj       goja.Value
	ref       bool
	cancelled bool
	immediate bool
	index     int
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *timerHeap) Push(x any)   { t := x.(*timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

func newLoop(start time.Time) *loop {
	return &loop{start: start, byKey: map[int64]*timer{}, wake: make(chan struct{}, 1)}
}

func (l *loop) updateNow() { l.now = time.Since(l.start) }

// addTimer arms a timeout delay ms from now: the time is read afresh, so
// no timer fires before its delay has passed on the monotonic clock,
// however long the loop slept before the callback that arms it ran.
func (l *loop) addTimer(obj goja.Value, delay int64, ref bool) int64 {
	l.updateNow()
	l.seq++
	t := &timer{key: l.seq, seq: l.seq, due: l.now + time.Duration(delay)*time.Millisecond, obj: obj, ref: ref}
	heap.Push(&l.timers, t)
	l.byKey[t.key] = t
	if ref {
		l.refs++
	}
	return t.key
}

func (l *loop) addImmediate(obj goja.Value, ref bool) int64 {
	l.seq++
	t := &timer{key: l.seq, seq: l.seq, obj: obj, ref: ref, immediate: true, index: -1}
	l.immediates = append(l.immediates, t)
	l.byKey[t.key] = t
	if ref {
		l.refs++
	}
	return t.key
}

// cancel removes a timer or immediate; unknown keys are ignored.
func (l *loop) cancel(key int64) {
	t := l.byKey[key]
	if t == nil {
		return
	}
	l.retire(t)
	if !t.immediate && t.index >= 0 {
		heap.Remove(&l.timers, t.index)
	}
}

func (l *loop) retire(t *timer) {
	delete(l.byKey, t.key)
	t.cancelled = true
	if t.ref {
		l.refs--
		t.ref = false
	}
}

// setRef changes whether a timer keeps the loop alive.
func (l *loop) setRef(key int64, ref bool) {
	t := l.byKey[key]
	if t == nil || t.ref == ref {
		return
	}
	t.ref = ref
	if ref {
		l.refs++
	} else {
		l.refs--
	}
}

// post queues f to run on the loop; safe from any goroutine. It reports
// false once the loop has ended.
func (l *loop) post(f func()) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.posted = append(l.posted, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// registerCallback keeps the loop alive until the returned function is
// called, from any goroutine, exactly once, with the work to do on the loop
// (the Go→JS way to settle a promise or call a callback).
func (l *loop) registerCallback() func(func()) {
	l.pending++
	var once sync.Once
	return func(f func()) {
		once.Do(func() {
			l.post(func() {
				l.pending--
				f()
			})
		})
	}
}

func (l *loop) hasPosted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.posted) > 0
}

func (l *loop) takePosted() []func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.posted
	l.posted = nil
	return p
}

// close refuses further posts.
func (l *loop) close() {
	l.mu.Lock()
	l.closed = true
	l.posted = nil
	l.mu.Unlock()
}

// nextDue returns the wait until the first timer is due, and false when
// there is no timer.
func (l *loop) nextDue() (time.Duration, bool) {
	if len(l.timers) == 0 {
		return 0, false
	}
	return max(time.Until(l.start.Add(l.timers[0].due)), 0), true
}

// dueTimer pops the first timer due at the cached now, or nil.
func (l *loop) dueTimer() *timer {
	for len(l.timers) > 0 && l.timers[0].due <= l.now {
		t := heap.Pop(&l.timers).(*timer)
		if t.cancelled {
			continue
		}
		l.retire(t)
		return t
	}
	return nil
}

// poll waits for posted work, at most until the next timer is due (not at
// all when block is false), and returns what was posted.
func (l *loop) poll(block bool, alive func() bool) []func() {
	if !block || l.hasPosted() {
		return l.takePosted()
	}
	if !alive() {
		// Only unref'd timers are left: they must not hold the loop (libuv
		// polls with a zero timeout when nothing ref'd is active).
		return l.takePosted()
	}
	d, ok := l.nextDue()
	var timeout <-chan time.Time
	if ok {
		if d <= 0 {
			return l.takePosted()
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-l.wake:
	case <-timeout:
	}
	return l.takePosted()
}
