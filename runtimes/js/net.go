package js

import (
	"errors"
	"net"
	"strconv"
	"syscall"

	"github.com/dop251/goja"

	hostpkg "github.com/isowasm/isowasm/runtimes/host"
)

// listener is a server of node:net or node:http, from listen until its
// close has completed. Only the loop touches it.
type listener struct {
	ref  bool
	open bool // accepting connections: close has not been called
	// shutdown stops accepting, lets the connections finish, then calls
	// done from any goroutine (Node's server.close).
	shutdown func(done func())
	// kill ends the server and its connections at once and waits for its
	// goroutines (the runtime is ending).
	kill func()
}

func (r *runtime) netBindings(set func(string, any)) {
	set("netListen", func(host string, port int, path string, exclusive bool) map[string]any {
		ln, err := r.listen(host, port, path, exclusive)
		if err != nil {
			panic(r.listenError(err, host, port, path))
		}
		id := r.addListener(&listener{
			shutdown: func(done func()) { ln.Close(); done() },
			kill:     func() { ln.Close() },
		})
		accepting := make(chan struct{})
		go func() {
			// Connections are accepted and closed: node:net has no sockets
			// yet, only servers (what a cluster worker needs to be seen
			// listening). The goroutine ends when the listener closes.
			defer close(accepting)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		l := r.listeners[id]
		kill := l.kill
		l.kill = func() { kill(); <-accepting }
		info := r.announce(ln, host, path)
		info["id"] = id
		return info
	})
	set("netClose", func(id int, cb goja.Value) {
		l := r.listeners[id]
		if l == nil || !l.open {
			return
		}
		l.open = false
		done := r.loop.registerCallback()
		l.shutdown(func() {
			done(func() {
				if r.listeners[id] == l {
					delete(r.listeners, id)
				}
				if _, ok := goja.AssertFunction(cb); ok {
					r.call(r.hooks.callback, cb, goja.Undefined(), r.vm.NewArray())
				}
			})
		})
	})
	set("netRef", func(id int, ref bool) {
		if l := r.listeners[id]; l != nil {
			l.ref = ref
		}
	})
	r.httpBindings(set)
}

func (r *runtime) addListener(l *listener) int {
	r.listenerSeq++
	l.ref, l.open = true, true
	r.listeners[r.listenerSeq] = l
	return r.listenerSeq
}

// listen opens a server socket; in a cluster worker a TCP one is shared
// with the other workers on the port (SO_REUSEPORT: see host.Listen),
// unless the script asked for an exclusive one.
func (r *runtime) listen(host string, port int, path string, exclusive bool) (net.Listener, error) {
	return hostpkg.Listen(host, port, path, r.cfg.Channel != nil && !exclusive)
}

// announce tells the primary that a server listens (cluster's
// 'listening', published there as workerListening) and returns what
// server.address() reports.
func (r *runtime) announce(ln net.Listener, host, path string) map[string]any {
	if r.cfg.Channel != nil && r.connected {
		// Queued behind the messages sent before it (see sendListening).
		r.sendListening(hostpkg.ListeningFrame(ln, host, path))
	}
	if path != "" {
		return map[string]any{"path": path}
	}
	addr := ln.Addr().(*net.TCPAddr)
	ip, family := addr.IP.String(), "IPv4"
	if addr.IP.To4() == nil {
		family = "IPv6"
	}
	if host == "" {
		ip, family = "::", "IPv6"
	}
	return map[string]any{"port": addr.Port, "address": ip, "family": family}
}

// listenError is Node's error for a failed listen:
// "listen EADDRINUSE: address already in use :::3000".
func (r *runtime) listenError(err error, host string, port int, path string) *goja.Object {
	code, text, errno := "EIO", err.Error(), 0
	var en syscall.Errno
	if errors.As(err, &en) {
		errno = int(en)
		if c, ok := netErrnoNames[en]; ok {
			code, text = c, netErrnoText[c]
		}
	}
	where := path
	if path == "" {
		if host == "" {
			host = "::"
		}
		where = host + ":" + strconv.Itoa(port)
	}
	e := r.vm.NewGoError(err)
	_ = e.Set("message", "listen "+code+": "+text+" "+where)
	_ = e.Set("code", code)
	_ = e.Set("errno", -errno)
	_ = e.Set("syscall", "listen")
	if path != "" {
		_ = e.Set("address", path)
	} else {
		_ = e.Set("address", host)
		_ = e.Set("port", port)
	}
	return e
}

var netErrnoNames = map[syscall.Errno]string{
	syscall.EADDRINUSE: "EADDRINUSE", syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.EACCES: "EACCES",
	syscall.EPERM: "EPERM", syscall.ENOENT: "ENOENT", syscall.EINVAL: "EINVAL",
}

var netErrnoText = map[string]string{
	"EADDRINUSE": "address already in use", "EADDRNOTAVAIL": "address not available",
	"EACCES": "permission denied", "EPERM": "operation not permitted",
	"ENOENT": "no such file or directory", "EINVAL": "invalid argument",
}

// listening reports whether a ref'd server keeps the loop alive.
func (r *runtime) listening() bool {
	for _, l := range r.listeners {
		if l.ref && l.open {
			return true
		}
	}
	return false
}

// closeListeners ends every server at once, when the runtime ends.
func (r *runtime) closeListeners() {
	for id, l := range r.listeners {
		l.kill()
		delete(r.listeners, id)
	}
}
