package host

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// Listen opens a worker's server socket: TCP on host:port ("" is every
// address, as Node's default), or a Unix socket when path is set. With
// shared, the TCP socket is opened with SO_REUSEPORT, so that every worker
// listening on the same port shares it.
//
// This is how isowasm does what Node's cluster does by having the primary
// accept or hand out the socket, with no work in the primary: the kernel
// spreads incoming connections across the workers' sockets; a worker that
// dies closes its socket with it, so from then on no new connection goes
// there (only those already queued on it are lost, as they would be in
// flight on a dead Node worker); and its replacement binds the port again.
// Runtimes pass shared in a cluster worker, unless the script asked for an
// exclusive socket.
func Listen(host string, port int, path string, shared bool) (net.Listener, error) {
	if path != "" {
		return net.Listen("unix", path)
	}
	var lc net.ListenConfig
	if shared {
		lc.Control = reusePort
	}
	return lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
}

func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}

// ListeningFrame is what a worker tells the primary about a server it
// listens with (published there as workerListening), as Node's cluster
// reports it: a server on every address has no address and addressType 4;
// a Unix socket has addressType -1.
func ListeningFrame(ln net.Listener, host, path string) frame.Listening {
	if path != "" {
		return frame.Listening{Address: path, AddressType: -1}
	}
	addr := ln.Addr().(*net.TCPAddr)
	if host == "" {
		return frame.Listening{Port: addr.Port, AddressType: 4}
	}
	addressType := 4
	if addr.IP.To4() == nil {
		addressType = 6
	}
	return frame.Listening{Address: host, Port: addr.Port, AddressType: addressType}
}

// HTTPConfig is one HTTP/1.1 server of a worker (see ServeHTTP).
type HTTPConfig struct {
	// Handler answers a request, on the goroutine that serves its
	// connection; the response it leaves in ctx is written once it returns
	// (a body stream set with SetBodyStream is read from after that).
	Handler fasthttp.RequestHandler
	// IdleTimeout closes a keep-alive connection idle this long (Node's
	// keepAliveTimeout); 0 never does.
	IdleTimeout time.Duration
	// HeadersTimeout bounds the wait for a request's head (Node's
	// headersTimeout); 0 does not.
	HeadersTimeout time.Duration
	// RequestTimeout bounds the reading of a streamed request body (Node's
	// requestTimeout); 0 does not.
	RequestTimeout time.Duration
	// MaxBody > 0 reads a request body whole before Handler runs, and
	// answers one larger than MaxBody 413 without calling it. 0 streams
	// bodies: ctx.RequestBodyStream reads them as they come.
	MaxBody int
}

// HTTPServer is a worker's HTTP/1.1 server: github.com/valyala/fasthttp
// parsing requests and framing responses (keep-alive, Content-Length or
// chunked), on connections this server accepts and owns, each served by a
// goroutine of its own that Close and Shutdown wait for.
//
// fasthttp is used without its worker pool and its Shutdown (a goroutine
// per connection, counted here, and connection states tracked here), so
// that closing is prompt and nothing it starts outlives the server. It
// sends no Server, Content-Type or Date header of its own (its Date comes
// from a process-wide goroutine that never ends).
type HTTPServer struct {
	srv     fasthttp.Server
	ln      net.Listener
	handler fasthttp.RequestHandler
	reqTO   time.Duration
	stream  bool
	wg      sync.WaitGroup // the accept loop and every connection
	stop    chan struct{}  // closed by Shutdown and Close: the accept loop ends
	closing atomic.Bool    // responses from now on close their connection

	mu    sync.Mutex
	conns map[*httpConn]fasthttp.ConnState
	ended bool // Shutdown or Close has begun: accept no more
}

// ServeHTTP serves HTTP on ln until Shutdown or Close.
func ServeHTTP(ln net.Listener, cfg HTTPConfig) *HTTPServer {
	s := &HTTPServer{ln: ln, handler: cfg.Handler, reqTO: cfg.RequestTimeout, stream: cfg.MaxBody <= 0,
		stop: make(chan struct{}), conns: map[*httpConn]fasthttp.ConnState{}}
	s.srv = fasthttp.Server{
		Handler:                       s.serve,
		ErrorHandler:                  httpError,
		ConnState:                     s.connState,
		IdleTimeout:                   cfg.IdleTimeout,
		ReadTimeout:                   cfg.HeadersTimeout,
		ReadBufferSize:                16 << 10, // the largest request head: Node's maxHeaderSize
		MaxRequestBodySize:            cfg.MaxBody,
		StreamRequestBody:             s.stream,
		DisablePreParseMultipartForm:  true,
		DisableHeaderNamesNormalizing: true, // names as sent, as Node's rawHeaders and res.setHeader keep them
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		// A Date header on every response, as Node's and net/http's:
		// fasthttp refreshes it once a second on a goroutine of its own
		// that lives as long as the process (started by the first server).
		NoDefaultDate: false,
		Logger:        quietLogger{},
	}
	if s.stream {
		// Small bodies arrive with their head, in one piece; larger ones
		// are streamed.
		s.srv.MaxRequestBodySize = 64 << 10
	}
	s.wg.Add(1)
	go s.accept()
	return s
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// httpError answers a request fasthttp could not read, as Node does: a
// status and no body, then the connection is closed.
func httpError(ctx *fasthttp.RequestCtx, err error) {
	status := fasthttp.StatusBadRequest
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status = fasthttp.StatusRequestEntityTooLarge
	case errors.As(err, &small):
		status = fasthttp.StatusRequestHeaderFieldsTooLarge
	case errors.As(err, &ne) && ne.Timeout():
		status = fasthttp.StatusRequestTimeout
	}
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	// The client may still be sending what was refused (a body too large).
	Linger(ctx)
}

// Linger makes the connection, once the response is written, close
// gently: what the client still sends (a request body the response did
// not wait for) is read away for a while first, since closing with
// unread data sends a reset that can destroy the response before the
// client has read it. The response must close the connection.
func Linger(ctx *fasthttp.RequestCtx) {
	if c, ok := ctx.Conn().(*httpConn); ok {
		c.linger.Store(true)
	}
}

func (s *HTTPServer) accept() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.Is(err, net.ErrClosed) || !errors.As(err, &ne) {
				return
			}
			// Out of descriptors and the like: try again a little later,
			// as net/http does, unless the server is ending.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		hc := &httpConn{Conn: c}
		s.mu.Lock()
		if s.ended {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[hc] = fasthttp.StateNew
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			_ = s.srv.ServeConn(hc)
			s.mu.Lock()
			delete(s.conns, hc)
			s.mu.Unlock()
		}()
	}
}

// serve runs the handler; once the server is closing, the response
// closes its connection.
func (s *HTTPServer) serve(ctx *fasthttp.RequestCtx) {
	if n := ctx.Request.Header.ContentLength(); s.stream && (n > 0 || n == -1) { // a length, or chunked
		// The head's deadline (ReadTimeout) would cut a long body short:
		// the whole request gets Node's requestTimeout instead.
		var deadline time.Time
		if s.reqTO > 0 {
			deadline = time.Now().Add(s.reqTO)
		}
		_ = ctx.Conn().SetReadDeadline(deadline)
	}
	s.handler(ctx)
	if s.closing.Load() {
		h := &ctx.Response.Header
		h.Del("Keep-Alive")
		h.Del("Connection")
		h.SetConnectionClose()
	}
}

// connState follows each connection, so that Shutdown can tell the idle
// ones from those serving a request.
func (s *HTTPServer) connState(c net.Conn, st fasthttp.ConnState) {
	hc, ok := c.(*httpConn)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, open := s.conns[hc]; !open {
		return
	}
	s.conns[hc] = st
	if st == fasthttp.StateIdle && s.closing.Load() {
		hc.close(false)
	}
}

// Shutdown is Node's server.close(): it stops accepting, closes the idle
// connections at once and the others when their response is written, and
// returns when every connection is closed. Handlers waiting for something
// must be able to finish.
func (s *HTTPServer) Shutdown() {
	s.end(false)
}

// Close ends the server and every connection now, and returns when their
// goroutines are done. Handlers waiting for something must be released
// first (the connections are closed under them, which ends their reads
// and writes, not their waits).
func (s *HTTPServer) Close() {
	s.end(true)
}

func (s *HTTPServer) end(now bool) {
	s.closing.Store(true)
	s.mu.Lock()
	if !s.ended {
		s.ended = true
		close(s.stop)
	}
	for c, st := range s.conns {
		if now || st != fasthttp.StateActive {
			c.close(false) // never linger here, under mu
		}
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	s.wg.Wait()
}

// httpConn is a connection of an HTTPServer. It can watch for the client
// going away while a handler waits (WatchClient), reading ahead at most
// one byte, which its next Read returns first.
type httpConn struct {
	net.Conn
	closeOnce sync.Once
	ahead     bool // b was read ahead by a watch
	b         byte
	linger    atomic.Bool // an error was answered: drain before closing
	ip, addr  string      // the client's address, made once (ClientIP, ClientAddr)
}

// ClientIP is the address of the request's client ("127.0.0.1", "::1"),
// made once per connection.
func ClientIP(ctx *fasthttp.RequestCtx) string {
	c, ok := ctx.Conn().(*httpConn)
	if !ok {
		return addrIP(ctx.RemoteAddr())
	}
	if c.ip == "" {
		c.ip = addrIP(c.RemoteAddr())
	}
	return c.ip
}

// ClientAddr is the request's client as "address:port" ("[::1]:port" for
// IPv6), made once per connection.
func ClientAddr(ctx *fasthttp.RequestCtx) string {
	c, ok := ctx.Conn().(*httpConn)
	if !ok {
		return ctx.RemoteAddr().String()
	}
	if c.addr == "" {
		c.addr = c.RemoteAddr().String()
	}
	return c.addr
}

func addrIP(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	return a.String()
}

// How long and how much of what a client still sends is read away before
// a lingering close (net/http waits half a second before closing).
const (
	lingerTime  = time.Second
	lingerBytes = 64 << 20
)

func (c *httpConn) Read(p []byte) (int, error) {
	if c.ahead && len(p) > 0 {
		p[0], c.ahead = c.b, false
		return 1, nil
	}
	return c.Conn.Read(p)
}

// Close may come from fasthttp, Shutdown and Close.
func (c *httpConn) Close() error {
	return c.close(true)
}

func (c *httpConn) close(linger bool) error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		if tc, ok := c.Conn.(*net.TCPConn); ok && linger && c.linger.Load() {
			if tc.CloseWrite() == nil && tc.SetReadDeadline(time.Now().Add(lingerTime)) == nil {
				_, _ = io.CopyN(io.Discard, tc, lingerBytes)
			}
		}
		err = c.Conn.Close()
	})
	return err
}

// WatchClient tells a handler that waits for its response (after the
// request body has been read: nothing else may read the connection) when
// the client closes the connection: gone is closed then. stop ends the
// watch and must be called, whatever happened, before fasthttp reads the
// connection again: before the handler returns, or, for a streamed
// response, before its body ends (the watch may go on while it is
// written). A byte of a pipelined request that arrives meanwhile ends the
// watch (gone never closes) and is kept for the next request.
func WatchClient(ctx *fasthttp.RequestCtx) (gone <-chan struct{}, stop func()) {
	c, ok := ctx.Conn().(*httpConn)
	if !ok || c.ahead {
		return nil, func() {}
	}
	// The head's deadline no longer applies: only stop's does.
	_ = c.Conn.SetReadDeadline(time.Time{})
	g := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		n, err := c.Conn.Read(b[:])
		switch {
		case n == 1:
			c.b, c.ahead = b[0], true
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			close(g)
		}
	}()
	var once sync.Once
	return g, func() {
		once.Do(func() {
			select {
			case <-done:
			default:
				_ = c.Conn.SetReadDeadline(time.Unix(1, 0)) // ends the read
				<-done
			}
			_ = c.Conn.SetReadDeadline(time.Time{})
		})
	}
}

// HTTPVersion is Node's req.httpVersion for a request line's protocol:
// "1.1" for "HTTP/1.1".
func HTTPVersion(proto []byte) string {
	switch string(proto) {
	case "HTTP/1.1":
		return "1.1"
	case "HTTP/1.0":
		return "1.0"
	}
	v, _ := strings.CutPrefix(string(proto), "HTTP/")
	return v
}
