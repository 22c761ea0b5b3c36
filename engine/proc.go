package engine

import (
	"errors"
	"fmt"
	"io"

	"github.com/isowasm/isowasm/engine/process"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// startProcess starts the process of worker w on the primary's process
// group. Everything the process layer reports is posted to the loop, in the
// order it happened.
func (p *Primary) startProcess(w *Worker) (*process.Process, error) {
	var args []string
	if p.cfg.WorkerScript != "" {
		args = append(args, p.cfg.WorkerScript)
	}
	args = append(args, p.cfg.WorkerArgs...)
	h := process.Handlers{
		Online: func() { p.post(func() { p.onOnline(w) }) },
		Message: func(payload []byte) error {
			// Decoded here, off the loop; a payload the shared mode refuses,
			// or one that would decode too large, breaks the protocol.
			v, err := frame.Value(payload)
			if err != nil {
				if errors.Is(err, frame.ErrTooLarge) {
					return err
				}
				return fmt.Errorf("%w: message: %v", frame.ErrMalformed, err)
			}
			// One closure per message: the hottest post there is. It runs
			// after forkOne has set w.proc (both on the loop).
			p.exec.Post(func() {
				if !p.closed.Load() {
					p.onMessage(w, v, payload)
				}
				w.proc.Delivered(len(payload))
			})
			return nil
		},
		Listening: func(l frame.Listening) { p.post(func() { p.onListening(w, &l) }) },
		ExitedAfterDisconnect: func() {
			p.post(func() { w.exitedAfterDisconnect = true })
		},
		SelfSignal: func(signal string) {
			p.post(func() { w.selfSignal = signal })
		},
		Problem: func(pb frame.Problem) {
			p.log.Warn("worker reports a protocol problem", "workerId", w.id, "code", pb.Code, "message", pb.Message)
		},
		ProtocolError: func(err error) {
			cause := err
			var pe *process.ProtocolError
			if errors.As(err, &pe) {
				cause = pe.Err
			}
			perr := fmt.Errorf("%w: worker %d: %w", ErrProtocol, w.id, cause)
			p.post(func() { p.onProtocolError(w, perr) })
		},
		Unhealthy: func(err error) {
			p.post(func() { p.onUnhealthy(w, err) })
		},
		Disconnect: func() { p.post(func() { p.onDisconnect(w) }) },
		Exit: func(code int, signal string) {
			p.post(func() { p.onExit(w, code, signal) })
		},
		Stdout: p.forwardLine(p.cfg.Stdout),
		Stderr: p.forwardLine(p.cfg.Stderr),
	}
	if p.cfg.ReportFatal {
		h.Fatal = func(text string) { p.post(func() { w.fatal = text }) }
	}
	pr, err := p.group.Start(process.Spec{ID: w.id, Args: args, Silent: p.cfg.Silent}, h)
	if errors.Is(err, process.ErrClosed) {
		err = fmt.Errorf("engine: starting worker %d: %w", w.id, ErrClosed)
	} else if err != nil {
		err = fmt.Errorf("engine: %w", err)
	}
	return pr, err
}

// forwardLine writes a silent worker's line to dst; lines of different
// workers do not interleave.
func (p *Primary) forwardLine(dst io.Writer) func([]byte) {
	return func(line []byte) {
		p.outMu.Lock()
		_, _ = dst.Write(line)
		p.outMu.Unlock()
	}
}

// channelErr turns the process layer's closed channel into the engine's.
func channelErr(err error) error {
	switch {
	case errors.Is(err, process.ErrChannelClosed):
		return ErrChannelClosed
	case errors.Is(err, process.ErrQueueFull):
		return ErrQueueFull
	}
	return err
}
