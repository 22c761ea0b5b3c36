package js

import "errors"

// ErrQueueFull is what a WorkerProcess refuses a message with when too
// many messages, or bytes of them, already wait to be written to the
// worker (it reads too slowly, or not at all: the --max-queued and
// --max-queued-size limits).
var ErrQueueFull = errors.New("js: too many messages wait to be written to worker")

// Processes is what a primary script's node:cluster forks workers with. The
// runtime does not start processes itself (runtimes never import the
// primary): the command that runs a primary script passes an implementation
// backed by the engine's process layer, and tests may pass one that runs
// workers in-process.
type Processes interface {
	// Start forks one worker process. What happens to it afterwards is told
	// through ev, whose methods may be called from any goroutine, one at a
	// time per worker and in order (the runtime posts them to its loop).
	// An error means no process was started and no event will follow.
	Start(spec WorkerSpec, ev WorkerEvents) (WorkerProcess, error)
}

// WorkerSpec is one worker to start: Node's cluster.settings plus fork(env).
type WorkerSpec struct {
	// ID is the worker's id (cluster.worker.id in the worker).
	ID int
	// Exec is the script the worker runs; Args its process.argv.slice(2).
	Exec string
	Args []string
	// Env is added to the primary's environment ("KEY=value").
	Env []string
	// Silent pipes the worker's stdout and stderr to the primary (the
	// Stdout/Stderr events); otherwise they are the primary's own.
	Silent bool
	// Cwd is the worker's working directory ("" the primary's).
	Cwd string
}

// WorkerEvents receives what happens to a started worker process.
type WorkerEvents interface {
	// Online: the worker said hello with the right cookie.
	Online()
	// Message: a message from the worker, as CBOR (the callee owns it).
	// Once it has handled or dropped it, the callee reports it through
	// WorkerProcess.Delivered: the worker's channel is not read far ahead
	// of what the primary has handled.
	Message(payload []byte)
	// Listening: a server in the worker listens (address "" for any).
	Listening(address string, port int, addressType int)
	// ExitedAfterDisconnect: the worker is leaving of its own accord (its
	// cluster.worker.disconnect() or kill(); the exited-after-disconnect
	// frame), so worker.exitedAfterDisconnect is true in the primary, as
	// Node's {act: 'exitedAfterDisconnect'} makes it.
	ExitedAfterDisconnect()
	// ProtocolError: the worker broke the protocol (garbage, oversize
	// frame); it is being killed, and Disconnect and Exit follow.
	ProtocolError(err error)
	// Disconnect: the channel is closed (by either side). Called once.
	Disconnect()
	// Exit: the process ended; code is -1 when a signal (its name, such as
	// "SIGTERM") ended it. Called once, after Disconnect.
	Exit(code int, signal string)
	// Stdout and Stderr carry a silent worker's output as it comes; all of
	// it is reported before Exit.
	Stdout(p []byte)
	Stderr(p []byte)
}

// WorkerProcess controls a started worker process.
type WorkerProcess interface {
	PID() int
	// Send writes one message (CBOR). done is called once, from any
	// goroutine, with nil when the frame is written, or an error (the
	// channel is closed; the message is over the frame size limit). A
	// message refused with ErrQueueFull is refused before Send returns.
	Send(payload []byte, done func(error))
	// Delivered reports that messages of n bytes in all (the len(payload)
	// of each) that WorkerEvents.Message gave are handled or dropped.
	Delivered(n int)
	// Disconnect asks the worker to close its servers and then its channel
	// (Node's worker.disconnect()); Disconnect follows when it has.
	Disconnect()
	// Kill sends a signal by name ("SIGTERM", "SIGKILL", ...).
	Kill(signal string) error
	// Release closes the channel from the primary's side, as the death of
	// the primary does in Node: the worker leaves on its own (exit code
	// 0). Whoever owns the processes kills those that do not.
	Release()
}
