package frame

import (
	"bytes"
	"errors"
	"testing"
)

type failAfter struct {
	n   int
	buf bytes.Buffer
}

var errBroken = errors.New("broken")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		f.buf.Write(p[:f.n])
		n := f.n
		f.n = 0
		return n, errBroken
	}
	f.n -= len(p)
	return f.buf.Write(p)
}

func TestWriteBatch(t *testing.T) {
	big := append([]byte{0x5a, 0x00, 0x01, 0x00, 0x00}, bytes.Repeat([]byte{'x'}, 1<<16)...)
	frames := []Frame{
		Message([]byte{0x01}),
		{Type: 0},
		Message(big),
		{Type: TypeHeartbeatAck},
		Message(bytes.Repeat([]byte{0x01}, 300)), // over the limit below
		Message([]byte{0x63, 'a', 'b', 'c'}),
		Message(big),
		Message([]byte{0xf6}),
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, 1<<17)
	frames[4] = Message(append([]byte{0x5a, 0x00, 0x02, 0x00, 0x00}, bytes.Repeat([]byte{'y'}, 1<<17)...))
	errs := make([]error, len(frames))
	for round := 0; round < 2; round++ {
		buf.Reset()
		if err := w.WriteBatch(frames, errs); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(errs[1], ErrMalformed) || !errors.Is(errs[4], ErrTooLarge) {
			t.Fatalf("errs = %v", errs)
		}
		r := NewReader(&buf, 0)
		for i, f := range frames {
			if errs[i] != nil {
				continue
			}
			got, err := r.Read()
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if got.Type != f.Type || !bytes.Equal(got.Body, f.Body) {
				t.Fatalf("frame %d differs", i)
			}
		}
		if buf.Len() != 0 {
			t.Fatalf("%d bytes left", buf.Len())
		}
	}

	// A write that breaks: the frames wholly written succeed, the others fail.
	fw := &failAfter{n: len(AppendEncode(nil, frames[0])) + 3}
	w = NewWriter(fw, 1<<17)
	if err := w.WriteBatch(frames, errs); !errors.Is(err, errBroken) {
		t.Fatalf("err = %v", err)
	}
	if errs[0] != nil || !errors.Is(errs[2], errBroken) || !errors.Is(errs[7], errBroken) || !errors.Is(errs[4], ErrTooLarge) {
		t.Fatalf("errs = %v", errs)
	}
}

// The fast path of Parse agrees with the general decoding on every input.
func FuzzParseAgrees(f *testing.F) {
	for _, v := range vectors {
		f.Add(AppendEncode(nil, v.f)[headerSize:])
	}
	f.Add([]byte{0xa1, 0x01, 0x02})
	f.Add([]byte{0xa2, 0x01, 0x02, 0x02, 0x62, 0x61})
	f.Add([]byte{0xa2, 0x01, 0x07, 0x02, 0xf6})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err1 := Parse(data)
		want, err2 := parseGeneral(data)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Parse: %v, general: %v", err1, err2)
		}
		if err1 == nil && (got.Type != want.Type || !bytes.Equal(got.Body, want.Body)) {
			t.Fatalf("Parse: %v %x, general: %v %x", got.Type, got.Body, want.Type, want.Body)
		}
	})
}
