//go:build wasip1

package isowasm

import "unsafe"

// The host functions (hostabi/ABI.md, "Imports").

//go:wasmimport isowasm send
func hostSend(ptr unsafe.Pointer, size uint32) int32

//go:wasmimport isowasm worker_id
func hostWorkerID() int32

//go:wasmimport isowasm set_timer
func hostSetTimer(delayMS int32) int32

//go:wasmimport isowasm clear_timer
func hostClearTimer(id int32) int32

//go:wasmimport isowasm log
func hostLog(level int32, ptr unsafe.Pointer, size uint32)

//go:wasmimport isowasm disconnect
func hostDisconnect() int32

//go:wasmimport isowasm destroy
func hostDestroy(timeoutMS int32) int32

//go:wasmimport wasi_snapshot_preview1 proc_exit
func procExit(code int32)

func sendBytes(b []byte) int32 {
	if len(b) == 0 {
		return hostSend(nil, 0)
	}
	return hostSend(unsafe.Pointer(&b[0]), uint32(len(b)))
}

func logText(level int32, s string) {
	hostLog(level, unsafe.Pointer(unsafe.StringData(s)), uint32(len(s)))
}

// The guest exports (hostabi/ABI.md, "Exports").

//go:wasmexport isowasm_abi_v1
func abiV1() {}

// inbox holds the message being delivered: the host asks for room with
// isowasm_alloc and calls isowasm_on_message before asking again.
var inbox []byte

//go:wasmexport isowasm_alloc
func exportAlloc(size int32) uint32 {
	if size <= 0 {
		size = 1
	}
	if cap(inbox) < int(size) {
		inbox = make([]byte, size)
	}
	inbox = inbox[:size]
	return uint32(uintptr(unsafe.Pointer(&inbox[0])))
}

//go:wasmexport isowasm_init
func exportInit() int32 {
	defer guard()
	return initialize()
}

//go:wasmexport isowasm_on_message
func exportOnMessage(ptr, size uint32) {
	defer guard()
	if len(inbox) < int(size) || uint32(uintptr(unsafe.Pointer(&inbox[0]))) != ptr {
		panic("isowasm: isowasm_on_message called without isowasm_alloc")
	}
	data := inbox[:size]
	if cap(inbox) > 1<<20 {
		inbox = nil // do not keep a one-off huge buffer
	}
	deliver(data)
}

//go:wasmexport isowasm_on_disconnect
func exportOnDisconnect() {
	defer guard()
	disconnected()
}

//go:wasmexport isowasm_on_timer
func exportOnTimer(id int32) {
	defer guard()
	fire(id)
}

//go:wasmexport isowasm_on_exit
func exportOnExit(code int32) {
	defer guard()
	runExitHooks(int(code))
}
