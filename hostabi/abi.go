package hostabi

// The WebAssembly guest ABI: the names a compiled worker imports from its
// host and exports to it. ABI.md in this folder is the document a guest
// author implements from; these constants are the same names for Go code.
// A pointer or length is an i32 offset into the guest's exported memory.

// ABIVersion is the guest ABI this isowasm speaks. A guest declares the one
// it was built for by exporting the marker function ExportABIPrefix+version.
const ABIVersion = 1

// ImportModule is the module name of every isowasm host function.
const ImportModule = "isowasm"

// Host functions, imported by guests from ImportModule.
const (
	ImportSend       = "send"        // (ptr, len i32) -> i32 status: one CBOR message to the primary
	ImportWorkerID   = "worker_id"   // () -> i32: the worker id the primary gave (0 outside a cluster)
	ImportSetTimer   = "set_timer"   // (delay_ms i32) -> i32 timer id (>= 1); fires ExportOnTimer once
	ImportClearTimer = "clear_timer" // (id i32) -> i32: 1 when a pending timer was cleared, else 0
	ImportLog        = "log"         // (level, ptr, len i32): one line of UTF-8 text; LogInfo to stdout, others to stderr
	ImportDisconnect = "disconnect"  // () -> i32 status: cluster.worker.disconnect()
	ImportDestroy    = "destroy"     // (timeout_ms i32) -> i32 status: disconnect, exit 0 after timeout_ms (< 0: DefaultDestroyTimeoutMS)
)

// Guest exports. ExportMemory, the ABI marker, ExportAlloc and
// ExportOnMessage are required; ExportOnTimer is required when the guest
// imports ImportSetTimer; the others are optional.
const (
	ExportMemory       = "memory"
	ExportABIPrefix    = "isowasm_abi_v"         // + ABIVersion: () -> (), never called
	ExportAlloc        = "isowasm_alloc"         // (size i32) -> i32 ptr: room for an incoming message
	ExportInit         = "isowasm_init"          // () -> i32: an InitStatus
	ExportOnMessage    = "isowasm_on_message"    // (ptr, len i32): a message from the primary (CBOR)
	ExportOnDisconnect = "isowasm_on_disconnect" // (): the channel to the primary closed
	ExportOnTimer      = "isowasm_on_timer"      // (id i32): a timer set with ImportSetTimer fired
	ExportOnExit       = "isowasm_on_exit"       // (code i32): the worker is about to exit normally
	ExportInitialize   = "_initialize"           // reactor start function (WASI), called first
	ExportStart        = "_start"                // a command module's entry: refused
)

// Status codes returned by host functions that can fail (0 is success).
const (
	StatusOK        = 0
	StatusClosed    = -1 // the channel to the primary is closed (Node: 'Channel closed')
	StatusMalformed = -2 // the bytes are not one well-formed CBOR value with JSON semantics
	StatusTooLarge  = -3 // the message is over the frame size limit
	StatusBounds    = -4 // ptr/len lie outside the guest's memory
	StatusAgain     = -5 // destroy was already called
)

// InitStatus values returned by ExportInit.
const (
	InitReady   = 0 // initialized: the host tells the primary "ready"
	InitError   = 1 // initializeError, not prevented: the worker exits with code 1
	InitNoReady = 2 // the host says nothing and the worker lives on: the guest sent "ready"
	//                 itself (to order it among its own sends, as an SDK with event stages
	//                 does), or its initializeError was prevented (never ready)
)

// Log levels for ImportLog.
const (
	LogInfo  = 0 // stdout
	LogWarn  = 1 // stderr
	LogError = 2 // stderr
)

// DefaultDestroyTimeoutMS is ClusterWorker.destroy's default grace period.
const DefaultDestroyTimeoutMS = 6765
