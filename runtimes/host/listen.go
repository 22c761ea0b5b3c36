package host

import (
	"context"
	"net"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// Listen opens a worker's server socket: TCP on host:port ("" is every
// address, as Node's default), or a Unix socket when path is set. With
// shared, the TCP socket is opened with SO_REUSEPORT, so that every worker
// listening on the same port shares it.
//
// This is how isowasm does what Node's cluster does by having the primary
// accept or hand out the socket, with no work in the primary: the kernel
// spreads incoming connections across the workers' sockets; a worker that
// dies closes its socket with it, so from then on no new connection goes
// there (only those already queued on it are lost, as they would be in
// flight on a dead Node worker); and its replacement binds the port again.
// Runtimes pass shared in a cluster worker, unless the script asked for an
// exclusive socket.
func Listen(host string, port int, path string, shared bool) (net.Listener, error) {
	if path != "" {
		return net.Listen("unix", path)
	}
	var lc net.ListenConfig
	if shared {
		lc.Control = reusePort
	}
	return lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
}

func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}

// ListeningFrame is what a worker tells the primary about a server it
// listens with (published there as workerListening), as Node's cluster
// reports it: a server on every address has no address and addressType 4;
// a Unix socket has addressType -1.
func ListeningFrame(ln net.Listener, host, path string) frame.Listening {
	if path != "" {
		return frame.Listening{Address: path, AddressType: -1}
	}
	addr := ln.Addr().(*net.TCPAddr)
	if host == "" {
		return frame.Listening{Port: addr.Port, AddressType: 4}
	}
	addressType := 4
	if addr.IP.To4() == nil {
		addressType = 6
	}
	return frame.Listening{Address: host, Port: addr.Port, AddressType: addressType}
}
