package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// Test vectors: the exact bytes of a few frames, so a guest or a peer written
// in another language can check its encoder against them.
var vectors = []struct {
	name string
	f    Frame
	hex  string
}{
	{"disconnect", Frame{Type: TypeDisconnect}, "00000003a10103"},
	{"message ready", Message([]byte("\x65ready")), "0000000aa201020265" + hex.EncodeToString([]byte("ready"))},
	{"message {count:1}", Message([]byte{0xa1, 0x65, 'c', 'o', 'u', 'n', 't', 0x01}), "0000000ca2010202a165636f756e7401"},
	{"exitedAfterDisconnect", Frame{Type: TypeExitedAfterDisconnect}, "00000003a10104"},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := NewWriter(&buf, 0).Write(v.f); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(buf.Bytes()); got != v.hex {
				t.Fatalf("encoded %s, want %s", got, v.hex)
			}
			if got := hex.EncodeToString(AppendEncode(nil, v.f)); got != v.hex {
				t.Fatalf("AppendEncode %s, want %s", got, v.hex)
			}
			f, err := NewReader(&buf, 0).Read()
			if err != nil {
				t.Fatal(err)
			}
			if f.Type != v.f.Type || !bytes.Equal(f.Body, v.f.Body) {
				t.Fatalf("decoded %+v, want %+v", f, v.f)
			}
		})
	}
}

func TestRoundTripBodies(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	tests := []struct {
		name string
		v    any
	}{
		{"string", "ready"},
		{"map", map[string]any{"type": "ping", "n": int64(3)}},
		{"nested", map[string]any{"a": []any{int64(1), "b", nil, true, 1.5}}},
		{"1 MiB string", big},
		{"max safe integer", int64(1<<53 - 1)},
		{"tiny float", 5e-324},
		{"huge float", 1.797e308},
	}
	var buf bytes.Buffer
	w, r := NewWriter(&buf, 0), NewReader(&buf, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(Message(payload)); err != nil {
				t.Fatal(err)
			}
			f, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := Unmarshal(f.Body, &got); err != nil {
				t.Fatal(err)
			}
			want, _ := Marshal(tt.v)
			again, _ := Marshal(got)
			if !bytes.Equal(want, again) {
				t.Fatalf("round trip changed the value: %v", got)
			}
		})
	}
}

func TestStructBodies(t *testing.T) {
	f, err := New(TypeHello, Hello{Version: Version, Cookie: "c", PID: 7, WorkerID: 2, Runtime: "js"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := NewWriter(&buf, 0).Write(f); err != nil {
		t.Fatal(err)
	}
	got, err := NewReader(&buf, 0).Read()
	if err != nil {
		t.Fatal(err)
	}
	var h Hello
	if err := got.Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h != (Hello{Version: Version, Cookie: "c", PID: 7, WorkerID: 2, Runtime: "js"}) {
		t.Fatalf("hello = %+v", h)
	}
}

func TestLimits(t *testing.T) {
	t.Run("oversize send is refused and the writer survives", func(t *testing.T) {
		var buf bytes.Buffer
		w := NewWriter(&buf, 64)
		err := w.Write(Message(bytes.Repeat([]byte{0x01}, 100)))
		var se *SizeError
		if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want a SizeError", err)
		}
		if buf.Len() != 0 {
			t.Fatalf("%d bytes written for a refused frame", buf.Len())
		}
		if err := w.Write(Message([]byte{0x01})); err != nil {
			t.Fatalf("writer broken after a refusal: %v", err)
		}
	})
	t.Run("huge length prefix costs no memory", func(t *testing.T) {
		r := NewReader(bytes.NewReader([]byte{0x7f, 0xff, 0xff, 0xff, 0xa1}), math.MaxInt32)
		if _, err := r.Read(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v, want unexpected EOF", err)
		}
		if cap(r.buf) > 1<<20 {
			t.Fatalf("reader allocated %d bytes for a 1-byte stream", cap(r.buf))
		}
	})
	t.Run("length over the limit", func(t *testing.T) {
		r := NewReader(bytes.NewReader([]byte{0x01, 0x00, 0x00, 0x00}), 1024)
		if _, err := r.Read(); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("nesting over the limit", func(t *testing.T) {
		body := append(bytes.Repeat([]byte{0x81}, MaxNesting+10), 0x01)
		data := AppendEncode(nil, Message(body))
		if _, err := NewReader(bytes.NewReader(data), 0).Read(); !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v, want ErrMalformed", err)
		}
	})
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"clean EOF", nil, io.EOF},
		{"cut header", []byte{0x00, 0x00}, io.ErrUnexpectedEOF},
		{"cut body", []byte{0x00, 0x00, 0x00, 0x05, 0xa1}, io.ErrUnexpectedEOF},
		{"not a map", []byte{0x00, 0x00, 0x00, 0x01, 0x01}, ErrMalformed},
		{"unknown type", []byte{0x00, 0x00, 0x00, 0x03, 0xa1, 0x01, 0x0b}, ErrMalformed},
		{"zero type", []byte{0x00, 0x00, 0x00, 0x03, 0xa1, 0x01, 0x00}, ErrMalformed},
		{"message without body", []byte{0x00, 0x00, 0x00, 0x03, 0xa1, 0x01, 0x02}, ErrMalformed},
		{"trailing bytes", []byte{0x00, 0x00, 0x00, 0x04, 0xa1, 0x01, 0x03, 0x00}, ErrMalformed},
		{"body not well-formed", []byte{0x00, 0x00, 0x00, 0x06, 0xa2, 0x01, 0x02, 0x02, 0x62, 0x61}, ErrMalformed},
		{"garbage", []byte("\x00\x00\x00\x04\xff\xff\xff\xff"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.data), 0).Read()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnknownTypeRefusedOnWrite(t *testing.T) {
	if err := NewWriter(io.Discard, 0).Write(Frame{Type: 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, v := range vectors {
		f.Add(AppendEncode(nil, v.f))
	}
	f.Add(AppendEncode(nil, Frame{Type: TypeHeartbeat}))
	f.Add(AppendEncode(nil, Frame{Type: TypeHeartbeatAck}))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add(append([]byte{0, 0, 0, 200}, bytes.Repeat([]byte{0x81}, 200)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 1<<16)
		for {
			fr, err := r.Read()
			if err != nil {
				return
			}
			// Whatever decodes must encode again to a frame that decodes the same.
			again, err := NewReader(bytes.NewReader(AppendEncode(nil, fr)), 1<<16).Read()
			if err != nil {
				t.Fatalf("re-encoded frame does not decode: %v", err)
			}
			if again.Type != fr.Type || !bytes.Equal(again.Body, fr.Body) {
				t.Fatalf("re-encoded frame differs")
			}
			var v any
			_ = Unmarshal(fr.Body, &v)
		}
	})
}

func BenchmarkWriteSmall(b *testing.B) {
	payload, _ := Marshal(map[string]any{"type": "ping", "n": 1})
	w := NewWriter(io.Discard, 0)
	for b.Loop() {
		_ = w.Write(Message(payload))
	}
}

func BenchmarkReadSmall(b *testing.B) {
	payload, _ := Marshal(map[string]any{"type": "ping", "n": 1})
	one := AppendEncode(nil, Message(payload))
	rd := bytes.NewReader(nil)
	r := NewReader(rd, 0)
	for b.Loop() {
		rd.Reset(one)
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}
