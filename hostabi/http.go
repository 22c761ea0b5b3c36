package hostabi

// The HTTP extension of the guest ABI (ABI.md, "Extension: HTTP servers",
// version 1): a compiled worker that imports these functions serves HTTP
// through its host; a guest that does not is unaffected.

// HTTPExtensionVersion is the HTTP extension this isowasm speaks. A guest
// using it exports the marker ExportHTTPPrefix+version.
const HTTPExtensionVersion = 1

// Host functions of the HTTP extension, imported from ImportModule.
const (
	ImportHTTPListen  = "http_listen"  // (port, host_ptr, host_len i32) -> i32: server id (>= 1) or a status
	ImportHTTPRespond = "http_respond" // (request_id, ptr, len i32) -> i32 status: the response (CBOR) to a request
	ImportHTTPClose   = "http_close"   // (server_id i32) -> i32 status: stop listening; requests in progress finish
)

// Guest exports of the HTTP extension.
const (
	ExportHTTPPrefix    = "isowasm_http_v"          // + HTTPExtensionVersion: () -> (), never called
	ExportOnHTTPRequest = "isowasm_on_http_request" // (request_id, ptr, len i32): a request (CBOR) at a pointer from ExportAlloc
)

// Statuses of the HTTP extension's host functions (besides StatusBounds
// and StatusMalformed).
const (
	StatusListen  = -6 // http_listen failed (address in use, permission denied, …): the reason is on stderr
	StatusUnknown = -7 // no such request (already answered) or server
)

// MaxHTTPRequestBody bounds a request body the host hands to a guest;
// a larger one is answered 413 without calling the guest.
const MaxHTTPRequestBody = 16 << 20
