package wasm

import (
	"context"
	"errors"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
)

// hostModule builds the "isowasm" host module over w. A nil w gives the
// same module for its signatures only (validation); its functions are never
// called. Host functions run on the goroutine that called into the guest,
// which is always the worker's loop: they change loop state, never call
// the guest.
func hostModule(rt wazero.Runtime, w *worker) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder(hostabi.ImportModule)
	fn := func(name string, params, results []api.ValueType, f func(m api.Module, stack []uint64)) {
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, m api.Module, stack []uint64) { f(m, stack) }), params, results).
			WithName(name).
			Export(name)
	}
	var (
		none []api.ValueType
		one  = []api.ValueType{i32}
		two  = []api.ValueType{i32, i32}
	)
	status := func(s int32) uint64 { return api.EncodeI32(s) }

	fn(hostabi.ImportSend, two, one, func(m api.Module, stack []uint64) {
		stack[0] = status(w.send(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1])))
	})
	fn(hostabi.ImportWorkerID, none, one, func(_ api.Module, stack []uint64) {
		stack[0] = api.EncodeI32(int32(w.workerID()))
	})
	fn(hostabi.ImportSetTimer, one, one, func(_ api.Module, stack []uint64) {
		stack[0] = api.EncodeI32(w.setTimer(api.DecodeI32(stack[0])))
	})
	fn(hostabi.ImportClearTimer, one, one, func(_ api.Module, stack []uint64) {
		cleared := int32(0)
		if w.clearTimer(api.DecodeI32(stack[0])) {
			cleared = 1
		}
		stack[0] = api.EncodeI32(cleared)
	})
	fn(hostabi.ImportLog, []api.ValueType{i32, i32, i32}, none, func(m api.Module, stack []uint64) {
		w.log(m, api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
	})
	fn(hostabi.ImportDisconnect, none, one, func(_ api.Module, stack []uint64) {
		stack[0] = status(w.disconnect())
	})
	fn(hostabi.ImportDestroy, one, one, func(_ api.Module, stack []uint64) {
		stack[0] = status(w.destroy(api.DecodeI32(stack[0])))
	})
	httpImports(fn, w)
	return b
}

func (w *worker) workerID() int {
	if w.ch == nil {
		return 0
	}
	return w.ch.WorkerID()
}

// send is the send import: the bytes must be one CBOR value with JSON
// semantics; a refusal is a status for the guest and a line on stderr,
// never the end of the worker.
func (w *worker) send(m api.Module, ptr, size uint32) int32 {
	data, ok := m.Memory().Read(ptr, size)
	if !ok {
		w.errorf("send refused: %d bytes at %#x lie outside the guest's memory (%d bytes)", size, ptr, m.Memory().Size())
		return hostabi.StatusBounds
	}
	// data is a view of guest memory, valid while the guest is paused in
	// this call: the frame is written before we return.
	if err := checkPayload(data); err != nil {
		w.errorf("send refused: %v", err)
		return hostabi.StatusMalformed
	}
	if w.ch == nil {
		return hostabi.StatusClosed
	}
	switch err := w.ch.Send(data); {
	case err == nil:
		return hostabi.StatusOK
	case errors.Is(err, frame.ErrTooLarge):
		w.errorf("send refused: %v", err)
		return hostabi.StatusTooLarge
	case errors.Is(err, host.ErrClosed):
		return hostabi.StatusClosed
	default:
		return hostabi.StatusClosed
	}
}

func (w *worker) log(m api.Module, level int32, ptr, size uint32) {
	data, ok := m.Memory().Read(ptr, size)
	if !ok {
		w.errorf("log: %d bytes at %#x lie outside the guest's memory", size, ptr)
		return
	}
	out := w.cfg.Stderr
	if level == hostabi.LogInfo {
		out = w.cfg.Stdout
	}
	line := make([]byte, 0, len(data)+1)
	line = append(append(line, data...), '\n')
	out.Write(line)
}

func (w *worker) disconnect() int32 {
	if w.ch == nil || !w.ch.Connected() {
		return hostabi.StatusClosed
	}
	if w.ch.Disconnect(true) != nil {
		return hostabi.StatusClosed
	}
	return hostabi.StatusOK
}

// destroy is ClusterWorker's _destroyComplete: disconnect now, end the
// process with 0 when the grace period is over.
func (w *worker) destroy(timeoutMS int32) int32 {
	if w.destroying {
		return hostabi.StatusAgain
	}
	if timeoutMS < 0 {
		timeoutMS = hostabi.DefaultDestroyTimeoutMS
	}
	w.destroying = true
	w.destroyAt = time.Now().Add(time.Duration(timeoutMS) * time.Millisecond)
	if w.ch != nil && w.ch.Connected() {
		w.ch.Disconnect(true)
	}
	return hostabi.StatusOK
}
