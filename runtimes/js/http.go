package js

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// node:http servers are Go's net/http servers. Each request arrives on a
// goroutine of net/http's, which posts it to the loop and then writes what
// the script responds, as it comes; a request body is read by one more
// goroutine, a chunk at a time, each waiting until the script has taken
// the one before (req.pause() holds it).

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

// httpServer is one listening net/http server.
type httpServer struct {
	h    *httpHost
	id   int
	srv  *http.Server
	wg   sync.WaitGroup // Serve, every connection (with its handler), body readers, shutdown
	gone chan struct{}  // closed when the runtime ends: handlers stop waiting for the script
	once sync.Once

	keepAlive []string // the Keep-Alive header Node sends ("timeout=5"), nil without a timeout
}

// exchange is one request and its response.
type exchange struct {
	id      int64
	s       *httpServer
	req     *http.Request
	w       http.ResponseWriter
	hasBody bool

	mu     sync.Mutex
	ops    []respOp
	wake   chan struct{} // ops were queued
	resume chan struct{} // the script took a body chunk: read the next
	done   chan struct{} // the handler returned

	// The loop's.
	res     goja.Value // the ServerResponse
	ended   bool       // res.end() was called
	aborted bool
}

// respOp is what one call of res.write/end/writeHead hands to the handler.
type respOp struct {
	status int      // > 0: write the head first
	header []string // name, value, name, value…
	data   []byte
	end    bool
	abort  bool // req/res.destroy(): drop the connection
}

var httpVersions = map[int]string{10: "1.0", 11: "1.1", 20: "2.0"}

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
	set("httpListen", func(host string, port int, path string, exclusive bool, keepAliveMS, headersTimeoutMS int64) map[string]any {
		ln, err := r.listen(host, port, path, exclusive)
		if err != nil {
			panic(r.listenError(err, host, port, path))
		}
		s := &httpServer{h: h, gone: make(chan struct{})}
		s.srv = &http.Server{
			Handler:           s,
			IdleTimeout:       time.Duration(keepAliveMS) * time.Millisecond,
			ReadHeaderTimeout: time.Duration(headersTimeoutMS) * time.Millisecond,
			MaxHeaderBytes:    16 << 10, // Node's --max-http-header-size
			ErrorLog:          log.New(io.Discard, "", 0),
			ConnState: func(_ net.Conn, st http.ConnState) {
				// StateNew is set on the Serve goroutine, which wg counts.
				switch st {
				case http.StateNew:
					s.wg.Add(1)
				case http.StateClosed, http.StateHijacked:
					s.wg.Done()
				}
			},
		}
		if secs := keepAliveMS / 1000; secs > 0 {
			s.keepAlive = []string{"timeout=" + strconv.FormatInt(secs, 10)}
		}
		s.id = r.addListener(&listener{shutdown: s.shutdown, kill: s.kill})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = s.srv.Serve(ln)
		}()
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
	set("httpResume", func(id int64) {
		if ex := h.exchanges[id]; ex != nil {
			ex.signal(ex.resume)
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
	ex.signal(ex.wake)
}

func (ex *exchange) signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (ex *exchange) take() []respOp {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	ops := ex.ops
	ex.ops = nil
	return ops
}

// ServeHTTP runs on net/http's goroutine for the connection: it hands the
// request to the loop and writes the response the script makes.
func (s *httpServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ex := &exchange{
		id:      s.h.seq.Add(1),
		s:       s,
		req:     req,
		w:       w,
		hasBody: req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	defer close(ex.done)
	if ex.hasBody {
		ex.resume = make(chan struct{}, 1)
		// The script may answer before it has read the body, as in Node.
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	if !s.h.r.loop.post(func() { s.h.deliver(ex) }) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if ex.hasBody {
		s.wg.Add(1) // inside a connection, so wg is above zero
		go s.readBody(ex)
	}
	ctx := req.Context()
	for {
		select {
		case <-ex.wake:
		case <-ctx.Done():
			for _, op := range ex.take() {
				if op.end {
					return
				}
			}
			s.h.r.loop.post(func() { s.h.abort(ex) })
			return
		case <-s.gone:
			return
		}
		for _, op := range ex.take() {
			if op.abort {
				panic(http.ErrAbortHandler) // net/http closes the connection quietly
			}
			ex.apply(op)
			if op.end {
				return
			}
		}
		_ = http.NewResponseController(w).Flush()
	}
}

// apply writes one op: the head (with Node's default headers), then data.
func (ex *exchange) apply(op respOp) {
	w := ex.w
	if op.status > 0 {
		hdr := w.Header()
		for i := 0; i+1 < len(op.header); i += 2 {
			k := http.CanonicalHeaderKey(op.header[i])
			hdr[k] = append(hdr[k], op.header[i+1])
		}
		if _, ok := hdr["Content-Type"]; !ok {
			hdr["Content-Type"] = nil // Node sends none; net/http would sniff one
		}
		bodyless := op.status < 200 || op.status == 204 || op.status == 304
		if op.end && !bodyless && hdr["Content-Length"] == nil && hdr["Transfer-Encoding"] == nil {
			hdr["Content-Length"] = []string{strconv.Itoa(len(op.data))}
		}
		if hdr["Connection"] == nil && !ex.req.Close && ex.req.ProtoAtLeast(1, 1) {
			hdr["Connection"] = keepAlive
			if ex.s.keepAlive != nil {
				hdr["Keep-Alive"] = ex.s.keepAlive
			}
		}
		w.WriteHeader(op.status)
	}
	if len(op.data) > 0 {
		_, _ = w.Write(op.data)
	}
}

var keepAlive = []string{"keep-alive"}

// readBody hands the body to the loop a chunk at a time.
func (s *httpServer) readBody(ex *exchange) {
	defer s.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := ex.req.Body.Read(buf)
		if n > 0 {
			chunk := slices.Clone(buf[:n])
			if !s.h.r.loop.post(func() { s.h.bodyChunk(ex, chunk) }) {
				return
			}
			select {
			case <-ex.resume:
			case <-ex.done:
				return
			case <-s.gone:
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.h.r.loop.post(func() { s.h.bodyChunk(ex, nil) })
			}
			// Otherwise the client went away: the handler sees it.
			return
		}
	}
}

// deliver runs on the loop: the script's 'request'.
func (h *httpHost) deliver(ex *exchange) {
	r := h.r
	if r.loop.stopped || h.hooks.request == nil {
		return
	}
	vm := r.vm
	req := ex.req
	// The headers go over as one string, "Name\nvalue\n…" (neither can
	// hold a newline), which http.js splits into rawHeaders only when the
	// script looks: one value to convert instead of two per header.
	raw := rawHeaders(req)
	version, ok := httpVersions[req.ProtoMajor*10+req.ProtoMinor]
	if !ok {
		version = strconv.Itoa(req.ProtoMajor) + "." + strconv.Itoa(req.ProtoMinor)
	}
	h.exchanges[ex.id] = ex
	res, err := h.hooks.request(goja.Undefined(),
		vm.ToValue(ex.s.id), vm.ToValue(ex.id), vm.ToValue(req.Method), vm.ToValue(req.RequestURI),
		vm.ToValue(version), vm.ToValue(raw), vm.ToValue(req.RemoteAddr), vm.ToValue(ex.hasBody))
	if err == nil {
		ex.res = res
	}
	r.handle(err)
	r.drain()
}

// rawHeaders is the request's headers as "Name\nvalue\n…": Host first,
// then by name (net/http keeps no order).
func rawHeaders(req *http.Request) string {
	n := 6 + len(req.Host)
	keys := make([]string, 0, len(req.Header))
	for k, vs := range req.Header {
		keys = append(keys, k)
		for _, v := range vs {
			n += len(k) + len(v) + 2
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(n)
	b.WriteString("Host\n")
	b.WriteString(req.Host)
	b.WriteByte('\n')
	for _, k := range keys {
		for _, v := range req.Header[k] {
			b.WriteString(k)
			b.WriteByte('\n')
			b.WriteString(v)
			b.WriteByte('\n')
		}
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
		ex.signal(ex.resume)
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
		_ = s.srv.Shutdown(context.Background())
		done()
	}()
}

// kill ends everything now and waits for the server's goroutines.
func (s *httpServer) kill() {
	s.once.Do(func() { close(s.gone) })
	_ = s.srv.Close()
	s.wg.Wait()
}
