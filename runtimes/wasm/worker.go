package wasm

import (
	"container/heap"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/runtimes/host"
)

// worker is one guest instance and its event loop. Everything but the
// posted queue is owned by the goroutine in run, the only one that calls
// into the guest.
type worker struct {
	cfg Config
	ch  *host.Channel
	mod api.Module
	mem api.Memory

	alloc, init, onMessage, onDisconnect, onTimer, onExit, initialize api.Function

	// guest is held by whoever calls into the guest or touches the loop's
	// state: the loop, except while it waits, and an HTTP handler
	// delivering a request (http.go); ctx is run's.
	guest         sync.Mutex
	ctx           context.Context
	http          httpState
	onHTTPRequest api.Function

	connected  bool // the channel is open as far as the guest was told
	timers     timerHeap
	pending    map[int32]*timer
	lastTimer  int32
	seq        uint64
	destroying bool
	destroyAt  time.Time

	roots []*os.Root // the granted directories, closed when the guest is gone

	done bool // the worker must end with code
	code int

	linesMu    sync.Mutex // errorf's counts (it is called from HTTP goroutines too)
	linesSince time.Time
	lines      map[string]*lineKind

	mu     sync.Mutex
	posted []event
	wake   chan struct{}
}

type eventKind uint8

const (
	evMessage eventKind = iota
	evDisconnectRequest
	evClosed
	evHeartbeat
	evFunc // run fn on the loop
)

type event struct {
	kind    eventKind
	payload []byte
	err     error
	ack     func() // evHeartbeat
	fn      func() // evFunc
}

func newWorker(cfg Config) *worker {
	return &worker{
		cfg:       cfg,
		ch:        cfg.Channel,
		connected: cfg.Channel != nil,
		pending:   map[int32]*timer{},
		wake:      make(chan struct{}, 1),
	}
}

// errorf prints one of the runtime's own error lines. A guest that does
// the same wrong thing in a loop (every send refused) would print gigabytes:
// past linesPerKind lines of one kind (one format) in a second, lines are
// only counted, and one line says how many were left out.
func (w *worker) errorf(format string, args ...any) {
	w.linesMu.Lock()
	defer w.linesMu.Unlock()
	if now := time.Now(); now.Sub(w.linesSince) >= time.Second {
		w.flushLines()
		w.linesSince = now
	}
	if w.lines == nil {
		w.lines = map[string]*lineKind{}
	}
	k := w.lines[format]
	if k == nil {
		k = &lineKind{}
		w.lines[format] = k
	}
	line := fmt.Sprintf(format, args...)
	if k.printed >= linesPerKind {
		k.dropped++
		k.last = line
		return
	}
	k.printed++
	fmt.Fprintf(w.cfg.Stderr, "isowasm: worker %d: %s\n", w.workerID(), line)
}

// linesPerKind is how many lines of one kind errorf prints in a second.
const linesPerKind = 10

type lineKind struct {
	printed, dropped int
	last             string // the last line left out
}

// flushLines says what errorf left out, and starts counting again.
func (w *worker) flushLines() {
	for _, k := range w.lines {
		if k.dropped > 0 {
			fmt.Fprintf(w.cfg.Stderr, "isowasm: worker %d: %d more lines like this one were left out: %s\n", w.workerID(), k.dropped, k.last)
		}
	}
	clear(w.lines)
}

// instantiate links WASI and the isowasm host module and instantiates the
// guest without running its start function (run calls it, so that a trap
// there is reported like any other).
func (w *worker) instantiate(ctx context.Context, rt wazero.Runtime, cm wazero.CompiledModule) error {
	if _, err := wasiBuilder(rt).Instantiate(ctx); err != nil {
		return fmt.Errorf("wasm: instantiating WASI: %w", err)
	}
	if _, err := hostModule(rt, w).Instantiate(ctx); err != nil {
		return fmt.Errorf("wasm: instantiating the isowasm host module: %w", err)
	}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithArgs(append([]string{w.cfg.Module}, w.cfg.Args...)...).
		WithStdout(w.cfg.Stdout).
		WithStderr(w.cfg.Stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, kv := range w.cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			mc = mc.WithEnv(k, v)
		}
	}
	if len(w.cfg.AllowDirs) > 0 {
		fs, roots, err := mountDirs(w.cfg.AllowDirs)
		if err != nil {
			return err
		}
		w.roots = roots
		mc = mc.WithFSConfig(fs)
	}
	mod, err := rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(allocateReserved)), cm, mc)
	if err != nil {
		w.closeRoots()
		return &ModuleError{Path: w.cfg.Module, Problem: "cannot be instantiated: " + oneLine(err.Error()), Err: err}
	}
	w.mod = mod
	w.mem = mod.Memory()
	w.alloc = mod.ExportedFunction(hostabi.ExportAlloc)
	w.init = mod.ExportedFunction(hostabi.ExportInit)
	w.onMessage = mod.ExportedFunction(hostabi.ExportOnMessage)
	w.onDisconnect = mod.ExportedFunction(hostabi.ExportOnDisconnect)
	w.onTimer = mod.ExportedFunction(hostabi.ExportOnTimer)
	w.onExit = mod.ExportedFunction(hostabi.ExportOnExit)
	w.initialize = mod.ExportedFunction(hostabi.ExportInitialize)
	w.onHTTPRequest = mod.ExportedFunction(hostabi.ExportOnHTTPRequest)
	return nil
}

func (w *worker) closeRoots() {
	for _, r := range w.roots {
		r.Close()
	}
	w.roots = nil
}

// call calls a guest export. A proc_exit ends the worker with its code; a
// trap is printed and ends it with 1: the instance is never called again.
func (w *worker) call(ctx context.Context, name string, fn api.Function, params ...uint64) ([]uint64, bool) {
	if w.done {
		return nil, false
	}
	res, err := fn.Call(ctx, params...)
	if err == nil {
		return res, true
	}
	w.done = true
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		w.code = int(exit.ExitCode())
		if ctx.Err() != nil {
			w.code = 1
		}
		return nil, false
	}
	w.code = 1
	w.errorf("%s: trap in %s: %s%s", w.cfg.Module, name, strings.TrimRight(err.Error(), "\n"), w.memoryNote())
	return nil, false
}

// memoryNote says, after a trap, whether the guest had filled its memory
// limit (its allocator then fails, and most guests trap).
func (w *worker) memoryNote() string {
	limit := uint64(w.cfg.MemoryLimitPages) * 65536
	if limit == 0 {
		limit = 1 << 32
	}
	if w.mem == nil || uint64(w.mem.Size()) < limit/10*9 {
		return ""
	}
	return fmt.Sprintf(" (the guest's memory had reached %d MiB of its %d MiB limit: raise --max-memory if it needs more)", w.mem.Size()>>20, limit>>20)
}

// finish ends the worker normally: the guest's on_exit runs first.
func (w *worker) finish(ctx context.Context, code int) {
	if w.onExit != nil {
		w.call(ctx, hostabi.ExportOnExit, w.onExit, api.EncodeI32(int32(code)))
	}
	if !w.done {
		w.done, w.code = true, code
	}
}

var readyPayload = []byte{0x65, 'r', 'e', 'a', 'd', 'y'} // CBOR text "ready"

// run initializes the guest, says ready and loops until the worker ends.
func (w *worker) run(ctx context.Context) (int, error) {
	defer func() {
		w.linesMu.Lock()
		w.flushLines()
		w.linesMu.Unlock()
	}()
	defer w.closeRoots() // after the module: its open files go first
	defer w.mod.Close(context.WithoutCancel(ctx))
	w.ctx = ctx
	w.guest.Lock()
	defer w.endHTTP() // unlocks, ends the HTTP servers before the module closes
	if w.ch != nil {
		w.ch.Start(channelHandler{w})
	}
	if w.initialize != nil {
		w.call(ctx, hostabi.ExportInitialize, w.initialize)
	}
	status := int32(hostabi.InitReady)
	if w.init != nil {
		if res, ok := w.call(ctx, hostabi.ExportInit, w.init); ok {
			status = api.DecodeI32(res[0])
		}
	}
	if !w.done {
		switch status {
		case hostabi.InitReady:
			if w.ch != nil {
				if err := w.ch.Send(readyPayload); err != nil && !errors.Is(err, host.ErrClosed) {
					w.errorf("telling the primary it is ready: %v", err)
				}
			}
		case hostabi.InitNoReady:
			// The guest said "ready" itself, or never will.
		default:
			w.errorf("%s: initialize error: %s returned %d", w.cfg.Module, hostabi.ExportInit, status)
			w.finish(ctx, 1)
		}
	}
	// Loading the compiled code went through megabytes of heap that are
	// garbage now: give them back before idling (a Go guest's worker
	// stays ~4 MiB smaller). The worker is ready already; this costs
	// only its first message a few milliseconds.
	debug.FreeOSMemory()
	tick := time.NewTimer(time.Hour)
	tick.Stop()
	for !w.done {
		// What the guest sends while it handles this turn's timers and
		// messages goes out in one write when the turn ends.
		if w.ch != nil {
			w.ch.Cork()
		}
		w.runTimers(ctx)
		w.runPosted(ctx)
		if w.ch != nil {
			_ = w.ch.Uncork() // a failed write breaks the channel: the reader reports it
		}
		if w.done {
			break
		}
		if w.destroying && !time.Now().Before(w.destroyAt) {
			w.finish(ctx, 0)
			break
		}
		if !w.connected && len(w.pending) == 0 && !w.destroying && !w.hasPosted() && !w.http.alive() {
			w.finish(ctx, 0)
			break
		}
		next, ok := w.nextDue()
		if ok {
			tick.Reset(max(time.Until(next), 0))
		}
		w.guest.Unlock()
		select {
		case <-w.wake:
		case <-tick.C:
		case <-ctx.Done():
			w.guest.Lock()
			return 1, fmt.Errorf("wasm: %s: %w", w.cfg.Module, ctx.Err())
		}
		w.guest.Lock()
		tick.Stop() // since Go 1.23 a stopped timer delivers nothing stale
	}
	return w.code, nil
}

// nextDue is when the loop must wake next without any event.
func (w *worker) nextDue() (time.Time, bool) {
	var next time.Time
	ok := false
	if len(w.timers) > 0 {
		next, ok = w.timers[0].due, true
	}
	if w.destroying && (!ok || w.destroyAt.Before(next)) {
		next, ok = w.destroyAt, true
	}
	return next, ok
}

func (w *worker) post(e event) {
	w.mu.Lock()
	w.posted = append(w.posted, e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) hasPosted() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.posted) > 0
}

// runPosted handles what arrived from the primary, in arrival order.
func (w *worker) runPosted(ctx context.Context) {
	w.mu.Lock()
	events := w.posted
	w.posted = nil
	w.mu.Unlock()
	for _, e := range events {
		if w.done {
			return
		}
		switch e.kind {
		case evMessage:
			w.deliver(ctx, e.payload)
		case evDisconnectRequest:
			// Node's worker closes its servers and then the channel; the
			// guest hears of it when the close is seen.
			w.closeServers(func() { w.ch.Close() })
		case evFunc:
			e.fn()
		case evHeartbeat:
			// Answered from the loop: a guest spinning in an export never
			// gets here, and the primary kills the process.
			e.ack()
		case evClosed:
			if !w.connected {
				continue
			}
			w.connected = false
			if e.err != nil {
				w.errorf("the channel to the primary broke: %v", e.err)
			}
			// Without its primary a Node worker leaves: its servers
			// close (those requests in progress finish).
			w.closeServers(func() {})
			if w.onDisconnect != nil {
				w.call(ctx, hostabi.ExportOnDisconnect, w.onDisconnect)
			}
		}
	}
}

// deliver copies a message into guest memory and calls on_message.
func (w *worker) deliver(ctx context.Context, payload []byte) {
	res, ok := w.call(ctx, hostabi.ExportAlloc, w.alloc, api.EncodeI32(int32(len(payload))))
	if !ok {
		return
	}
	ptr := api.DecodeU32(res[0])
	if ptr == 0 || !w.mem.Write(ptr, payload) {
		w.done, w.code = true, 1
		w.errorf("%s: %s(%d) returned %#x, not room for the message in the guest's memory", w.cfg.Module, hostabi.ExportAlloc, len(payload), ptr)
		return
	}
	w.call(ctx, hostabi.ExportOnMessage, w.onMessage, api.EncodeU32(ptr), api.EncodeI32(int32(len(payload))))
}

// channelHandler posts what the reader goroutine sees to the loop.
type channelHandler struct{ w *worker }

func (h channelHandler) Message(payload []byte) {
	h.w.post(event{kind: evMessage, payload: payload})
}
func (h channelHandler) DisconnectRequest()   { h.w.post(event{kind: evDisconnectRequest}) }
func (h channelHandler) Closed(err error)     { h.w.post(event{kind: evClosed, err: err}) }
func (h channelHandler) Heartbeat(ack func()) { h.w.post(event{kind: evHeartbeat, ack: ack}) }

// Timers: a heap by (due, sequence), so timers due at the same time fire
// in the order they were set, as Node's do.
type timer struct {
	id    int32
	due   time.Time
	seq   uint64
	index int
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// setTimer is the set_timer import. Delays below 1 ms are 1 ms, as Node's.
func (w *worker) setTimer(delayMS int32) int32 {
	delayMS = max(delayMS, 1)
	// Ids are never 0 and, wrapping after 2^31 timers, skip live ones.
	for {
		w.lastTimer++
		if w.lastTimer <= 0 {
			w.lastTimer = 1
		}
		if _, used := w.pending[w.lastTimer]; !used {
			break
		}
	}
	w.seq++
	t := &timer{id: w.lastTimer, due: time.Now().Add(time.Duration(delayMS) * time.Millisecond), seq: w.seq}
	heap.Push(&w.timers, t)
	w.pending[t.id] = t
	return t.id
}

func (w *worker) clearTimer(id int32) bool {
	t, ok := w.pending[id]
	if !ok {
		return false
	}
	delete(w.pending, id)
	heap.Remove(&w.timers, t.index)
	return true
}

// runTimers fires the timers due now; timers set meanwhile wait for the
// next turn, so a guest re-arming a 1 ms timer cannot starve messages.
func (w *worker) runTimers(ctx context.Context) {
	now := time.Now()
	limit := w.seq
	for len(w.timers) > 0 && !w.done {
		t := w.timers[0]
		if t.due.After(now) || t.seq > limit {
			return
		}
		heap.Pop(&w.timers)
		delete(w.pending, t.id)
		w.call(ctx, hostabi.ExportOnTimer, w.onTimer, api.EncodeI32(t.id))
	}
}
