package frame

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// BenchmarkMessage measures a message of 1 KiB, 64 KiB and 1 MiB
// ({type: 'echo', n, data: "xx…"}, as isowasm-bench echoes) through each
// step of the hot path: marshal (Go value → CBOR payload), write (payload
// → wire, one frame), read (wire → frame, the body copied out) and
// unmarshal (payload → Go value, as the engine hands it to handlers).
func BenchmarkMessage(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
		msg := map[string]any{"type": "echo", "n": 1, "data": strings.Repeat("x", size.n)}
		payload, err := Marshal(msg)
		if err != nil {
			b.Fatal(err)
		}
		wire := AppendEncode(nil, Message(payload))
		b.Run(size.name+"/marshal", func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := Marshal(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/write", func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			w := NewWriter(io.Discard, 0)
			for b.Loop() {
				if err := w.Write(Message(payload)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/read", func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			rd := bytes.NewReader(nil)
			r := NewReader(rd, 0)
			for b.Loop() {
				rd.Reset(wire)
				if _, err := r.Read(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/unmarshal", func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				var v any
				if err := Unmarshal(payload, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
