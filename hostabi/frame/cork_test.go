package frame

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// callWriter records each Write call it gets.
type callWriter struct {
	calls int
	buf   bytes.Buffer
	err   error
}

func (c *callWriter) Write(p []byte) (int, error) {
	c.calls++
	if c.err != nil {
		return 0, c.err
	}
	return c.buf.Write(p)
}

// textBody is the CBOR of a text string of n 'x's.
func textBody(n int) []byte {
	var b []byte
	switch {
	case n < 24:
		b = []byte{0x60 | byte(n)}
	case n < 256:
		b = []byte{0x78, byte(n)}
	case n < 65536:
		b = []byte{0x79, byte(n >> 8), byte(n)}
	default:
		b = []byte{0x7a, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(b, bytes.Repeat([]byte{'x'}, n)...)
}

// readAll reads every frame back and returns their body lengths.
func readAll(t *testing.T, data []byte) []int {
	t.Helper()
	r := NewReader(bytes.NewReader(data), 0)
	var lens []int
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			return lens
		}
		if err != nil {
			t.Fatal(err)
		}
		lens = append(lens, len(f.Body))
	}
}

func TestCork(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int // text lengths written while corked
		early bool  // whether anything reaches the stream before Flush
	}{
		{"small frames are held", []int{1, 10, 100, 1000}, false},
		{"a large body goes out at once, after what is held", []int{1, 20 << 10, 2}, true},
		{"held bytes reaching the limit flush", []int{10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 10 << 10, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cw callWriter
			w := NewWriter(&cw, 0)
			w.Cork()
			var want []int
			for _, n := range tt.sizes {
				body := textBody(n)
				if err := w.Write(Message(body)); err != nil {
					t.Fatal(err)
				}
				clear(body) // the caller may reuse its bytes at once
				want = append(want, len(textBody(n)))
			}
			if early := cw.calls > 0; early != tt.early {
				t.Errorf("%d writes to the stream before Flush, want some: %v", cw.calls, tt.early)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, cw.buf.Bytes())
			if len(got) != len(want) {
				t.Fatalf("read %d frames, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("frame %d: %d bytes, want %d", i, got[i], want[i])
				}
			}
			// Uncorked again: the next frame is written at once.
			before := cw.calls
			if err := w.Write(Message(textBody(3))); err != nil || cw.calls != before+1 {
				t.Errorf("after Flush a Write made %d calls (%v), want 1", cw.calls-before, err)
			}
		})
	}
}

func TestCorkOrder(t *testing.T) {
	var cw callWriter
	w := NewWriter(&cw, 64)
	w.Cork()
	if err := w.Write(Message(textBody(1))); err != nil {
		t.Fatal(err)
	}
	// Oversize: refused, nothing held for it, the cork goes on.
	var se *SizeError
	if err := w.Write(Message(textBody(100))); !errors.As(err, &se) {
		t.Fatalf("an oversize frame gave %v", err)
	}
	if err := w.Write(Message(textBody(2))); err != nil {
		t.Fatal(err)
	}
	// A batch goes after what is held.
	errs := make([]error, 1)
	if err := w.WriteBatch([]Frame{Message(textBody(3))}, errs); err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, cw.buf.Bytes())
	if want := []int{2, 3, 4}; !equalInts(got, want) {
		t.Errorf("frames of %v bytes, want %v", got, want)
	}
}

func TestCorkFlushError(t *testing.T) {
	cw := callWriter{err: errBroken}
	w := NewWriter(&cw, 0)
	w.Cork()
	if err := w.Write(Message(textBody(5))); err != nil {
		t.Fatalf("a held frame's Write gave %v", err)
	}
	if err := w.Flush(); !errors.Is(err, errBroken) {
		t.Fatalf("Flush = %v, want the stream's error", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("a second Flush = %v: the failed bytes were kept", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
