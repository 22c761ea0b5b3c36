package js

import (
	"net"
	"strconv"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// listener is a server socket opened by node:net. Connections are accepted
// and closed: isowasm's node:net has no sockets yet, only listening (what a
// cluster worker needs to be seen as listening).
type listener struct {
	ln  net.Listener
	ref bool
}

func (r *runtime) netBindings(set func(string, any)) {
	set("netListen", func(host string, port int) map[string]any {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			panic(r.systemError(err, "listen", ""))
		}
		r.listenerSeq++
		id := r.listenerSeq
		r.listeners[id] = &listener{ln: ln, ref: true}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		addr := ln.Addr().(*net.TCPAddr)
		family, addressType := "IPv4", 4
		if addr.IP.To4() == nil {
			family, addressType = "IPv6", 6
		}
		if r.cfg.Channel != nil && r.connected {
			// The primary learns of it as Node's cluster does; a worker
			// listening on any address reports no address.
			var address string
			if host != "" {
				address = host
			} else {
				addressType = 4 // Node's cluster says 4 for a server on any address
			}
			_ = r.cfg.Channel.Listening(frame.Listening{Address: address, Port: addr.Port, AddressType: addressType})
		}
		ip := addr.IP.String()
		if host == "" {
			ip, family = "::", "IPv6"
		}
		return map[string]any{"id": id, "port": addr.Port, "address": ip, "family": family}
	})
	set("netClose", func(id int) {
		if l := r.listeners[id]; l != nil {
			l.ln.Close()
			delete(r.listeners, id)
		}
	})
	set("netRef", func(id int, ref bool) {
		if l := r.listeners[id]; l != nil {
			l.ref = ref
		}
	})
}

// listening reports whether a ref'd server keeps the loop alive.
func (r *runtime) listening() bool {
	for _, l := range r.listeners {
		if l.ref {
			return true
		}
	}
	return false
}

func (r *runtime) closeListeners() {
	for id, l := range r.listeners {
		l.ln.Close()
		delete(r.listeners, id)
	}
}
