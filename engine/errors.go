package engine

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers test with errors.Is.
var (
	// ErrChannelClosed: the worker's channel is disconnected (Node's
	// 'Channel closed', code ERR_IPC_CHANNEL_CLOSED).
	ErrChannelClosed = errors.New("engine: channel closed")
	// ErrInvalidDestination: a send named something that is not a worker
	// object nor the id of a ready worker.
	ErrInvalidDestination = errors.New("engine: invalid message destination")
	// ErrNoWorker: RoundRobin found no ready worker.
	ErrNoWorker = errors.New("engine: no ready worker")
	// ErrDestroyed: the primary was destroyed.
	ErrDestroyed = errors.New("engine: primary destroyed")
	// ErrClosed: Close was called; nothing more runs.
	ErrClosed = errors.New("engine: primary closed")
	// ErrProtocol: a worker broke the channel protocol (no or a wrong Hello,
	// a malformed, oversize or truncated frame). The worker is killed.
	ErrProtocol = errors.New("engine: worker protocol violation")
	// ErrQueueFull: Config.MaxQueued messages already wait to be written
	// to the worker; the send failed at once and the worker is left alone.
	ErrQueueFull = errors.New("engine: too many messages queued for the worker")
	// ErrReadyTimeout: a worker did not say 'ready' within
	// Config.ReadyTimeout and was killed. A *KillError matches it.
	ErrReadyTimeout = errors.New("engine: worker not ready in time")
	// ErrUnresponsive: a worker left a heartbeat unanswered for
	// Config.HeartbeatTimeout (its event loop is stuck) and was killed. A
	// *KillError matches it.
	ErrUnresponsive = errors.New("engine: worker did not answer the heartbeat")
	// ErrMemoryLimit: a worker's resident memory went over Config.MaxRSS
	// and it was killed. A *KillError matches it.
	ErrMemoryLimit = errors.New("engine: worker over its memory limit")
	// ErrRestartLimit: a worker was not replaced because its slot was
	// replaced RestartPolicy.MaxRestarts times within the window. A
	// *RestartLimitError matches it.
	ErrRestartLimit = errors.New("engine: restart limit reached")
	// ErrStartFailures: a worker was not replaced because it and the
	// workers it replaced died during start (before 'ready')
	// RestartPolicy.MaxStartFailures times in a row. A *StartFailureError
	// matches it.
	ErrStartFailures = errors.New("engine: workers keep failing during start")
)

// KillError is why the primary killed a worker it judged unhealthy; it is
// the cause in the workerError published first (the workerExit follows).
// Err is ErrReadyTimeout, ErrUnresponsive or ErrMemoryLimit.
type KillError struct {
	WorkerID int
	Reason   string // "did not answer the heartbeat for 5s"
	Err      error
}

func (e *KillError) Error() string {
	return fmt.Sprintf("engine: worker %d %s: killed", e.WorkerID, e.Reason)
}

func (e *KillError) Unwrap() error { return e.Err }

// RestartLimitError is a workerGiveUp's error: the worker's slot was
// replaced Restarts times within Window, and this worker is not replaced.
type RestartLimitError struct {
	WorkerID int
	Restarts int
	Window   time.Duration
}

func (e *RestartLimitError) Error() string {
	return fmt.Sprintf("engine: worker %d is not replaced: its slot was replaced %d times within %v", e.WorkerID, e.Restarts, e.Window)
}

func (e *RestartLimitError) Unwrap() error { return ErrRestartLimit }

// StartFailureError is a workerGiveUp's error: the worker and those it
// replaced died during start Failures times in a row, and this worker is
// not replaced.
type StartFailureError struct {
	WorkerID int
	Failures int
}

func (e *StartFailureError) Error() string {
	return fmt.Sprintf("engine: worker %d is not replaced: %d workers in a row died during start", e.WorkerID, e.Failures)
}

func (e *StartFailureError) Unwrap() error { return ErrStartFailures }

// DestinationError is a send to an invalid destination (Node: 'Invalid
// message destination', details {message, to}). It wraps ErrInvalidDestination.
type DestinationError struct {
	Message any // the message that was being sent
	To      any // the offending destination, as given
}

func (e *DestinationError) Error() string {
	return fmt.Sprintf("engine: invalid message destination %v (want a *Worker or the id of a ready worker)", e.To)
}

func (e *DestinationError) Unwrap() error { return ErrInvalidDestination }

// SendError is a failed send to one worker (Node: 'Error sending message to
// worker', details {message, workerId}, the cause in Err).
type SendError struct {
	WorkerID int
	Message  any
	Err      error // ErrChannelClosed, ErrQueueFull, a *frame.SizeError, or an encoding error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("engine: error sending message to worker %d: %v", e.WorkerID, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// WorkerError is what a workerError event carries (Node: 'Error in worker').
type WorkerError struct {
	WorkerID int
	Err      error
}

func (e *WorkerError) Error() string {
	return fmt.Sprintf("engine: error in worker %d: %v", e.WorkerID, e.Err)
}

func (e *WorkerError) Unwrap() error { return e.Err }
