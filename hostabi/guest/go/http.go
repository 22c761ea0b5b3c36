package isowasm

import (
	"errors"
	"strconv"
	"strings"
)

// HTTP servers (the ABI's HTTP extension): the host listens and parses
// requests with Go's net/http, and hands each one to the guest, which
// answers with a Response. In a cluster, every worker listening on a port
// shares it, and the primary hears of each server as workerListening.
//
//	func init() {
//		isowasm.HandleHTTP(func(req *isowasm.Request) isowasm.Response {
//			return isowasm.Text(200, "Hello from worker "+strconv.Itoa(isowasm.WorkerID()))
//		})
//		if _, err := isowasm.ListenHTTP(3000, ""); err != nil {
//			isowasm.LogError(err.Error())
//		}
//	}
//
// Handlers run on the host's event loop, one at a time, like every other
// handler of the guest.

// Header is one request or response header.
type Header struct {
	Name, Value string
}

// Request is a request the host received.
type Request struct {
	Method      string
	URL         string // the request target as sent: path and query
	HTTPVersion string // "1.1"
	// Headers in the host's order, names lower-case (the Host header
	// first, as "host").
	Headers       []Header
	Body          []byte
	RemoteAddress string
	RemotePort    int
	Server        int // the HTTPServer's id

	id       int32
	answered bool
}

// Header returns the first value of the named header ("" when there is
// none); the name is matched without regard to case.
func (r *Request) Header(name string) string {
	name = strings.ToLower(name)
	for _, h := range r.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// Path is the URL without its query.
func (r *Request) Path() string {
	p, _, _ := strings.Cut(r.URL, "?")
	return p
}

// Response is the answer to a request. Without a Content-Type header none
// is sent; the host sets Content-Length.
type Response struct {
	Status  int // 0 is 200
	Headers []Header
	Body    []byte
}

// Text is a response with a text/plain body.
func Text(status int, body string) Response {
	return Response{Status: status, Headers: []Header{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}}, Body: []byte(body)}
}

// ErrHTTP is wrapped by the errors of ListenHTTP, Respond and Close.
var ErrHTTP = errors.New("isowasm: http")

var (
	httpHandler      func(*Request) Response
	httpAsyncHandler func(*Request)
)

// HandleHTTP sets the handler of every request: what it returns is the
// response.
func HandleHTTP(h func(*Request) Response) {
	httpHandler, httpAsyncHandler = h, nil
}

// HandleHTTPAsync sets a handler that answers with req.Respond, at once or
// later (from a timer, or once a message from the primary came back).
// Every request must be answered once: the host keeps the connection
// waiting until it is.
func HandleHTTPAsync(h func(req *Request)) {
	httpHandler, httpAsyncHandler = nil, h
}

// OnHTTP is HandleHTTP, for a worker wired up in one chain.
func (w *Worker) OnHTTP(h func(*Request) Response) *Worker {
	HandleHTTP(h)
	return w
}

// Respond answers the request. It fails once the request is answered.
func (r *Request) Respond(res Response) error {
	if r.answered {
		return errors.Join(ErrHTTP, errors.New("the request was answered already"))
	}
	r.answered = true
	if s := hostHTTPRespond(r.id, encodeResponse(res)); s != 0 {
		return errors.Join(ErrHTTP, &StatusError{Status: s})
	}
	return nil
}

// HTTPServer is a server the host listens with for the guest.
type HTTPServer struct{ id int32 }

// ListenHTTP has the host listen on port (on every address when host is
// ""). In a cluster the port is shared by every worker listening on it.
func ListenHTTP(port int, host string) (*HTTPServer, error) {
	id := hostHTTPListen(int32(port), host)
	if id < 0 {
		return nil, errors.Join(ErrHTTP, errors.New("cannot listen on "+host+":"+strconv.Itoa(port)+" (the reason is on stderr)"))
	}
	return &HTTPServer{id: id}, nil
}

// ID is the server's id, the Server of its requests.
func (s *HTTPServer) ID() int { return int(s.id) }

// Close stops listening; requests in progress are still answered.
func (s *HTTPServer) Close() error {
	if hostHTTPClose(s.id) != 0 {
		return errors.Join(ErrHTTP, errors.New("the server is closed already"))
	}
	return nil
}

// serveHTTP is isowasm_on_http_request.
func serveHTTP(id int32, data []byte) {
	req, err := decodeRequest(data)
	if err != nil {
		hostHTTPRespond(id, encodeResponse(Text(500, "isowasm: the request could not be decoded: "+err.Error())))
		return
	}
	req.id = id
	switch {
	case httpHandler != nil:
		res := httpHandler(req)
		if !req.answered {
			req.Respond(res)
		}
	case httpAsyncHandler != nil:
		httpAsyncHandler(req)
	default:
		req.Respond(Text(500, "isowasm: the worker has no HTTP handler (isowasm.HandleHTTP)"))
	}
}

// decodeRequest reads the host's CBOR map (hostabi/ABI.md).
func decodeRequest(data []byte) (*Request, error) {
	d := decoder{data: data}
	major, info, n, err := d.head()
	if err != nil || major != 5 || info == 31 {
		return nil, ErrMalformed
	}
	req := &Request{}
	for range n {
		key, err := d.textValue()
		if err != nil {
			return nil, err
		}
		switch key {
		case "method":
			req.Method, err = d.textValue()
		case "url":
			req.URL, err = d.textValue()
		case "httpVersion":
			req.HTTPVersion, err = d.textValue()
		case "remoteAddress":
			req.RemoteAddress, err = d.textValue()
		case "remotePort", "server":
			var v any
			v, err = d.value(1)
			f, _ := v.(float64)
			if key == "server" {
				req.Server = int(f)
			} else {
				req.RemotePort = int(f)
			}
		case "headers":
			var count uint64
			if major, info, count, err = d.head(); err != nil || major != 4 || info == 31 || count > uint64(len(d.data)-d.off) {
				return nil, ErrMalformed
			}
			req.Headers = make([]Header, 0, count/2)
			for i := uint64(0); i+1 < count; i += 2 {
				name, err := d.textValue()
				if err != nil {
					return nil, err
				}
				value, err := d.textValue()
				if err != nil {
					return nil, err
				}
				req.Headers = append(req.Headers, Header{name, value})
			}
		case "body":
			if major, info, n, err = d.head(); err != nil || major != 2 || info == 31 || n > uint64(len(d.data)-d.off) {
				return nil, ErrMalformed
			}
			if n > 0 {
				req.Body = append([]byte(nil), d.data[d.off:d.off+int(n)]...)
			}
			d.off += int(n)
		default:
			_, err = d.value(1)
		}
		if err != nil {
			return nil, err
		}
	}
	return req, nil
}

func (d *decoder) textValue() (string, error) {
	major, info, n, err := d.head()
	if err != nil || major != 3 {
		return "", ErrMalformed
	}
	return d.text(info, n)
}

// encodeResponse is the CBOR map http_respond takes.
func encodeResponse(res Response) []byte {
	status := res.Status
	if status == 0 {
		status = 200
	}
	size := 32 + len(res.Body)
	for _, h := range res.Headers {
		size += len(h.Name) + len(h.Value) + 4
	}
	b := make([]byte, 0, size)
	b = appendHead(b, 5, 3)
	b = appendHead(appendText(b, "status"), 0, uint64(status))
	b = appendHead(appendText(b, "headers"), 4, uint64(2*len(res.Headers)))
	for _, h := range res.Headers {
		b = appendText(appendText(b, h.Name), h.Value)
	}
	b = appendHead(appendText(b, "body"), 2, uint64(len(res.Body)))
	return append(b, res.Body...)
}

func appendText(b []byte, s string) []byte {
	return append(appendHead(b, 3, uint64(len(s))), s...)
}
