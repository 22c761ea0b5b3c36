package process_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// The test binary is also the worker: started by a group (hostabi.EnvWorkerID
// set), it speaks the channel protocol itself, its behaviour chosen by
// args[0].
func TestMain(m *testing.M) {
	if os.Getenv(hostabi.EnvWorkerID) != "" {
		os.Exit(helperWorker(os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// helperWorker modes:
//
//	echo          says hello, echoes each message; answers {"cmd": …}
//	              messages (see below) and heartbeats; leaves when asked to
//	              disconnect
//	exit N        says hello, then exits with status N
//	never-hello   says nothing
//	wrong-cookie  says hello with a wrong cookie
//	wrong-id      says hello with another worker id
//	wrong-first   sends a message before its hello
//	garbage       says hello, then bytes that are no frame
//	oversize      says hello, then announces a 2 GiB frame
//	truncated     says hello, then half a frame, then closes its channel
//	not-cbor      says hello, then a message frame whose body is no CBOR
//	flood N SIZE  says hello, sends N messages of SIZE bytes as fast as the
//	              channel takes them, then "done"; then echoes
//
// Commands: "print" (lines on stdout and stderr), "env" (a message with the
// working directory, argv and HELPER_EXTRA), "listen", "leave"
// (exitedAfterDisconnect, then close), "chatter" (n messages and n lines
// interleaved), "problem" (a TypeError frame).
func helperWorker(args []string) int {
	id, _ := strconv.Atoi(os.Getenv(hostabi.EnvWorkerID))
	cookie := os.Getenv(hostabi.EnvCookie)
	mode := "echo"
	if len(args) > 0 {
		mode = args[0]
	}
	if mode == "never-hello" {
		time.Sleep(time.Hour) // until killed
		return 0
	}
	f := os.NewFile(hostabi.ChannelFD, "channel")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 100
	}
	conn := c.(*net.UnixConn)
	w := frame.NewWriter(conn, 0)
	send := func(t frame.Type, v any) {
		fr, err := frame.New(t, v)
		if err == nil {
			err = w.Write(fr)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: write:", err)
		}
	}
	message := func(v any) {
		b, _ := frame.Marshal(v)
		_ = w.Write(frame.Message(b))
	}
	hdr := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	hello := frame.Hello{Version: frame.Version, Cookie: cookie, PID: os.Getpid(), WorkerID: id}
	switch mode {
	case "wrong-cookie":
		hello.Cookie = "not-the-cookie"
	case "wrong-id":
		hello.WorkerID = id + 1
	case "wrong-first":
		message("too early")
		time.Sleep(time.Hour)
	}
	send(frame.TypeHello, hello)
	switch mode {
	case "wrong-cookie", "wrong-id":
		time.Sleep(time.Hour)
	case "exit":
		n, _ := strconv.Atoi(args[1])
		return n
	case "garbage":
		_, _ = conn.Write(append(hdr(8), 0xff, 0xff, 0xff, 0xff, 0x1c, 0x1d, 0x1e, 0x1f))
		time.Sleep(time.Hour)
	case "oversize":
		_, _ = conn.Write(hdr(1 << 31))
		time.Sleep(time.Hour)
	case "truncated":
		_, _ = conn.Write(append(hdr(100), 0xa2, 0x01, 0x02, 0x02))
		_ = conn.CloseWrite()
		time.Sleep(time.Hour)
	case "not-cbor":
		_ = w.Write(frame.Message([]byte{0xff, 0xfe}))
		time.Sleep(time.Hour)
	case "flood":
		n, _ := strconv.Atoi(args[1])
		size, _ := strconv.Atoi(args[2])
		b, _ := frame.Marshal(strings.Repeat("x", size))
		for range n {
			if err := w.Write(frame.Message(b)); err != nil {
				return 0
			}
		}
		message("done")
	}
	r := frame.NewReader(conn, 0)
	for {
		fr, err := r.Read()
		if err != nil {
			return 0 // the primary closed the channel
		}
		switch fr.Type {
		case frame.TypeDisconnect:
			conn.Close()
			return 0
		case frame.TypeHeartbeat:
			send(frame.TypeHeartbeatAck, nil)
			continue
		}
		var v any
		if err := frame.Unmarshal(fr.Body, &v); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 101
		}
		m, _ := v.(map[string]any)
		switch m["cmd"] {
		case "print":
			fmt.Println("out line 1")
			fmt.Fprintln(os.Stderr, "err line")
			fmt.Println("out line 2")
			message("printed")
		case "env":
			wd, _ := os.Getwd()
			message(map[string]any{"wd": wd, "argv": os.Args[1:], "extra": os.Getenv("HELPER_EXTRA")})
		case "listen":
			send(frame.TypeListening, frame.Listening{Address: "", Port: 8080, AddressType: 4})
		case "problem":
			send(frame.TypeError, frame.Problem{Code: "X", Message: "something odd"})
		case "chatter":
			n := int(m["n"].(int64))
			for i := range n {
				fmt.Println("line", i)
				message(i)
			}
			message("done")
		case "leave":
			send(frame.TypeExitedAfterDisconnect, nil)
			conn.Close()
			return 0
		default:
			_ = w.Write(frame.Message(fr.Body))
		}
	}
}
