// Package hostabi is the contract between an isowasm primary and its
// workers: how a worker process is started (this file), the frames on its
// channel (package frame), and the WebAssembly import/export ABI.
package hostabi

// The environment a primary gives each worker process. A process started
// with EnvWorkerID set is a worker: it runs no CLI, it opens the channel on
// the descriptor named by EnvChannelFD and sends a Hello carrying EnvCookie.
const (
	EnvWorkerID  = "ISOWASM_WORKER_ID"
	EnvCookie    = "ISOWASM_COOKIE"
	EnvChannelFD = "ISOWASM_CHANNEL_FD"
	// EnvReportFatal, when set, asks the worker to send the error that
	// ends it to the primary (a fatal frame) instead of printing it.
	EnvReportFatal = "ISOWASM_REPORT_FATAL"
)

// ChannelFD is the descriptor the channel socket is given in every worker
// (the first one after stdin, stdout and stderr, as Node's IPC channel).
const ChannelFD = 3
