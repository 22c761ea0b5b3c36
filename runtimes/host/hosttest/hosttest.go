// Package hosttest plays a primary for one worker process in tests: it
// starts the process with its channel on descriptor hostabi.ChannelFD and
// the environment a primary gives, and hands back the primary's end.
package hosttest

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/isowasm/isowasm/hostabi"
)

// Cookie is the handshake cookie Start gives the worker.
const Cookie = "test"

// Start starts cmd as worker id (cmd.Env, when set, is kept and
// completed) and returns the primary's end of its channel.
func Start(tb testing.TB, cmd *exec.Cmd, id int) net.Conn {
	tb.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	parent := os.NewFile(uintptr(fds[0]), "primary")
	child := os.NewFile(uintptr(fds[1]), "worker")
	defer child.Close()
	conn, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{child}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env,
		hostabi.EnvWorkerID+"="+strconv.Itoa(id),
		hostabi.EnvCookie+"="+Cookie,
		hostabi.EnvChannelFD+"="+strconv.Itoa(hostabi.ChannelFD),
	)
	if err := cmd.Start(); err != nil {
		conn.Close()
		tb.Fatal(err)
	}
	return conn
}
