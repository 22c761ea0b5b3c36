package js

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	goruntime "runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/dop251/goja"

	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
)

// bindings builds the object the bundle's node modules reach the host
// through (the wrapper's __isowasm parameter). Built once: a JS object
// holding Go functions, each created once.
func (r *runtime) bindings() *goja.Object {
	vm := r.vm
	n := vm.NewObject()
	set := func(name string, v any) { _ = n.Set(name, v) }
	// process.send serializes with JSON.stringify as the runtime made it
	// (Node's primordial), whatever a script does to the global later.
	r.stringify, _ = goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("stringify"))

	// Hooks: node/process.js hands over the functions Go calls.
	set("setHooks", func(call goja.FunctionCall) goja.Value {
		o := call.Argument(0).ToObject(vm)
		get := func(name string) goja.Callable {
			f, ok := goja.AssertFunction(o.Get(name))
			if !ok {
				panic(vm.NewTypeError("isowasm: hook " + name + " missing"))
			}
			return f
		}
		r.hooks = hooks{
			callback:          get("callback"),
			runTicks:          get("runTicks"),
			fireTimer:         get("fireTimer"),
			fireImmediate:     get("fireImmediate"),
			uncaught:          get("uncaught"),
			rejection:         get("rejection"),
			beforeExit:        get("beforeExit"),
			exit:              get("exit"),
			fatalExit:         get("fatalExit"),
			describe:          get("describe"),
			message:           get("message"),
			messages:          get("messages"),
			disconnectRequest: get("disconnectRequest"),
			channelClosed:     get("channelClosed"),
			signal:            get("signal"),
		}
		return goja.Undefined()
	})
	// tryGuard(body) runs the body of a try statement with a catch clause
	// (v8errors.go tryGuardOpen): where goja gives up on a recursion too
	// deep, the error is V8's RangeError from here on, which that catch
	// clause catches. Its frame's name lets stack texts drop it.
	guard := vm.ToValue(func(call goja.FunctionCall) goja.Value {
		body, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			panic(vm.NewTypeError("isowasm: tryGuard needs a function"))
		}
		if _, err := body(goja.Undefined()); err != nil {
			var so *goja.StackOverflowError
			if errors.As(err, &so) {
				panic(r.stackOverflow(so))
			}
			panic(err)
		}
		return goja.Undefined()
	}).ToObject(vm)
	_ = guard.DefineDataProperty("name", vm.ToValue(tryGuardName), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	set("tryGuard", guard)
	set("tickQueued", func(goja.FunctionCall) goja.Value { r.ticks = true; return goja.Undefined() })
	set("loadModule", func(spec string, require goja.Value) goja.Value { return r.loadModule(spec, require) })
	set("v8Error", func(v goja.Value) { r.v8Error(v) })
	// jsonParse parses JSON text keeping lone surrogates; undefined when
	// the text is not JSON (JSON.parse then reports it).
	set("jsonParse", func(text string) goja.Value {
		data, err := jsonToCBOR(text)
		if err != nil {
			return goja.Undefined()
		}
		v, err := cborToValue(vm, data)
		if err != nil {
			return goja.Undefined()
		}
		return v
	})
	set("runTicks", func() {
		if r.hooks.runTicks != nil {
			r.ticks = false
			if _, err := r.hooks.runTicks(goja.Undefined()); err != nil {
				panic(err)
			}
		}
	})
	set("uncaught", func(v goja.Value) { r.uncaught(v, nil, "uncaughtException") })

	// Output.
	set("writeOut", func(s string) { io.WriteString(r.cfg.Stdout, s) })
	set("writeErr", func(s string) { io.WriteString(r.cfg.Stderr, s) })

	// Timers.
	set("timerArm", func(obj goja.Value, delay int64, ref bool) int64 { return r.loop.addTimer(obj, delay, ref) })
	set("immediate", func(obj goja.Value, ref bool) int64 { return r.loop.addImmediate(obj, ref) })
	set("timerCancel", func(key int64) { r.loop.cancel(key) })
	set("timerRef", func(key int64, ref bool) { r.loop.setRef(key, ref) })

	// Process.
	set("exit", func(code int) { r.exit(code) })
	set("execPath", r.cfg.ExecPath)
	set("script", r.scriptPath())
	set("args", r.cfg.Args)
	env := vm.NewObject()
	for _, kv := range r.cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			_ = env.Set(k, v)
		}
	}
	set("env", env)
	set("pid", os.Getpid())
	set("ppid", os.Getppid())
	set("platform", goruntime.GOOS)
	set("arch", map[string]string{"amd64": "x64", "386": "ia32"}[goruntime.GOARCH]+strings.TrimPrefix(goruntime.GOARCH, "amd64"))
	start := r.loop.start
	set("hrtime", func() []int64 {
		d := time.Since(start) + time.Duration(processEpoch)
		return []int64{int64(d / time.Second), int64(d % time.Second)}
	})
	set("hrtimeBigint", func() goja.Value {
		return vm.ToValue(new(big.Int).SetInt64(int64(time.Since(start)) + processEpoch))
	})
	set("uptime", func() float64 { return time.Since(start).Seconds() })
	set("now", func() float64 { return float64(time.Since(start).Microseconds()) / 1000 })
	set("timeOrigin", float64(start.UnixMicro())/1000)
	set("memoryUsage", func() map[string]any {
		var m goruntime.MemStats
		goruntime.ReadMemStats(&m)
		return map[string]any{"rss": float64(m.Sys), "heapTotal": float64(m.HeapSys), "heapUsed": float64(m.HeapAlloc), "external": 0, "arrayBuffers": 0}
	})
	set("cwd", func() string { d, _ := os.Getwd(); return d })
	set("chdir", func(d string) { r.throwErr(os.Chdir(d), "chdir", d) })
	set("promiseResult", func(v goja.Value) goja.Value {
		if p, ok := v.Export().(*goja.Promise); ok && p.Result() != nil {
			return p.Result()
		}
		return goja.Undefined()
	})
	set("promiseState", func(v goja.Value) string {
		p, ok := v.Export().(*goja.Promise)
		if !ok {
			return ""
		}
		switch p.State() {
		case goja.PromiseStateFulfilled:
			return "fulfilled"
		case goja.PromiseStateRejected:
			return "rejected"
		}
		return "pending"
	})

	// Channel.
	set("hasChannel", r.cfg.Channel != nil)
	if r.cfg.Channel != nil {
		set("workerId", r.cfg.Channel.WorkerID())
	}
	// A FunctionCall signature: goja calls it without reflection (it runs
	// for every message sent).
	set("connected", func(goja.FunctionCall) goja.Value { return vm.ToValue(r.connected) })
	set("send", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(r.send(call.Argument(0).String(), call.Argument(1)))
	})
	// sendValue is send with the value itself, encoded straight to CBOR
	// (valueToCBOR): what JSON.stringify then send would do, without the
	// JSON text.
	set("sendValue", func(call goja.FunctionCall) goja.Value {
		payload, ok, err := r.valueToCBOR(call.Argument(0))
		if !r.connected {
			return vm.ToValue(false)
		}
		if err != nil {
			panic(vm.NewGoError(err))
		}
		if !ok {
			// JSON.stringify gave undefined: String(undefined) is not JSON.
			panic(vm.NewGoError(fmt.Errorf("%w: unexpected 'u' at 0", errPayload)))
		}
		return vm.ToValue(r.queue(payload, call.Argument(1)))
	})
	// sendSettled is sendValue for isotropic-cluster's ClusterWorker.send
	// (node/process.js's sendPromise, after process.send's checks): the
	// promise of the write, settled from Go on the loop once it is written,
	// as process.send's callback would settle it; on a failed write
	// onError(error, message, reject) rejects it.
	set("sendSettled", func(call goja.FunctionCall) goja.Value {
		message, onError := call.Argument(0), call.Argument(1)
		payload, ok, err := r.valueToCBOR(message)
		if err != nil {
			panic(vm.NewGoError(err))
		}
		if !ok {
			panic(vm.NewGoError(fmt.Errorf("%w: unexpected 'u' at 0", errPayload)))
		}
		p, resolve, reject := vm.NewPromise()
		r.queueSettled(payload, resolve, reject, message, onError)
		return vm.ToValue(p)
	})
	// disconnect closes the channel once what was sent before is written;
	// process.connected is false from now on.
	set("disconnect", func() bool {
		if !r.connected {
			return false
		}
		r.connected = false
		done := r.loop.registerCallback()
		r.out.enqueue(sendOp{disconnect: true, result: func(error) { done(func() {}) }})
		return true
	})
	// leaving(callback) tells the primary the worker leaves of its own will
	// (Node's {act: 'exitedAfterDisconnect'}) and calls back on the loop
	// once it is written, where Node's primary acknowledges it: the
	// channel stays connected until then. A write that fails calls back
	// never, as Node's acknowledgement never comes: the channel's close
	// follows.
	set("leaving", func(cb goja.Value) {
		done := r.loop.registerCallback()
		r.out.enqueue(sendOp{leaving: true, result: func(err error) {
			done(func() {
				if err == nil {
					r.call(r.hooks.callback, cb, goja.Undefined(), r.vm.NewArray())
				}
			})
		}})
	})
	// channelRef is process.channel.ref()/unref(): an unref'd channel does
	// not keep the loop alive.
	set("channelRef", func(ref bool) { r.channelRef = ref })

	// Files and the machine, for node:fs and node:os.
	r.fsBindings(set)
	r.netBindings(set)
	r.primaryBindings(set)
	r.cryptoBindings(set)
	set("hostname", func() string { h, _ := os.Hostname(); return h })
	set("tmpdir", func() string { return strings.TrimSuffix(os.TempDir(), "/") })
	set("homedir", func() string { h, _ := os.UserHomeDir(); return h })
	set("cpuCount", goruntime.NumCPU())
	// Read when asked (os.release()), not at every start: a file read.
	set("osRelease", func(goja.FunctionCall) goja.Value { return vm.ToValue(osRelease()) })
	set("memInfo", memInfo)
	set("loadavg", loadavg)
	set("systemUptime", systemUptime)
	return n
}

// processEpoch offsets hrtime so it is not near zero, as Node's is not.
const processEpoch = int64(1_000_000 * time.Second)

// send serializes one message (JSON text from JSON.stringify) and queues it;
// cb(err) runs on the loop once written. It reports false when the channel
// is closed, as process.send does.
func (r *runtime) send(text string, cb goja.Value) bool {
	if !r.connected {
		return false
	}
	payload, err := jsonToCBOR(text)
	if err != nil {
		panic(r.vm.NewGoError(err))
	}
	return r.queue(payload, cb)
}

// queue queues a message payload for the sender; cb(err) runs on the loop
// once written (the write holds the loop until then).
func (r *runtime) queue(payload []byte, cb goja.Value) bool {
	if _, ok := goja.AssertFunction(cb); !ok {
		// Nothing to call back: the write need not come back to the loop
		// (the open channel keeps the loop alive, and its end flushes the
		// queue).
		r.out.enqueue(sendOp{payload: payload})
		return true
	}
	r.loop.pending++
	r.out.enqueue(sendOp{payload: payload, onLoop: func(err error) {
		var arg goja.Value = goja.Null()
		if err != nil {
			arg = r.channelError(err)
		}
		r.call(r.hooks.callback, cb, goja.Undefined(), r.vm.NewArray(arg))
	}})
	return true
}

// queueSettled queues a message payload whose write settles a promise on
// the loop, as a macrotask of its own: resolved with undefined once
// written, or handed to onError(error, message, reject).
func (r *runtime) queueSettled(payload []byte, resolve, reject func(any) error, message, onError goja.Value) {
	r.loop.pending++
	r.out.enqueue(sendOp{payload: payload, onLoop: func(err error) {
		if r.loop.stopped {
			return
		}
		if err == nil {
			// Settling from outside JS runs the promise jobs it queues
			// (goja drains them when the outermost call returns).
			r.handle(resolve(goja.Undefined()))
			r.drain()
			return
		}
		fail := r.vm.ToValue(func(call goja.FunctionCall) goja.Value {
			if err := reject(call.Argument(0)); err != nil {
				panic(err)
			}
			return goja.Undefined()
		})
		r.call(r.hooks.callback, onError, goja.Undefined(), r.vm.NewArray(r.channelError(err), message, fail))
	}})
}

// channelError is the JS error a failed send reports.
func (r *runtime) channelError(err error) goja.Value {
	var e *goja.Object
	switch {
	case errors.Is(err, host.ErrClosed):
		e = r.vm.NewGoError(err)
		_ = e.Set("message", "Channel closed")
		_ = e.Set("code", "ERR_IPC_CHANNEL_CLOSED")
	case errors.Is(err, frame.ErrTooLarge):
		e = r.vm.NewGoError(err)
		_ = e.Set("message", "isowasm: "+err.Error())
		_ = e.Set("code", "ERR_ISOWASM_MESSAGE_TOO_LARGE")
	default:
		e = r.vm.NewGoError(err)
	}
	return e
}

// throwErr throws err as a Node system error (code, errno, syscall, path).
func (r *runtime) throwErr(err error, syscallName, path string) {
	if err == nil {
		return
	}
	panic(r.systemError(err, syscallName, path))
}

var errnoNames = map[syscall.Errno]string{
	syscall.ENOENT: "ENOENT", syscall.EEXIST: "EEXIST", syscall.EACCES: "EACCES", syscall.EPERM: "EPERM",
	syscall.ENOTDIR: "ENOTDIR", syscall.EISDIR: "EISDIR", syscall.ENOTEMPTY: "ENOTEMPTY", syscall.EBADF: "EBADF",
	syscall.EINVAL: "EINVAL", syscall.EMFILE: "EMFILE", syscall.ENOSPC: "ENOSPC", syscall.EROFS: "EROFS",
	syscall.ELOOP: "ELOOP", syscall.ENAMETOOLONG: "ENAMETOOLONG", syscall.EBUSY: "EBUSY", syscall.EXDEV: "EXDEV",
}

var errnoText = map[string]string{
	"ENOENT": "no such file or directory", "EEXIST": "file already exists", "EACCES": "permission denied",
	"EPERM": "operation not permitted", "ENOTDIR": "not a directory", "EISDIR": "illegal operation on a directory",
	"ENOTEMPTY": "directory not empty", "EINVAL": "invalid argument",
}

func (r *runtime) systemError(err error, syscallName, path string) *goja.Object {
	var errno syscall.Errno
	code := "EIO"
	if errors.As(err, &errno) {
		if c, ok := errnoNames[errno]; ok {
			code = c
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		code = "ENOENT"
	}
	text := errnoText[code]
	if text == "" {
		text = err.Error()
	}
	msg := code + ": " + text + ", " + syscallName
	if path != "" {
		msg += " '" + path + "'"
	}
	e := r.vm.NewGoError(err)
	_ = e.Set("message", msg)
	_ = e.Set("code", code)
	_ = e.Set("errno", -int(errno))
	_ = e.Set("syscall", syscallName)
	if path != "" {
		_ = e.Set("path", path)
	}
	return e
}

func (r *runtime) fsBindings(set func(string, any)) {
	vm := r.vm
	set("fsRead", func(p string) goja.Value {
		data, err := os.ReadFile(p)
		r.throwErr(err, "open", p)
		return vm.ToValue(vm.NewArrayBuffer(data))
	})
	set("fsReadText", func(p string) string {
		data, err := os.ReadFile(p)
		r.throwErr(err, "open", p)
		return string(data)
	})
	write := func(p string, data goja.Value, flags int, mode int64) {
		var b []byte
		switch v := data.Export().(type) {
		case goja.ArrayBuffer:
			b = v.Bytes()
		case []byte:
			b = v
		default:
			b = []byte(data.String())
		}
		if mode == 0 {
			mode = 0o666
		}
		f, err := os.OpenFile(p, flags, os.FileMode(mode))
		r.throwErr(err, "open", p)
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		r.throwErr(err, "write", p)
	}
	set("fsWrite", func(p string, data goja.Value, mode int64) {
		write(p, data, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	})
	set("fsAppend", func(p string, data goja.Value, mode int64) {
		write(p, data, os.O_WRONLY|os.O_CREATE|os.O_APPEND, mode)
	})
	set("fsExists", func(p string) bool { _, err := os.Stat(p); return err == nil })
	set("fsMkdir", func(p string, recursive bool, mode int64) goja.Value {
		if mode == 0 {
			mode = 0o777
		}
		if recursive {
			first := ""
			for d := p; d != "/" && d != "." && d != ""; d = parentDir(d) {
				if _, err := os.Stat(d); err == nil {
					break
				}
				first = d
			}
			r.throwErr(os.MkdirAll(p, os.FileMode(mode)), "mkdir", p)
			if first == "" {
				return goja.Undefined()
			}
			return vm.ToValue(first)
		}
		r.throwErr(os.Mkdir(p, os.FileMode(mode)), "mkdir", p)
		return goja.Undefined()
	})
	set("fsReaddir", func(p string) []map[string]any {
		entries, err := os.ReadDir(p)
		r.throwErr(err, "scandir", p)
		out := make([]map[string]any, len(entries))
		for i, e := range entries {
			out[i] = map[string]any{"name": e.Name(), "type": typeOf(e.Type())}
		}
		sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
		return out
	})
	set("fsRm", func(p string, recursive, force bool) {
		info, err := os.Lstat(p)
		if err != nil {
			if force && errors.Is(err, fs.ErrNotExist) {
				return
			}
			r.throwErr(err, "rm", p)
		}
		if info.IsDir() {
			if !recursive {
				panic(r.systemError(syscall.EISDIR, "rm", p))
			}
			r.throwErr(os.RemoveAll(p), "rm", p)
			return
		}
		r.throwErr(os.Remove(p), "rm", p)
	})
	set("fsRmdir", func(p string) { r.throwErr(syscall.Rmdir(p), "rmdir", p) })
	set("fsUnlink", func(p string) { r.throwErr(syscall.Unlink(p), "unlink", p) })
	set("fsRename", func(a, b string) { r.throwErr(os.Rename(a, b), "rename", a) })
	set("fsCopy", func(a, b string) {
		data, err := os.ReadFile(a)
		r.throwErr(err, "copyfile", a)
		r.throwErr(os.WriteFile(b, data, 0o666), "copyfile", b)
	})
	set("fsMkdtemp", func(prefix string) string {
		d, err := os.MkdirTemp(parentDir(prefix+"x"), baseName(prefix)+"*")
		r.throwErr(err, "mkdtemp", prefix+"XXXXXX")
		return d
	})
	set("fsStat", func(p string, link bool, throwIfMissing bool) goja.Value {
		var info os.FileInfo
		var err error
		if link {
			info, err = os.Lstat(p)
		} else {
			info, err = os.Stat(p)
		}
		if err != nil && !throwIfMissing && errors.Is(err, fs.ErrNotExist) {
			return goja.Undefined()
		}
		r.throwErr(err, map[bool]string{true: "lstat", false: "stat"}[link], p)
		st, _ := info.Sys().(*syscall.Stat_t)
		o := map[string]any{
			"type":    typeOf(info.Mode().Type()),
			"size":    info.Size(),
			"mode":    int64(info.Mode().Perm()),
			"mtimeMs": float64(info.ModTime().UnixMicro()) / 1000,
		}
		if st != nil {
			o["mode"] = int64(st.Mode)
			o["ino"], o["dev"], o["nlink"], o["uid"], o["gid"] = float64(st.Ino), float64(st.Dev), int64(st.Nlink), int64(st.Uid), int64(st.Gid)
			o["atimeMs"] = float64(st.Atim.Sec)*1000 + float64(st.Atim.Nsec)/1e6
			o["ctimeMs"] = float64(st.Ctim.Sec)*1000 + float64(st.Ctim.Nsec)/1e6
			o["birthtimeMs"] = o["ctimeMs"]
		}
		return vm.ToValue(o)
	})
	set("fsRealpath", func(p string) string {
		abs, err := realpath(p)
		r.throwErr(err, "realpath", p)
		return abs
	})
}

func typeOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeDir != 0:
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsRegular():
		return "file"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "char"
	case m&fs.ModeDevice != 0:
		return "block"
	}
	return "unknown"
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return p[:i]
}

func baseName(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }
