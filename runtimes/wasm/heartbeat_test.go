package wasm_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// The worker answers heartbeats from its loop, in order with messages; a
// guest spinning in an export stops answering (and the primary kills it).
func TestHeartbeatFromTheLoop(t *testing.T) {
	p := fork(t, fixture("spin"), cacheDir)
	p.readyAfterHello(t)
	echo, _ := frame.Marshal("echo me")
	p.w.Write(frame.Message(echo))
	p.w.Write(frame.Frame{Type: frame.TypeHeartbeat})
	if f := p.read(t); f.Type != frame.TypeMessage {
		t.Fatalf("got %s, want the echo first", f.Type)
	}
	if f := p.read(t); f.Type != frame.TypeHeartbeatAck {
		t.Fatalf("got %s, want a heartbeat ack", f.Type)
	}
	p.w.Write(frame.Message([]byte{0x01})) // spins
	p.w.Write(frame.Frame{Type: frame.TypeHeartbeat})
	// A bounded check of silence, not a synchronisation: nothing may come.
	p.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if f, err := p.r.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a spinning guest answered: %s %v", f.Type, err)
	}
	p.cmd.Process.Kill()
	p.wait(t)
}
