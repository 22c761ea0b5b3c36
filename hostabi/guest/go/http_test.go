//go:build !wasip1

package isowasm

import (
	"bytes"
	"testing"
)

// request encodes a request as the host does (hostabi/ABI.md).
func request(method, url string, headers []string, body string) []byte {
	b := appendHead(nil, 5, 8)
	b = appendText(appendText(b, "method"), method)
	b = appendText(appendText(b, "url"), url)
	b = appendText(appendText(b, "httpVersion"), "1.1")
	b = appendHead(appendText(b, "headers"), 4, uint64(len(headers)))
	for _, h := range headers {
		b = appendText(b, h)
	}
	b = append(appendHead(appendText(b, "body"), 2, uint64(len(body))), body...)
	b = appendText(appendText(b, "remoteAddress"), "127.0.0.1")
	b = appendHead(appendText(b, "remotePort"), 0, 40000)
	return appendHead(appendText(b, "server"), 0, 1)
}

func TestHTTPHandlers(t *testing.T) {
	defer func() { httpHandler, httpAsyncHandler = nil, nil }()
	var got *Request
	HandleHTTP(func(req *Request) Response {
		got = req
		return Text(201, req.Method+" "+req.Path()+" "+req.Header("X-Thing")+" "+string(req.Body))
	})
	serveHTTP(11, request("POST", "/p?q=1", []string{"host", "h", "x-thing", "v"}, "data"))
	if got.URL != "/p?q=1" || got.HTTPVersion != "1.1" || got.RemotePort != 40000 || got.Server != 1 || len(got.Headers) != 2 {
		t.Errorf("request %+v", got)
	}
	want := encodeResponse(Response{Status: 201, Headers: []Header{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}}, Body: []byte("POST /p v data")})
	if !bytes.Equal(fakeHTTP.responses[11], want) {
		t.Errorf("response %x, want %x", fakeHTTP.responses[11], want)
	}
	// The map's keys: status, headers, body.
	if !bytes.Contains(want, []byte("status")) || !bytes.Contains(want, []byte("headers")) {
		t.Errorf("encoding %q", want)
	}

	// An asynchronous handler answers later; a second answer fails.
	var pending *Request
	HandleHTTPAsync(func(req *Request) { pending = req })
	serveHTTP(12, request("GET", "/", nil, ""))
	if _, answered := fakeHTTP.responses[12]; answered || pending == nil {
		t.Fatal("answered before Respond")
	}
	if err := pending.Respond(Text(200, "later")); err != nil {
		t.Fatal(err)
	}
	if err := pending.Respond(Text(200, "again")); err == nil {
		t.Error("a second Respond succeeded")
	}

	// Without a handler the answer is a 500 that says why.
	HandleHTTP(nil)
	serveHTTP(13, request("GET", "/", nil, ""))
	if !bytes.Contains(fakeHTTP.responses[13], []byte("no HTTP handler")) {
		t.Errorf("response %q", fakeHTTP.responses[13])
	}
}

func TestListenHTTP(t *testing.T) {
	s, err := ListenHTTP(3000, "")
	if err != nil || s.ID() < 1 {
		t.Fatal(s, err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err == nil {
		t.Error("a second Close succeeded")
	}
	fakeHTTP.failPort = 3001
	if _, err := ListenHTTP(3001, ""); err == nil {
		t.Error("a failing listen succeeded")
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(request("GET", "/", []string{"host", "x"}, "b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeRequest(data)
	})
}
