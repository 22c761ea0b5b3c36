//go:build wasip1

package isowasm

import "unsafe"

// The HTTP extension's host functions and exports (hostabi/ABI.md,
// "Extension: HTTP servers").

//go:wasmimport isowasm http_listen
func wasmHTTPListen(port int32, host unsafe.Pointer, hostLen uint32) int32

//go:wasmimport isowasm http_respond
func wasmHTTPRespond(id int32, ptr unsafe.Pointer, size uint32) int32

//go:wasmimport isowasm http_close
func wasmHTTPClose(id int32) int32

func hostHTTPListen(port int32, host string) int32 {
	return wasmHTTPListen(port, unsafe.Pointer(unsafe.StringData(host)), uint32(len(host)))
}

func hostHTTPRespond(id int32, b []byte) int32 {
	return wasmHTTPRespond(id, unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)))
}

func hostHTTPClose(id int32) int32 { return wasmHTTPClose(id) }

//go:wasmexport isowasm_http_v1
func httpV1() {}

//go:wasmexport isowasm_on_http_request
func exportOnHTTPRequest(id int32, ptr, size uint32) {
	defer guard()
	if len(inbox) < int(size) || uint32(uintptr(unsafe.Pointer(&inbox[0]))) != ptr {
		panic("isowasm: isowasm_on_http_request called without isowasm_alloc")
	}
	data := inbox[:size]
	if cap(inbox) > 1<<20 {
		inbox = nil // do not keep a one-off huge buffer
	}
	serveHTTP(id, data)
}
