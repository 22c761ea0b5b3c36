package engine_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
)

// The test binary plays three parts: the tests; a fake worker when started
// by a primary (hostabi.EnvWorkerID set), its behaviour chosen by argv; and
// a primary of its own for the parent-death test (envHelperPrimary).
func TestMain(m *testing.M) {
	if os.Getenv(hostabi.EnvWorkerID) != "" {
		os.Exit(fakeWorker(os.Args[1:]))
	}
	if os.Getenv(envHelperPrimary) != "" {
		os.Exit(helperPrimary())
	}
	goleak.VerifyTestMain(m)
}

// fakeWorker runs a worker whose mode is args[0]. A hostile mode applies
// only to the worker ids listed in args[1] (comma-separated; all when
// absent or "*"): the others, replacements included, behave as "ready-echo".
//
//	ready-echo    says 'ready', echoes every message, obeys {"cmd": …} messages
//	idle          never says 'ready'; leaves when disconnected
//	never-hello   says nothing at all
//	wrong-cookie  says hello with a wrong cookie
//	garbage       says hello, then writes bytes that are no frame
//	oversize      says hello, then announces a 2 GiB frame
//	truncated     says hello, then half a frame, then closes its channel
//	exit N        says hello, then exits with status N
//	fatal         says hello, hands "Error: at start" to the primary as the
//	              error that ends it (printed if the primary did not ask), exits 1
//	die-early N   exits with status N before saying hello
//	deep          says hello, then sends a message nested 10,000 deep
//
// A ready-echo worker also obeys {"cmd": "hang"} (its reader blocks for
// good: no more frames read, no heartbeat answered), {"cmd": "bloat",
// "mib": N} (it holds N more MiB of touched memory), {"cmd": "flood",
// "size": N} (it sends {type: 'ping', pad: N bytes} as fast as the channel
// takes them, until it closes; pongs are not echoed) and {"cmd":
// "amplify", "n": N} (it sends an array of N nulls).
func fakeWorker(args []string) int {
	cfg, _, err := host.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		return 100
	}
	mode := "ready-echo"
	if len(args) > 0 {
		mode = args[0]
	}
	if mode != "ready-echo" && mode != "idle" && len(args) > 1 && args[1] != "*" &&
		!slices.Contains(strings.Split(args[1], ","), strconv.Itoa(cfg.WorkerID)) {
		mode = "ready-echo"
	}
	switch mode {
	case "never-hello":
		time.Sleep(time.Hour) // until the primary kills it
		return 0
	case "wrong-cookie":
		cfg.Cookie = "not-the-cookie"
	case "die-early":
		n, _ := strconv.Atoi(args[2])
		return n
	}
	f := os.NewFile(uintptr(cfg.FD), "channel")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		return 101
	}
	ch, err := host.New(cfg, conn, "fake")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		return 102
	}
	hdr := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	switch mode {
	case "wrong-cookie":
		time.Sleep(time.Hour)
	case "garbage":
		_, _ = conn.Write(append(hdr(8), 0xff, 0xff, 0xff, 0xff, 0x1c, 0x1d, 0x1e, 0x1f))
		time.Sleep(time.Hour)
	case "oversize":
		_, _ = conn.Write(hdr(1 << 31))
		time.Sleep(time.Hour)
	case "truncated":
		_, _ = conn.Write(append(hdr(100), 0xa2, 0x01, 0x02, 0x02))
		conn.(*net.UnixConn).CloseWrite()
		time.Sleep(time.Hour)
	case "exit":
		n, _ := strconv.Atoi(args[2])
		return n
	case "fatal":
		if !ch.Fatal("Error: at start\n") {
			fmt.Fprint(os.Stderr, "Error: at start\n")
		}
		return 1
	case "deep":
		deep := bytes.Repeat([]byte{0x81}, 10000) // arrays of one element…
		_ = ch.Send(append(deep, 0x00))           // …around a 0
		time.Sleep(time.Hour)
	}
	w := &echoWorker{ch: ch, done: make(chan struct{})}
	ch.Start(w)
	if mode != "idle" {
		w.send("ready")
	}
	<-w.done
	return 0
}

// ballast keeps what "bloat" allocated.
var ballast [][]byte

type echoWorker struct {
	ch   *host.Channel
	done chan struct{}
}

func (w *echoWorker) send(v any) {
	b, err := frame.Marshal(v)
	if err == nil {
		err = w.ch.Send(b)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake worker: send:", err)
	}
}

func (w *echoWorker) Message(payload []byte) {
	var v any
	if err := frame.Unmarshal(payload, &v); err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		os.Exit(103)
	}
	m, _ := v.(map[string]any)
	switch m["cmd"] {
	case "hang":
		select {} // the reader goroutine: nothing more is read
	case "bloat":
		b := make([]byte, int(m["mib"].(int64))<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		ballast = append(ballast, b)
		w.send("bloated")
	case "exit":
		os.Exit(int(m["code"].(int64)))
	case "leave": // cluster.worker.disconnect()
		_ = w.ch.Disconnect(true)
	case "argv":
		w.send(map[string]any{"argv": os.Args, "extra": os.Getenv("FAKE_EXTRA"), "fd": os.Getenv(hostabi.EnvChannelFD)})
	case "listen":
		_ = w.ch.Listening(frame.Listening{Address: "127.0.0.1", Port: 8080, AddressType: 4})
	case "flood":
		ping, _ := frame.Marshal(map[string]any{"type": "ping", "pad": strings.Repeat("x", int(m["size"].(int64)))})
		go func() { // for the life of the process
			for w.ch.Send(ping) == nil {
			}
		}()
	case "amplify":
		n := int(m["n"].(int64))
		_ = w.ch.Send(append(frame.AppendHead(nil, 4, uint64(n)), bytes.Repeat([]byte{0xf6}, n)...))
	case "print":
		fmt.Println("out line 1")
		fmt.Fprintln(os.Stderr, "err line")
		fmt.Println("out line 2")
	default:
		if m["type"] != "pong" {
			_ = w.ch.Send(payload)
		}
	}
}

func (w *echoWorker) DisconnectRequest() { _ = w.ch.Close() }

func (w *echoWorker) Closed(error) { close(w.done) }
