package js

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/dop251/goja"
	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// The primary side of node:cluster: node/cluster.js forks through these
// bindings, and what happens to each worker process comes back to its
// ChildProcess object as events, posted to the loop in the order Processes
// reports them.

// child is one worker process forked by the script.
type child struct {
	id     int
	proc   WorkerProcess
	emit   goja.Value // the ChildProcess's event function: (type, a, b)
	ref    bool       // keeps the loop alive (ChildProcess ref/unref)
	exited bool
}

func (r *runtime) primaryBindings(set func(string, any)) {
	vm := r.vm
	set("canFork", r.cfg.Processes != nil)
	// fork(spec, emit) starts a worker and returns its pid; a Processes
	// error is thrown, for cluster.js to report on the ChildProcess.
	set("fork", func(call goja.FunctionCall) goja.Value {
		if r.cfg.Processes == nil {
			panic(vm.NewGoError(errors.New("cluster.fork(): this script is a cluster primary but was not run as one: run it with `isowasm run " + baseName(r.cfg.Script) + "`")))
		}
		o := call.Argument(0).ToObject(vm)
		emit := call.Argument(1)
		if _, ok := goja.AssertFunction(emit); !ok {
			panic(vm.NewTypeError("isowasm: fork needs an event function"))
		}
		spec := WorkerSpec{
			ID:     int(o.Get("id").ToInteger()),
			Exec:   o.Get("exec").String(),
			Silent: o.Get("silent").ToBoolean(),
		}
		if v := o.Get("cwd"); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
			spec.Cwd = v.String()
		}
		_ = vm.ExportTo(o.Get("args"), &spec.Args)
		_ = vm.ExportTo(o.Get("env"), &spec.Env)
		c := &child{id: spec.ID, emit: emit, ref: true}
		proc, err := r.cfg.Processes.Start(spec, childEvents{r: r, c: c})
		if err != nil {
			panic(vm.NewGoError(err))
		}
		c.proc = proc
		r.children[c.id] = c
		return vm.ToValue(proc.PID())
	})
	// childSend returns "" once the message is queued, or why it was
	// refused at once: too much waits for a worker that does not read
	// (cluster.js reports it as Node reports a send on a closed channel).
	set("childSend", func(id int, text string) string {
		c := r.children[id]
		if c == nil {
			return ""
		}
		payload, err := jsonToCBOR(text)
		if err != nil {
			panic(vm.NewGoError(err))
		}
		if len(payload) > frame.DefaultMaxSize {
			e := r.channelError(&frame.SizeError{Size: len(payload), Max: frame.DefaultMaxSize})
			panic(e)
		}
		// Node calls a send's callback on the next tick once the write is
		// queued (cluster.js does); a write that fails later shows up as
		// the channel's disconnect.
		var refused atomic.Pointer[error]
		c.proc.Send(payload, func(err error) {
			if errors.Is(err, ErrQueueFull) {
				refused.Store(&err)
			}
		})
		if err := refused.Load(); err != nil {
			return "isowasm: " + (*err).Error()
		}
		return ""
	})
	set("childDisconnect", func(id int) {
		if c := r.children[id]; c != nil {
			c.proc.Disconnect()
		}
	})
	set("childKill", func(id int, signal string) string {
		c := r.children[id]
		if c == nil || c.exited {
			return "ESRCH"
		}
		if err := c.proc.Kill(signal); err != nil {
			if errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
				return "ESRCH"
			}
			return err.Error()
		}
		return ""
	})
	set("childRef", func(id int, ref bool) {
		if c := r.children[id]; c != nil {
			c.ref = ref
		}
	})
	// kill(pid, signal) is process.kill for another process: "" or the
	// errno code.
	set("kill", func(pid int, signal string) string {
		sig := syscall.Signal(0)
		if signal != "0" {
			sig = unix.SignalNum(signal)
			if sig == 0 {
				return "EINVAL"
			}
		}
		if err := syscall.Kill(pid, sig); err != nil {
			var errno syscall.Errno
			if errors.As(err, &errno) {
				if name, ok := errnoNames[errno]; ok {
					return name
				}
				if errno == syscall.ESRCH {
					return "ESRCH"
				}
			}
			return "EPERM"
		}
		return ""
	})
	signals := vm.NewObject()
	for n := syscall.Signal(1); n < 32; n++ {
		if name := unix.SignalName(n); name != "" {
			_ = signals.Set(name, int(n))
		}
	}
	set("signals", signals)
	// selfSignal delivers a signal to this process for real (process.kill
	// of its own pid with no JS listener): Node's default action.
	set("selfSignal", func(name string) {
		if sig := unix.SignalNum(name); sig != 0 {
			if r.cfg.Channel != nil {
				// The primary counts the death that follows against the
				// worker's restarts, as its own doing.
				_ = r.cfg.Channel.SelfSignal(name)
			}
			_ = syscall.Kill(os.Getpid(), sig)
		}
	})
	// listenSignal records whether a signal has a listener, for the
	// signal watcher (process.js calls it as listeners come and go).
	set("listenSignal", func(name string, on bool) {
		if n := int(unix.SignalNum(name)); n > 0 && n < len(r.sigListened) {
			r.sigListened[n].Store(on)
		}
	})
	// postSignal runs the signal hook on a later turn of the loop, as a
	// signal the process sends itself arrives (process.kill(process.pid)).
	set("postSignal", func(name string) {
		num := int(unix.SignalNum(name))
		r.loop.post(func() { r.signal(name, num) })
	})
}

// childrenAlive reports whether a ref'd worker process has not exited yet.
func (r *runtime) childrenAlive() bool {
	for _, c := range r.children {
		if c.ref && !c.exited {
			return true
		}
	}
	return false
}

// endChildren stops the worker processes still running when the script
// ends (process.exit, a fatal error, ctx): none outlives its primary. A
// script ended by a signal's default action releases them instead, as the
// death of Node's primary does: their channel closes and they leave on
// their own (exit code 0); Processes kills those that do not.
func (r *runtime) endChildren() {
	for _, c := range r.children {
		switch {
		case c.exited:
		case r.sigDeath:
			c.proc.Release()
		default:
			_ = c.proc.Kill("SIGKILL")
		}
	}
}

// childEvents posts what Processes reports about one worker to the loop.
type childEvents struct {
	r *runtime
	c *child
}

func (e childEvents) post(f func()) {
	e.r.loop.post(func() {
		if e.r.loop.stopped {
			return
		}
		f()
	})
}

func (e childEvents) fire(args ...goja.Value) {
	r := e.r
	r.call(r.hooks.callback, e.c.emit, goja.Undefined(), r.vm.NewArray(toAny(args)...))
}

func toAny(vs []goja.Value) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func (e childEvents) Online() {
	e.post(func() { e.fire(e.r.vm.ToValue("online")) })
}

func (e childEvents) Message(payload []byte) {
	e.r.loop.post(func() {
		// Run after fork has set c.proc (both on the loop).
		defer e.c.proc.Delivered(len(payload))
		if e.r.loop.stopped {
			return
		}
		v, err := cborToValue(e.r.vm, payload)
		if err != nil {
			fmt.Fprintf(e.r.cfg.Stderr, "isowasm: dropping a message from worker %d: %v\n", e.c.id, err)
			return
		}
		e.fire(e.r.vm.ToValue("message"), v)
	})
}

func (e childEvents) Listening(address string, port int, addressType int) {
	e.post(func() {
		vm := e.r.vm
		var addr goja.Value = goja.Null()
		if address != "" {
			addr = vm.ToValue(address)
		}
		info := vm.NewObject()
		_ = info.Set("addressType", addressType)
		_ = info.Set("address", addr)
		_ = info.Set("port", port)
		_ = info.Set("fd", goja.Undefined())
		e.fire(vm.ToValue("listening"), info)
	})
}

func (e childEvents) ExitedAfterDisconnect() {
	e.post(func() { e.fire(e.r.vm.ToValue("exitedAfterDisconnect")) })
}

func (e childEvents) ProtocolError(err error) {
	e.post(func() {
		ev := e.r.vm.NewGoError(err)
		_ = ev.Set("code", "ERR_ISOWASM_PROTOCOL")
		e.fire(e.r.vm.ToValue("error"), ev)
	})
}

func (e childEvents) Disconnect() {
	e.post(func() { e.fire(e.r.vm.ToValue("disconnect")) })
}

func (e childEvents) Exit(code int, signal string) {
	e.post(func() {
		e.c.exited = true
		vm := e.r.vm
		var c, s goja.Value = goja.Null(), goja.Null()
		if signal != "" {
			s = vm.ToValue(signal)
		} else {
			c = vm.ToValue(code)
		}
		e.fire(vm.ToValue("exit"), c, s)
	})
}

func (e childEvents) Stdout(p []byte) {
	b := append([]byte(nil), p...)
	e.post(func() { e.fire(e.r.vm.ToValue("stdout"), e.r.vm.ToValue(e.r.vm.NewArrayBuffer(b))) })
}

func (e childEvents) Stderr(p []byte) {
	b := append([]byte(nil), p...)
	e.post(func() { e.fire(e.r.vm.ToValue("stderr"), e.r.vm.ToValue(e.r.vm.NewArrayBuffer(b))) })
}

// watchSignals turns the process's signals into process events on the
// loop (Node's process.on('SIGINT')), or ends the script at once, as
// Node's default action does, when nobody listens: whatever the script is
// doing, even a loop that never yields. A signal that arrives while the
// script has not yet handled the previous one (its loop is busy, or its
// handler is) ends it too, so that a stuck script can always be stopped.
// It runs until done is closed.
func (r *runtime) watchSignals(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s, ok := <-r.cfg.Signals:
			if !ok {
				return
			}
			sig, isSig := s.(syscall.Signal)
			if !isSig || sig <= 0 || int(sig) >= len(r.sigListened) {
				continue
			}
			num := int(sig)
			if r.sigListened[num].Load() && r.sigPending.CompareAndSwap(false, true) {
				name := unix.SignalName(sig)
				r.loop.post(func() {
					r.signal(name, num)
					r.sigPending.Store(false)
				})
				continue
			}
			// Stops the JavaScript running now; an idle loop is woken.
			r.vm.Interrupt(signalExit(num))
			r.loop.post(func() { r.endBySignal(num) })
		}
	}
}

// signalExit is the interrupt value a signal's default action stops the
// VM with: the signal's number.
type signalExit int

// endBySignal ends the script by a signal's default action: no 'exit'
// listeners, the shell's code for a signal death (128+signal), and the
// workers released (endChildren).
func (r *runtime) endBySignal(num int) {
	if r.sigDeath {
		return
	}
	r.vm.ClearInterrupt()
	r.sigDeath = true
	r.exitCode = 128 + num
	r.exiting = true
	r.loop.stopped = true
}

// signal delivers a signal on the loop.
func (r *runtime) signal(name string, num int) {
	if r.loop.stopped || r.hooks.signal == nil {
		return
	}
	res, err := r.hooks.signal(goja.Undefined(), r.vm.ToValue(name), r.vm.ToValue(num))
	if err != nil {
		r.handle(err)
		r.drain()
		return
	}
	r.drain()
	if !res.ToBoolean() && !r.loop.stopped {
		// Nobody listens any more: the default action.
		r.endBySignal(num)
	}
}
