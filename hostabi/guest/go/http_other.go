//go:build !wasip1

package isowasm

import "strconv"

// The simulated host of the HTTP extension, for tests on the build
// machine: servers are counted, responses recorded by request id.

var fakeHTTP struct {
	listens   []string // "host:port"
	responses map[int32][]byte
	closed    map[int32]bool
	failPort  int32 // http_listen fails on this port
}

func hostHTTPListen(port int32, host string) int32 {
	if port == fakeHTTP.failPort && port != 0 {
		return -6
	}
	fakeHTTP.listens = append(fakeHTTP.listens, host+":"+strconv.Itoa(int(port)))
	return int32(len(fakeHTTP.listens))
}

func hostHTTPRespond(id int32, b []byte) int32 {
	if fakeHTTP.responses == nil {
		fakeHTTP.responses = map[int32][]byte{}
	}
	if _, done := fakeHTTP.responses[id]; done {
		return -7
	}
	fakeHTTP.responses[id] = append([]byte(nil), b...)
	return 0
}

func hostHTTPClose(id int32) int32 {
	if fakeHTTP.closed == nil {
		fakeHTTP.closed = map[int32]bool{}
	}
	if fakeHTTP.closed[id] || int(id) > len(fakeHTTP.listens) {
		return -7
	}
	fakeHTTP.closed[id] = true
	return 0
}
