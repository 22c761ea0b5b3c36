package host

import (
	"testing"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// loopRecorder is a Handler with a loop of its own: heartbeats wait for it.
type loopRecorder struct {
	*recorder
	acks chan func()
}

func (r loopRecorder) Heartbeat(ack func()) { r.acks <- ack }

func TestHeartbeat(t *testing.T) {
	t.Run("answered by the reader", func(t *testing.T) {
		c, r, w, _ := pair(t)
		c.Start(newRecorder())
		for range 3 {
			if err := w.Write(frame.Frame{Type: frame.TypeHeartbeat}); err != nil {
				t.Fatal(err)
			}
			f, err := r.Read()
			if err != nil || f.Type != frame.TypeHeartbeatAck {
				t.Fatalf("got %v %v, want a heartbeat ack", f.Type, err)
			}
		}
	})
	t.Run("answered by the runtime's loop", func(t *testing.T) {
		c, r, w, _ := pair(t)
		rec := loopRecorder{newRecorder(), make(chan func(), 1)}
		c.Start(rec)
		if err := w.Write(frame.Frame{Type: frame.TypeHeartbeat}); err != nil {
			t.Fatal(err)
		}
		ack := wait(t, rec.acks)
		// Nothing is answered until the loop acks: a message the loop
		// sends first arrives first.
		sent := make(chan error, 1)
		go func() {
			sent <- c.Send([]byte{0x01})
			ack()
		}()
		for _, want := range []frame.Type{frame.TypeMessage, frame.TypeHeartbeatAck} {
			f, err := r.Read()
			if err != nil || f.Type != want {
				t.Fatalf("got %v %v, want %v", f.Type, err, want)
			}
		}
		if err := wait(t, sent); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFromEnvFrameSize(t *testing.T) {
	env := map[string]string{"ISOWASM_WORKER_ID": "2", frame.EnvMaxSize: "1048576"}
	cfg, ok, err := FromEnv(func(k string) string { return env[k] })
	if !ok || err != nil || cfg.MaxFrameSize != 1<<20 {
		t.Fatalf("%+v %v %v", cfg, ok, err)
	}
	env[frame.EnvMaxSize] = "lots"
	if _, _, err := FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a bad size was accepted")
	}
}
