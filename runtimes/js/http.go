package js

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/valyala/fasthttp"

	hostpkg "github.com/isowasm/isowasm/runtimes/host"
)

// node:http servers are host.HTTPServer (fasthttp). Each request arrives
// on the goroutine that serves its connection, which posts it to the loop
// and then waits for what the script responds. A response the script
// ends at once (the usual case: res.end with the whole body) is handed to
// fasthttp whole, which writes it with a Content-Length. One that starts
// with a res.write is streamed: fasthttp writes the head, then reads the
// body from the exchange (an io.Reader) as the script writes it, in
// chunks when the script set no Content-Length. A request body is read by
// one more goroutine, a chunk at a time, each waiting until the script has
// taken the one before (req.pause() holds it).

// httpHost holds the JS hooks and the requests in progress. Everything but
// seq is the loop's.
type httpHost struct {
	r     *runtime
	hooks struct {
		request goja.Callable // (serverId, id, method, url, version, rawHeaders, remote, hasBody) → res
		body    goja.Callable // (res, chunk ArrayBuffer | null) → paused
		aborted goja.Callable // (res)
	}
	exchanges map[int64]*exchange
	seq       atomic.Int64
}

// httpServer is one listening server.
type httpServer struct {
	h    *httpHost
	id   int
	srv  *hostpkg.HTTPServer
	wg   sync.WaitGroup // the graceful shutdown
	gone chan struct{}  // closed when the runtime ends: handlers stop waiting for the script
	once sync.Once

	keepAlive string // the Keep-Alive header Node sends ("timeout=5"), "" without a timeout
}

// exchange is one request and its response. The fields under "the
// connection's" are touched only by the goroutine serving the connection
// (the handler, then fasthttp reading the streamed body).
type exchange struct {
	id      int64
	s       *httpServer
	ctx     *fasthttp.RequestCtx
	hasBody bool

	mu   sync.Mutex
	ops  []respOp
	wake chan struct{} // ops were queued

	// The request body: read by readBody until it ends or quit is closed.
	resume   chan struct{} // the script took a body chunk: read the next
	quit     chan struct{} // closed: readBody stops
	bodyDone chan struct{} // closed when readBody has returned
	bodyOK   atomic.Bool   // the body was read to its end
	failed   chan struct{} // closed when reading the body failed: the client went away

	// The connection's.
	heard     bool // an op came: deliver has run, and is done with ctx
	queue     []respOp
	pending   []byte          // streamed data taken from an op, not yet read by fasthttp
	watchWant bool            // the script did not answer at once: watch the client
	length    int             // the Content-Length the script set, -1: none
	gone      <-chan struct{} // the client went away (set while watching)
	stopWatch func()
	done      bool // the exchange is over (finish ran)

	// The loop's.
	res     goja.Value // the ServerResponse
	ended   bool       // res.end() was called
	aborted bool
}

// respOp is what one call of res.write/end/writeHead (or the loop) hands
// to the connection.
type respOp struct {
	status int      // > 0: the head, before data
	header []string // name, value, name, value…
	data   []byte
	end    bool
	abort  bool // req/res.destroy(): drop the connection
	watch  bool // the script did not end the response in its 'request'
}

func (r *runtime) httpBindings(set func(string, any)) {
	h := &httpHost{r: r, exchanges: map[int64]*exchange{}}
	vm := r.vm
	set("httpSetHooks", func(o *goja.Object) {
		get := func(name string) goja.Callable {
			f, ok := goja.AssertFunction(o.Get(name))
			if !ok {
				panic(vm.NewTypeError("isowasm: http hook " + name + " missing"))
			}
			return f
		}
		h.hooks.request, h.hooks.body, h.hooks.aborted = get("request"), get("body"), get("aborted")
	})
	set("httpListen", func(host string, port int, path string, exclusive bool, keepAliveMS, headersTimeoutMS, requestTimeoutMS int64) map[string]any {
		ln, err := r.listen(host, port, path, exclusive)
		if err != nil {
			panic(r.listenError(err, host, port, path))
		}
		s := &httpServer{h: h, gone: make(chan struct{})}
		if secs := keepAliveMS / 1000; secs > 0 {
			s.keepAlive = "timeout=" + strconv.FormatInt(secs, 10)
		}
		s.srv = hostpkg.ServeHTTP(ln, hostpkg.HTTPConfig{
			Handler:        s.serve,
			IdleTimeout:    time.Duration(keepAliveMS) * time.Millisecond,
			HeadersTimeout: time.Duration(headersTimeoutMS) * time.Millisecond,
			RequestTimeout: time.Duration(requestTimeoutMS) * time.Millisecond,
		})
		s.id = r.addListener(&listener{shutdown: s.shutdown, kill: s.kill})
		info := r.announce(ln, host, path)
		info["id"] = s.id
		return info
	})
	set("httpRespond", func(call goja.FunctionCall) goja.Value {
		ex := h.exchanges[call.Argument(0).ToInteger()]
		if ex == nil || ex.ended {
			return goja.Undefined()
		}
		var op respOp
		if st := call.Argument(1); !goja.IsUndefined(st) {
			op.status = int(st.ToInteger())
			op.header = splitHeaders(call.Argument(2).String())
		}
		op.data = bytesOf(call.Argument(3))
		if call.Argument(4).ToBoolean() {
			op.end = true
			h.finish(ex)
		}
		ex.push(op)
		return goja.Undefined()
	})
	// httpTicks is runTicks when a tick is queued: the hooks drain them
	// before their promise jobs, and most requests queue none.
	set("httpTicks", func() {
		if r.ticks && r.hooks.runTicks != nil {
			r.ticks = false
			if _, err := r.hooks.runTicks(goja.Undefined()); err != nil {
				panic(err)
			}
		}
	})
	set("httpResume", func(id int64) {
		if ex := h.exchanges[id]; ex != nil && ex.resume != nil {
			signal(ex.resume)
		}
	})
	set("httpDestroy", func(id int64) {
		if ex := h.exchanges[id]; ex != nil {
			h.finish(ex)
			ex.push(respOp{abort: true})
		}
	})
}

// finish marks the response ended; the loop forgets the exchange.
func (h *httpHost) finish(ex *exchange) {
	ex.ended = true
	delete(h.exchanges, ex.id)
}

// splitHeaders reads the head http.js sends: "name\nvalue\n…".
func splitHeaders(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// bytesOf copies a string (as UTF-8) or a Uint8Array.
func bytesOf(v goja.Value) []byte {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	switch x := v.Export().(type) {
	case string:
		return []byte(x)
	case []byte:
		return slices.Clone(x)
	case goja.ArrayBuffer:
		return slices.Clone(x.Bytes())
	}
	return []byte(v.String())
}

func (ex *exchange) push(op respOp) {
	ex.mu.Lock()
	ex.ops = append(ex.ops, op)
	ex.mu.Unlock()
	signal(ex.wake)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// serve runs on the goroutine of the request's connection: it hands the
// request to the loop and waits for the head of the response.
func (s *httpServer) serve(ctx *fasthttp.RequestCtx) {
	ex := &exchange{
		id:     s.h.seq.Add(1),
		s:      s,
		ctx:    ctx,
		wake:   make(chan struct{}, 1),
		length: -1,
		// A Content-Length (> 0) or a chunked body (-1).
		hasBody: ctx.Request.Header.ContentLength() != 0 && ctx.Request.Header.ContentLength() != -2,
	}
	if ex.hasBody {
		ex.resume = make(chan struct{}, 1)
		ex.quit = make(chan struct{})
		ex.bodyDone = make(chan struct{})
		ex.failed = make(chan struct{})
	}
	if !s.h.r.loop.post(func() { s.h.deliver(ex) }) {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		return
	}
	if ex.hasBody {
		go ex.readBody(ctx.RequestBodyStream())
	}
	for {
		op, ok := ex.next()
		if !ok {
			return
		}
		if op.abort {
			ex.drop()
			return
		}
		if op.status > 0 {
			ex.head(op)
		}
		if op.end {
			ex.finish()
			ex.ctx.Response.SetBodyRaw(op.data) // fasthttp sets Content-Length
			ex.connectionHeaders()
			return
		}
		if op.status > 0 || len(op.data) > 0 {
			// Streamed: fasthttp writes the head and reads the rest from
			// ex, with the length the script set or in chunks.
			ex.pending = op.data
			if len(op.data) == 0 {
				ex.ctx.Response.ImmediateHeaderFlush = true // res.flushHeaders()
			}
			ex.ctx.Response.SetBodyStream(ex, ex.length)
			ex.connectionHeaders()
			return
		}
	}
}

// next waits for the script's next op; false when the exchange ended
// without one (the client or the runtime went away: the connection is
// dropped).
func (ex *exchange) next() (respOp, bool) {
	for len(ex.queue) == 0 {
		ex.mu.Lock()
		ex.queue, ex.ops = ex.ops, nil
		ex.mu.Unlock()
		if len(ex.queue) > 0 {
			break
		}
		// Watch the client once the script is taking its time and the
		// body has been read (nothing else may read the connection).
		// Until deliver has run (it reads ctx on the loop), only the end
		// of the runtime ends the wait: the request must not be left.
		var bodyDone, failed chan struct{}
		if ex.heard {
			failed = ex.failed
		}
		if ex.watchWant && ex.stopWatch == nil {
			reading := false
			if ex.hasBody {
				select {
				case <-ex.bodyDone:
				default:
					reading = true
				}
			}
			switch {
			case reading:
				bodyDone = ex.bodyDone // then watch
			case !ex.hasBody || ex.bodyOK.Load():
				ex.gone, ex.stopWatch = hostpkg.WatchClient(ex.ctx)
			} // else the body failed: failed is closed
		}
		select {
		case <-ex.wake:
		case <-bodyDone:
		case <-ex.gone:
			ex.lost()
			return respOp{}, false
		case <-failed:
			ex.lost()
			return respOp{}, false
		case <-ex.s.gone:
			ex.drop()
			return respOp{}, false
		}
	}
	op := ex.queue[0]
	ex.queue = ex.queue[1:]
	ex.heard = true
	if op.watch {
		ex.watchWant = true
		return ex.next()
	}
	return op, true
}

// head puts the script's status and headers on the response.
func (ex *exchange) head(op respOp) {
	r := &ex.ctx.Response
	r.SetStatusCode(op.status)
	ex.length = -1
	for i := 0; i+1 < len(op.header); i += 2 {
		name, value := op.header[i], op.header[i+1]
		if len(name) == len("content-length") && strings.EqualFold(name, "content-length") {
			if n, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && n >= 0 {
				ex.length = n
			}
		}
		r.Header.Add(name, value)
	}
}

// connectionHeaders adds what Node says of a kept-alive connection.
func (ex *exchange) connectionHeaders() {
	req, r := &ex.ctx.Request.Header, &ex.ctx.Response.Header
	if r.ConnectionClose() || req.ConnectionClose() || !req.IsHTTP11() || len(r.Peek("Connection")) > 0 {
		return
	}
	r.Set("Connection", "keep-alive")
	if ex.s.keepAlive != "" {
		r.Set("Keep-Alive", ex.s.keepAlive)
	}
}

// Read is fasthttp reading a streamed response body: the data of the
// script's writes, io.EOF after its end.
func (ex *exchange) Read(p []byte) (int, error) {
	for len(ex.pending) == 0 {
		if ex.done {
			return 0, io.EOF
		}
		op, ok := ex.next()
		if !ok {
			return 0, errExchangeLost
		}
		if op.abort {
			ex.drop()
			return 0, errExchangeLost
		}
		ex.pending = op.data
		if op.end {
			ex.finish()
		}
	}
	n := copy(p, ex.pending)
	ex.pending = ex.pending[n:]
	return n, nil
}

var errExchangeLost = errors.New("js: the response was abandoned")

// CloseWithError is fasthttp done with a streamed response body: written
// (err nil), or failed (the client went away). A response to HEAD, or one
// that reached its Content-Length, is written before the script ends it:
// the connection waits for the end before the next request, as Node's.
func (ex *exchange) CloseWithError(err error) error {
	if ex.done {
		return nil
	}
	if err != nil {
		ex.lost()
		return nil
	}
	for !ex.done {
		op, ok := ex.next()
		if !ok {
			break
		}
		if op.abort {
			ex.drop()
		} else if op.end {
			ex.finish()
		}
	}
	return nil
}

// finish ends the exchange on the connection's side: the body reader
// stops (the rest of the body is fasthttp's to drain, or the connection
// closes), the watch too.
func (ex *exchange) finish() {
	if ex.done {
		return
	}
	ex.done = true
	if ex.stopWatch != nil {
		ex.stopWatch()
	}
	if ex.hasBody {
		close(ex.quit)
		select {
		case <-ex.bodyDone:
		default:
			// Blocked reading from the client: end that read. The body
			// is cut, so the connection closes after the response.
			_ = ex.ctx.Conn().SetReadDeadline(time.Unix(1, 0))
			<-ex.bodyDone
		}
		if !ex.bodyOK.Load() {
			ex.ctx.SetConnectionClose()
			hostpkg.Linger(ex.ctx)
		}
	}
}

// lost is the client gone before the end: the script hears 'aborted'
// and 'close', and the connection is dropped.
func (ex *exchange) lost() {
	ex.s.h.r.loop.post(func() { ex.s.h.abort(ex) })
	ex.drop()
}

// drop ends the exchange and closes the connection without a response.
func (ex *exchange) drop() {
	ex.finish()
	_ = ex.ctx.Conn().Close()
}

// readBody hands the body to the loop a chunk at a time.
func (ex *exchange) readBody(body io.Reader) {
	defer close(ex.bodyDone)
	h := ex.s.h
	buf := make([]byte, 64<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			chunk := slices.Clone(buf[:n])
			if !h.r.loop.post(func() { h.bodyChunk(ex, chunk) }) {
				return
			}
			select {
			case <-ex.resume:
			case <-ex.quit:
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				ex.bodyOK.Store(true)
				h.r.loop.post(func() { h.bodyChunk(ex, nil) })
				return
			}
			select {
			case <-ex.quit: // finish ended the read
			default:
				close(ex.failed) // the client went away
			}
			return
		}
	}
}

// deliver runs on the loop: the script's 'request'.
func (h *httpHost) deliver(ex *exchange) {
	r := h.r
	if r.loop.stopped || h.hooks.request == nil {
		ex.push(respOp{abort: true})
		return
	}
	vm := r.vm
	rh := &ex.ctx.Request.Header
	h.exchanges[ex.id] = ex
	res, err := h.hooks.request(goja.Undefined(),
		vm.ToValue(ex.s.id), vm.ToValue(ex.id), vm.ToValue(string(rh.Method())), vm.ToValue(string(rh.RequestURI())),
		vm.ToValue(hostpkg.HTTPVersion(rh.Protocol())), vm.ToValue(rawHeaders(rh)), vm.ToValue(hostpkg.ClientAddr(ex.ctx)), vm.ToValue(ex.hasBody))
	if err == nil {
		ex.res = res
	}
	if !ex.ended {
		ex.push(respOp{watch: true})
	}
	r.handle(err)
	r.drain()
}

// rawHeaders is the request's headers as "Name\nvalue\n…", as they came
// (Node's rawHeaders). They go over as one string (neither part can hold
// a newline), which http.js splits only when the script looks: one value
// to convert instead of two per header.
func rawHeaders(rh *fasthttp.RequestHeader) string {
	var b strings.Builder
	b.Grow(len(rh.RawHeaders()))
	for k, v := range rh.AllInOrder() {
		b.Write(k)
		b.WriteByte('\n')
		b.Write(v)
		b.WriteByte('\n')
	}
	return b.String()
}

// bodyChunk runs on the loop: a 'data' (chunk) or the 'end' (nil).
func (h *httpHost) bodyChunk(ex *exchange, chunk []byte) {
	r := h.r
	if r.loop.stopped || ex.aborted || ex.res == nil {
		return
	}
	var arg goja.Value = goja.Null()
	if chunk != nil {
		arg = r.vm.ToValue(r.vm.NewArrayBuffer(chunk))
	}
	paused, err := h.hooks.body(goja.Undefined(), ex.res, arg)
	if err == nil && chunk != nil && !paused.ToBoolean() {
		signal(ex.resume)
	}
	r.handle(err)
	r.drain()
}

// abort runs on the loop when the client went away before the end.
func (h *httpHost) abort(ex *exchange) {
	r := h.r
	if r.loop.stopped || ex.ended || ex.aborted || ex.res == nil {
		return
	}
	ex.aborted = true
	h.finish(ex)
	_, err := h.hooks.aborted(goja.Undefined(), ex.res)
	r.handle(err)
	r.drain()
}

// shutdown is server.close(): no new connections, idle ones closed, the
// others once their response is done.
func (s *httpServer) shutdown(done func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.srv.Shutdown()
		done()
	}()
}

// kill ends everything now and waits for the server's goroutines.
func (s *httpServer) kill() {
	s.once.Do(func() { close(s.gone) })
	s.srv.Close()
	s.wg.Wait()
}
