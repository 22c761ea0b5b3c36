package engine

import (
	"errors"
	"fmt"
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
)

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
	Err      error // ErrChannelClosed, a *frame.SizeError, or an encoding error
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
