package wasm

import (
	"bufio"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/valyala/fasthttp"

	"github.com/isowasm/isowasm/hostabi/frame"
)

func TestDecodeHTTPResponse(t *testing.T) {
	// {"status": 404, "headers": {"X-A": ["1", "2"], "Y": "z"}, "body": "nope", "extra": [1, {"k": h'00'}]}
	enc := frame.AppendHead(nil, 5, 4)
	enc = frame.AppendHead(cborText(enc, "status"), 0, 404)
	enc = frame.AppendHead(cborText(enc, "headers"), 5, 2)
	enc = cborText(cborText(frame.AppendHead(cborText(enc, "X-A"), 4, 2), "1"), "2")
	enc = cborText(cborText(enc, "Y"), "z")
	enc = cborText(cborText(enc, "body"), "nope")
	enc = append(frame.AppendHead(frame.AppendHead(cborText(enc, "extra"), 4, 2), 0, 1), 0xa1, 0x61, 'k', 0x41, 0x00)
	r, err := decodeHTTPResponse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 404 || string(r.body) != "nope" || !slices.Equal(r.header, []string{"X-A", "1", "X-A", "2", "Y", "z"}) {
		t.Errorf("%+v", r)
	}
	for _, bad := range [][]byte{
		{0x80},             // not a map
		{0xa1, 0x01, 0x02}, // a key that is not text
		frame.AppendHead(cborText([]byte{0xa1}, "status"), 0, 42),                                 // status out of range
		cborText(cborText([]byte{0xa1}, "headers"), "x"),                                          // headers of the wrong type
		cborText(cborText(frame.AppendHead(cborText([]byte{0xa1}, "headers"), 4, 2), "a b"), "v"), // a bad name
		{0xa1, 0x64, 'b', 'o', 'd', 'y'},                                                          // truncated
	} {
		if _, err := decodeHTTPResponse(bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}

func FuzzDecodeHTTPResponse(f *testing.F) {
	f.Add([]byte{0xa1, 0x64, 'b', 'o', 'd', 'y', 0x41, 'x'})
	f.Add(frame.AppendHead(cborText(frame.AppendHead(nil, 5, 1), "status"), 0, 200))
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeHTTPResponse(data)
	})
}

// The request as the guest reads it: header names lower-case, host
// first, then by name, a repeated one in the order sent.
func TestEncodeHTTPRequest(t *testing.T) {
	var req fasthttp.Request
	req.Header.DisableNormalizing()
	raw := "POST /p?q=1 HTTP/1.1\r\nZ-Last: z\r\nX-Dup: 1\r\nHost: example\r\nA-First: 1\r\nx-dup: 2\r\nContent-Length: 4\r\n\r\nbody"
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}, nil)
	var got struct {
		Method        string   `cbor:"method"`
		URL           string   `cbor:"url"`
		HTTPVersion   string   `cbor:"httpVersion"`
		Headers       []string `cbor:"headers"`
		Body          []byte   `cbor:"body"`
		RemoteAddress string   `cbor:"remoteAddress"`
		RemotePort    int      `cbor:"remotePort"`
		Server        int      `cbor:"server"`
	}
	if err := cbor.Unmarshal(encodeHTTPRequest(3, &ctx), &got); err != nil {
		t.Fatal(err)
	}
	wantHeaders := []string{"host", "example", "a-first", "1", "content-length", "4", "x-dup", "1", "x-dup", "2", "z-last", "z"}
	if got.Method != "POST" || got.URL != "/p?q=1" || got.HTTPVersion != "1.1" || string(got.Body) != "body" ||
		got.RemoteAddress != "127.0.0.1" || got.RemotePort != 5555 || got.Server != 3 || !slices.Equal(got.Headers, wantHeaders) {
		t.Errorf("%+v", got)
	}
}
