package engine

import (
	"fmt"
	"syscall"
	"time"

	"github.com/isowasm/isowasm/engine/process"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// Worker is one forked worker process, as the primary sees it (Node's
// cluster Worker). Its methods run on the primary's loop, except ID.
type Worker struct {
	p    *Primary
	id   int
	pid  int
	proc *process.Process // nil when the process could not be started

	state                 string
	connected             bool
	dead                  bool
	exitedAfterDisconnect bool
	awaitReady            bool // online, its 'ready' not yet seen
	wasReady              bool // its 'ready' was seen: a death is no failed start

	slot       *slot       // the line of replacements it belongs to
	forkedAt   time.Time   // for the restart policy's uptime
	readyTimer *time.Timer // Config.ReadyTimeout, until its 'ready'
	killedBy   *KillError  // why the primary killed it, if it did
	killed     bool        // the primary sent it a signal (Kill), or killed it for breaking the protocol
	selfSignal string      // the signal it said it was sending itself
	fatal      string      // the error that ended it (Config.ReportFatal)
}

// ID is the worker's id: 1, 2, 3… in fork order, never reused.
func (w *Worker) ID() int { return w.id }

// WasReady reports whether the worker said 'ready': a worker that exits
// before has failed to start.
func (w *Worker) WasReady() bool { return w.wasReady }

// FatalError is the error that ended the worker (an uncaught exception),
// as the worker would have printed it on its stderr, when Config.ReportFatal
// has workers send it to the primary instead; "" otherwise. It is known by
// the worker's workerExit.
func (w *Worker) FatalError() string { return w.fatal }

// PID is the worker's process id (0 if it could not be started).
func (w *Worker) PID() int { return w.pid }

// State is Node's worker.state: "none", "online", "listening",
// "disconnected" or "dead".
func (w *Worker) State() string { return w.state }

// IsConnected reports whether the worker's channel is open.
func (w *Worker) IsConnected() bool { return w.connected }

// IsDead reports whether the worker's process has exited.
func (w *Worker) IsDead() bool { return w.dead }

// ExitedAfterDisconnect reports whether the worker left on purpose: it said
// so before closing its channel, or the primary disconnected it.
func (w *Worker) ExitedAfterDisconnect() bool { return w.exitedAfterDisconnect }

// Send sends message to this worker alone; the delivery fails with the bare
// cause (ErrChannelClosed, ErrQueueFull, a *frame.SizeError, an encoding
// error).
func (w *Worker) Send(message any) *Delivery {
	d := newDelivery(w.p, 1)
	payload, err := frame.Marshal(message)
	if err != nil {
		d.settle(fmt.Errorf("engine: encoding a message for worker %d: %w", w.id, err))
		return d
	}
	if !w.connected || w.proc == nil {
		d.settle(ErrChannelClosed)
		return d
	}
	w.proc.SendTo(payload, (*channelSettler)(d))
	return d
}

// channelSettler settles a Delivery of one destination with the channel's
// result (Send's, without a closure per message).
type channelSettler Delivery

func (s *channelSettler) Settle(err error) { (*Delivery)(s).settle(channelErr(err)) }

// write queues a message for the worker's channel; done gets the result on
// the writer goroutine (or at once).
func (w *Worker) write(payload []byte, done func(error)) {
	if !w.connected || w.proc == nil {
		done(ErrChannelClosed)
		return
	}
	w.proc.Send(payload, func(err error) { done(channelErr(err)) })
}

// Disconnect asks the worker to close its servers and its channel, and
// marks it as leaving on purpose (Node's worker.disconnect()). The
// workerDisconnect and workerExit events follow.
func (w *Worker) Disconnect() {
	w.exitedAfterDisconnect = true
	if w.connected && w.proc != nil {
		w.proc.Disconnect()
	} else {
		w.p.post(func() { w.EmitError(ErrChannelClosed) })
	}
	w.p.removeFromCluster(w)
}

// Kill sends sig to the worker's process at once (Node's worker.kill and
// worker.destroy in the primary). A worker already dead is left alone.
func (w *Worker) Kill(sig syscall.Signal) error {
	if w.dead || w.proc == nil {
		return nil
	}
	w.killed = true
	if err := w.proc.Kill(sig); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// Destroy kills the worker with SIGTERM.
func (w *Worker) Destroy() error { return w.Kill(syscall.SIGTERM) }

// EmitError publishes a workerError for this worker (Node's
// worker.emit('error', err)); err is wrapped in a *WorkerError.
func (w *Worker) EmitError(err error) {
	w.p.publish(&Event{Name: "workerError", Worker: w, Error: &WorkerError{WorkerID: w.id, Err: err}})
}
