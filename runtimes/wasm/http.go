package wasm

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/valyala/fasthttp"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
)

// The HTTP extension (ABI.md, "Extension: HTTP servers"). The guest's
// servers are host.HTTPServer (fasthttp). A request is delivered by the
// goroutine that serves its connection: it takes the guest lock, as the
// loop does for its own calls, and calls isowasm_on_http_request itself; a
// guest that answers at once (http_respond inside the call) costs no
// hand-over between goroutines. One that answers later (from a timer, say)
// is waited for, watching for the client going away meanwhile. Everything
// in httpState is guarded by the guest lock.

type httpState struct {
	servers    map[int32]*httpServer
	lastServer int32
	requests   map[int32]*exchange // delivered, not yet answered
	lastReq    int32
	closing    int    // servers shutting down gracefully
	afterClose func() // run once closing is back to 0 (the disconnect)
	wg         sync.WaitGroup
}

// alive reports whether a server keeps the worker running.
func (h *httpState) alive() bool { return len(h.servers) > 0 }

type httpServer struct {
	w       *worker
	id      int32
	srv     *host.HTTPServer
	closing bool
	gone    chan struct{} // closed when the worker ends
	once    sync.Once
}

// exchange is one request in the guest's hands.
type exchange struct {
	id    int32
	ctx   *fasthttp.RequestCtx
	resp  *httpResponse // set by http_respond
	ready chan struct{} // closed when resp is set
}

type httpResponse struct {
	status int
	header []string // name, value, …
	body   []byte
}

func httpImports(fn func(string, []api.ValueType, []api.ValueType, func(api.Module, []uint64)), w *worker) {
	i32x3 := []api.ValueType{i32, i32, i32}
	one := []api.ValueType{i32}
	fn(hostabi.ImportHTTPListen, i32x3, one, func(m api.Module, stack []uint64) {
		stack[0] = api.EncodeI32(w.httpListen(m, api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])))
	})
	fn(hostabi.ImportHTTPRespond, i32x3, one, func(m api.Module, stack []uint64) {
		stack[0] = api.EncodeI32(w.httpRespond(m, api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])))
	})
	fn(hostabi.ImportHTTPClose, one, one, func(_ api.Module, stack []uint64) {
		stack[0] = api.EncodeI32(w.httpClose(api.DecodeI32(stack[0])))
	})
}

var (
	httpMarker      = hostabi.ExportHTTPPrefix + strconv.Itoa(hostabi.HTTPExtensionVersion)
	httpImportNames = map[string]bool{hostabi.ImportHTTPListen: true, hostabi.ImportHTTPRespond: true, hostabi.ImportHTTPClose: true}
)

// validateHTTP checks a guest that uses the extension: it declares the
// version it was built for and handles requests.
func validateHTTP(cm wazero.CompiledModule, refuse func(string, ...any) error) error {
	exports := cm.ExportedFunctions()
	uses := false
	for _, d := range cm.ImportedFunctions() {
		if mod, name, _ := d.Import(); mod == hostabi.ImportModule && httpImportNames[name] {
			uses = true
		}
	}
	if _, ok := exports[httpMarker]; !ok {
		for name := range exports {
			if v, ok := strings.CutPrefix(name, hostabi.ExportHTTPPrefix); ok {
				return refuse("built for the isowasm HTTP extension %s, but this isowasm speaks version %d: rebuild it with a matching guest SDK", v, hostabi.HTTPExtensionVersion)
			}
		}
		if uses {
			return refuse("imports the HTTP extension's functions but does not export %s: build it with the isowasm guest SDK's HTTP support (see hostabi/ABI.md)", httpMarker)
		}
	}
	if _, ok := exports[hostabi.ExportOnHTTPRequest]; uses && !ok {
		return refuse("imports %s.%s but is missing export %s %s", hostabi.ImportModule, hostabi.ImportHTTPListen, hostabi.ExportOnHTTPRequest, guestExports[hostabi.ExportOnHTTPRequest])
	}
	return nil
}

// Listen is an address a guest may listen on: a host name or address as
// the guest gives it ("" is any: the guest may also ask for every
// address), and a range of ports.
type Listen struct {
	Host      string
	Low, High int
}

// ParseListen reads a grant as the command line writes it: HOST:PORT,
// :PORT (any host), or either with a range of ports, :8000-8099. Port 0
// (a free port the system picks) must be granted as such (:0).
func ParseListen(spec string) (Listen, error) {
	var l Listen
	host, ports, err := net.SplitHostPort(spec)
	if err != nil {
		return l, fmt.Errorf("wasm: listen grant %q: write HOST:PORT, :PORT or :LOW-HIGH", spec)
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	if !isRange {
		hi = lo
	}
	l.Host = host
	l.Low, err = strconv.Atoi(lo)
	if err == nil {
		l.High, err = strconv.Atoi(hi)
	}
	if err != nil || l.Low < 0 || l.High > 65535 || l.Low > l.High {
		return l, fmt.Errorf("wasm: listen grant %q: %q is not a port or a range of ports LOW-HIGH within 0-65535", spec, ports)
	}
	return l, nil
}

func (l Listen) allows(host string, port int) bool {
	return (l.Host == "" || l.Host == host) && l.Low <= port && port <= l.High
}

// httpListen is the http_listen import.
func (w *worker) httpListen(m api.Module, port int32, hostPtr, hostLen uint32) int32 {
	b, ok := m.Memory().Read(hostPtr, hostLen)
	if !ok {
		w.errorf("http_listen: the host name (%d bytes at %#x) lies outside the guest's memory", hostLen, hostPtr)
		return hostabi.StatusBounds
	}
	hostName := string(b)
	if w.onHTTPRequest == nil {
		w.errorf("http_listen: the guest does not export %s", hostabi.ExportOnHTTPRequest)
		return hostabi.StatusListen
	}
	if !slices.ContainsFunc(w.cfg.AllowListen, func(l Listen) bool { return l.allows(hostName, int(port)) }) {
		addr := net.JoinHostPort(hostName, strconv.Itoa(int(port)))
		w.errorf("http_listen %s refused: %s may not listen there; grant it with --allow-listen %s", addr, w.cfg.Module, addr)
		return hostabi.StatusListen
	}
	ln, err := host.Listen(hostName, int(port), "", w.ch != nil)
	if err != nil {
		w.errorf("http_listen %s: %v", net.JoinHostPort(hostName, strconv.Itoa(int(port))), err)
		return hostabi.StatusListen
	}
	h := &w.http
	if h.servers == nil {
		h.servers = map[int32]*httpServer{}
		h.requests = map[int32]*exchange{}
	}
	h.lastServer++
	s := &httpServer{w: w, id: h.lastServer, gone: make(chan struct{})}
	s.srv = host.ServeHTTP(ln, host.HTTPConfig{
		Handler:        s.serve,
		IdleTimeout:    5 * time.Second, // Node's keepAliveTimeout
		HeadersTimeout: time.Minute,     // Node's headersTimeout
		MaxBody:        hostabi.MaxHTTPRequestBody,
	})
	h.servers[s.id] = s
	if w.ch != nil && w.ch.Connected() {
		_ = w.ch.Listening(host.ListeningFrame(ln, hostName, ""))
	}
	return s.id
}

// httpClose is the http_close import: server.close().
func (w *worker) httpClose(id int32) int32 {
	s := w.http.servers[id]
	if s == nil || s.closing {
		return hostabi.StatusUnknown
	}
	w.shutdown(s)
	return hostabi.StatusOK
}

// closeServers closes every server gracefully, then calls then on the loop.
func (w *worker) closeServers(then func()) {
	for _, s := range w.http.servers {
		if !s.closing {
			w.shutdown(s)
		}
	}
	if w.http.closing == 0 {
		then()
		return
	}
	w.http.afterClose = then
}

// shutdown stops s accepting and lets its requests finish; the loop
// forgets it when they have.
func (w *worker) shutdown(s *httpServer) {
	s.closing = true
	w.http.closing++
	w.http.wg.Add(1)
	go func() {
		defer w.http.wg.Done()
		s.srv.Shutdown()
		w.post(event{kind: evFunc, fn: func() {
			delete(w.http.servers, s.id)
			if w.http.closing--; w.http.closing == 0 && w.http.afterClose != nil {
				then := w.http.afterClose
				w.http.afterClose = nil
				then()
			}
		}})
	}()
}

// endHTTP runs when the loop is over (with the guest lock): the worker is
// done, so handlers stop calling the guest; the servers end at once and
// their goroutines are waited for.
func (w *worker) endHTTP() {
	w.done = true
	servers := make([]*httpServer, 0, len(w.http.servers))
	for _, s := range w.http.servers {
		servers = append(servers, s)
	}
	w.guest.Unlock()
	for _, s := range servers {
		s.once.Do(func() { close(s.gone) })
	}
	for _, s := range servers {
		s.srv.Close()
	}
	w.http.wg.Wait()
}

// serve runs on the goroutine of the request's connection. The body has
// been read whole (fasthttp answers a larger one 413).
func (s *httpServer) serve(ctx *fasthttp.RequestCtx) {
	ex := &exchange{ctx: ctx, ready: make(chan struct{})}
	w := s.w
	w.guest.Lock()
	if w.done {
		w.guest.Unlock()
		ctx.Conn().Close() // the worker is ending: drop the connection
		return
	}
	before := w.loopState()
	w.deliverHTTP(s, ex)
	resp, done := ex.resp, w.done
	changed := w.loopState() != before
	w.guest.Unlock()
	if changed {
		// The guest set a timer, exited or trapped: the loop must look.
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	if resp == nil {
		if done {
			ctx.Conn().Close()
			return
		}
		gone, stop := host.WatchClient(ctx)
		select {
		case <-ex.ready:
			resp = ex.resp
		case <-gone:
			w.guest.Lock()
			delete(w.http.requests, ex.id)
			w.guest.Unlock()
		case <-s.gone:
		}
		stop()
		if resp == nil {
			ctx.Conn().Close()
			return
		}
	}
	writeHTTPResponse(ctx, resp)
}

// writeHTTPResponse hands the guest's response to fasthttp, which adds
// Content-Length (any the guest set is replaced by the body's length).
func writeHTTPResponse(ctx *fasthttp.RequestCtx, resp *httpResponse) {
	ctx.SetStatusCode(resp.status)
	hdr := &ctx.Response.Header
	for i := 0; i+1 < len(resp.header); i += 2 {
		hdr.Add(textproto.CanonicalMIMEHeaderKey(resp.header[i]), resp.header[i+1])
	}
	ctx.Response.SetBodyRaw(resp.body)
}

// loopState is what a guest call may change that the loop must see.
type loopState struct {
	top        *timer
	timers     int
	done       bool
	destroying bool
	connected  bool
}

func (w *worker) loopState() loopState {
	st := loopState{timers: len(w.timers), done: w.done, destroying: w.destroying, connected: w.connected}
	if len(w.timers) > 0 {
		st.top = w.timers[0]
	}
	return st
}

// deliverHTTP encodes the request into guest memory and calls the guest
// (with the guest lock).
func (w *worker) deliverHTTP(s *httpServer, ex *exchange) {
	h := &w.http
	for {
		h.lastReq++
		if h.lastReq <= 0 {
			h.lastReq = 1
		}
		if _, used := h.requests[h.lastReq]; !used {
			break
		}
	}
	ex.id = h.lastReq
	payload := encodeHTTPRequest(s.id, ex.ctx)
	res, ok := w.call(w.ctx, hostabi.ExportAlloc, w.alloc, api.EncodeI32(int32(len(payload))))
	if !ok {
		return
	}
	ptr := api.DecodeU32(res[0])
	if ptr == 0 || !w.mem.Write(ptr, payload) {
		w.done, w.code = true, 1
		w.errorf("%s: %s(%d) returned %#x, not room for the request in the guest's memory", w.cfg.Module, hostabi.ExportAlloc, len(payload), ptr)
		return
	}
	// http_respond finds the request here while the guest runs.
	h.requests[ex.id] = ex
	w.call(w.ctx, hostabi.ExportOnHTTPRequest, w.onHTTPRequest, api.EncodeI32(ex.id), api.EncodeU32(ptr), api.EncodeI32(int32(len(payload))))
	if ex.resp == nil && w.done {
		delete(h.requests, ex.id)
	}
}

// httpRespond is the http_respond import.
func (w *worker) httpRespond(m api.Module, id int32, ptr, size uint32) int32 {
	ex := w.http.requests[id]
	if ex == nil {
		return hostabi.StatusUnknown
	}
	data, ok := m.Memory().Read(ptr, size)
	if !ok {
		w.errorf("http_respond refused: %d bytes at %#x lie outside the guest's memory", size, ptr)
		return hostabi.StatusBounds
	}
	resp, err := decodeHTTPResponse(data)
	if err != nil {
		w.errorf("http_respond refused: %v", err)
		return hostabi.StatusMalformed
	}
	delete(w.http.requests, id)
	ex.resp = resp
	close(ex.ready)
	return hostabi.StatusOK
}

// encodeHTTPRequest is the request as the guest reads it: a CBOR map of
// method, url, httpVersion, headers (lower-case names and values, one
// after the other: host first, then by name, a repeated one in the order
// sent), body (bytes), remoteAddress, remotePort and server.
func encodeHTTPRequest(server int32, ctx *fasthttp.RequestCtx) []byte {
	rh := &ctx.Request.Header
	body := ctx.Request.Body()
	uri := rh.RequestURI()
	// The header names are lower-cased in the output itself, where they
	// are then sorted (a few, by insertion): no copy of each.
	var fields [32]headerField
	headers := fields[:0]
	n := 160 + len(uri) + len(body) + len(rh.RawHeaders())
	b := make([]byte, 0, n)
	b = frame.AppendHead(b, 5, 8)
	b = cborBytesAsText(cborText(b, "method"), rh.Method())
	b = cborBytesAsText(cborText(b, "url"), uri)
	b = cborText(b, "httpVersion")
	b = cborText(b, host.HTTPVersion(rh.Protocol()))
	// The headers' text goes to scratch first, lower-cased, to be sorted.
	scratch := make([]byte, 0, len(rh.RawHeaders()))
	for k, v := range rh.AllInOrder() {
		if len(k) == 4 && strings.EqualFold(string(k), "host") {
			continue // first, from rh.Host
		}
		start := len(scratch)
		for _, c := range k {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			scratch = append(scratch, c)
		}
		mid := len(scratch)
		scratch = append(scratch, v...)
		f := headerField{start, mid, len(scratch)}
		i := len(headers)
		headers = append(headers, f)
		for i > 0 && bytes.Compare(scratch[headers[i-1].start:headers[i-1].mid], scratch[start:mid]) > 0 {
			headers[i] = headers[i-1]
			i--
		}
		headers[i] = f
	}
	b = frame.AppendHead(cborText(b, "headers"), 4, uint64(2*(len(headers)+1)))
	b = cborBytesAsText(cborText(b, "host"), rh.Host())
	for _, f := range headers {
		b = cborBytesAsText(cborBytesAsText(b, scratch[f.start:f.mid]), scratch[f.mid:f.end])
	}
	b = append(frame.AppendHead(cborText(b, "body"), 2, uint64(len(body))), body...)
	var addr string
	var port int
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		addr, port = host.ClientIP(ctx), a.Port
	}
	b = cborText(cborText(b, "remoteAddress"), addr)
	b = frame.AppendHead(cborText(b, "remotePort"), 0, uint64(port))
	b = frame.AppendHead(cborText(b, "server"), 0, uint64(server))
	return b
}

// headerField is a header in encodeHTTPRequest's scratch: the name is
// [start:mid], the value [mid:end].
type headerField struct{ start, mid, end int }

// cborBytesAsText is cborText for bytes fasthttp owns (no string made).
func cborBytesAsText(b, s []byte) []byte {
	if !utf8.Valid(s) {
		return cborText(b, string(s))
	}
	return append(frame.AppendHead(b, 3, uint64(len(s))), s...)
}

func cborText(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return append(frame.AppendHead(b, 3, uint64(len(s))), s...)
}

// decodeHTTPResponse reads the guest's response: a CBOR map with status
// (an integer, default 200), headers (names and values one after the
// other in an array, or a map of name to text or array of texts) and body
// (bytes or text). Other keys are ignored. The result owns its bytes.
func decodeHTTPResponse(data []byte) (*httpResponse, error) {
	if err := frame.Valid(data); err != nil {
		return nil, fmt.Errorf("the response is not well-formed CBOR (%d bytes): %v", len(data), err)
	}
	d := &cborReader{data: data}
	pairs, ok := d.open(5)
	if !ok {
		return nil, errors.New("the response is not a CBOR map")
	}
	resp := &httpResponse{status: 200}
	for i := 0; pairs < 0 && !d.atBreak() || i < pairs; i++ {
		key, ok := d.text()
		if !ok {
			return nil, errors.New("a response key is not text")
		}
		switch key {
		case "status":
			major, n := d.head()
			if major != 0 || n < 100 || n > 999 {
				return nil, errors.New("status is not an integer from 100 to 999")
			}
			resp.status = int(n)
		case "headers":
			h, err := d.headers()
			if err != nil {
				return nil, err
			}
			resp.header = h
		case "body":
			major := d.data[d.off] >> 5
			if major != 2 && major != 3 {
				return nil, errors.New("body is neither bytes nor text")
			}
			resp.body = d.bytes()
		default:
			d.skip()
		}
	}
	return resp, nil
}

// cborReader walks well-formed CBOR (checked by frame.Valid first).
type cborReader struct {
	data []byte
	off  int
}

func (d *cborReader) head() (major byte, n uint64) {
	major = d.data[d.off] >> 5
	n, d.off = head(d.data, d.off)
	return major, n
}

// open reads an array or map head: its count, -1 when indefinite.
func (d *cborReader) open(major byte) (int, bool) {
	if d.data[d.off]>>5 != major {
		return 0, false
	}
	indefinite := d.data[d.off]&0x1f == 31
	_, n := d.head()
	if indefinite {
		return -1, true
	}
	return int(n), true
}

func (d *cborReader) atBreak() bool {
	if d.data[d.off] == 0xff {
		d.off++
		return true
	}
	return false
}

// bytes reads a byte or text string (definite or in chunks), copied.
func (d *cborReader) bytes() []byte {
	indefinite := d.data[d.off]&0x1f == 31
	_, n := d.head()
	if !indefinite {
		out := slices.Clone(d.data[d.off : d.off+int(n)])
		d.off += int(n)
		return out
	}
	var out []byte
	for !d.atBreak() {
		_, n := d.head()
		out = append(out, d.data[d.off:d.off+int(n)]...)
		d.off += int(n)
	}
	return out
}

func (d *cborReader) text() (string, bool) {
	if d.data[d.off]>>5 != 3 {
		return "", false
	}
	return string(d.bytes()), true
}

func (d *cborReader) skip() {
	major := d.data[d.off] >> 5
	switch major {
	case 2, 3:
		d.bytes()
	case 4, 5:
		count, _ := d.open(major)
		per := 1
		if major == 5 {
			per = 2
		}
		for i := 0; count < 0 && !d.atBreak() || i < count*per; i++ {
			d.skip()
		}
	case 6:
		d.head()
		d.skip()
	default:
		d.head()
	}
}

// headers reads the response headers as name, value, name, value….
func (d *cborReader) headers() ([]string, error) {
	bad := errors.New("headers must be an array of texts (name, value, …) or a map of name to text or array of texts")
	var out []string
	switch d.data[d.off] >> 5 {
	case 4:
		count, _ := d.open(4)
		for i := 0; count < 0 && !d.atBreak() || i < count; i++ {
			s, ok := d.text()
			if !ok {
				return nil, bad
			}
			out = append(out, s)
		}
		if len(out)%2 != 0 {
			return nil, errors.New("the headers array has an odd number of texts")
		}
	case 5:
		count, _ := d.open(5)
		for i := 0; count < 0 && !d.atBreak() || i < count; i++ {
			name, ok := d.text()
			if !ok {
				return nil, bad
			}
			switch d.data[d.off] >> 5 {
			case 3:
				v, _ := d.text()
				out = append(out, name, v)
			case 4:
				n, _ := d.open(4)
				for j := 0; n < 0 && !d.atBreak() || j < n; j++ {
					v, ok := d.text()
					if !ok {
						return nil, bad
					}
					out = append(out, name, v)
				}
			default:
				return nil, bad
			}
		}
	default:
		return nil, bad
	}
	for i := 0; i < len(out); i += 2 {
		if !validHeaderName(out[i]) || strings.ContainsAny(out[i+1], "\r\n\x00") {
			return nil, fmt.Errorf("invalid header %q: %q", out[i], out[i+1])
		}
	}
	return out, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
