package isowasm

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/isowasm/isowasm/hostabi/frame"
)

func TestMarshal(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want []byte
	}{
		{"null", nil, []byte{0xf6}},
		{"true", true, []byte{0xf5}},
		{"text", "ready", []byte{0x65, 'r', 'e', 'a', 'd', 'y'}},
		{"int", -100, []byte{0x38, 0x63}},
		{"integral float", 2.0, []byte{0x02}},
		{"negative zero", math.Copysign(0, -1), []byte{0x00}},
		{"NaN", math.NaN(), []byte{0xf6}},
		{"Inf", math.Inf(-1), []byte{0xf6}},
		{"float32-exact", 1.5, []byte{0xfa, 0x3f, 0xc0, 0, 0}},
		{"float64", 0.1, []byte{0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}},
		{"max safe", float64(1<<53 - 1), []byte{0x1b, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"object keeps order", Obj("b", 1, "a", 2), []byte{0xa2, 0x61, 'b', 0x01, 0x61, 'a', 0x02}},
		{"map sorts as JS", map[string]any{"b": 1, "10": 2, "2": 3, "a": 4}, []byte{0xa4, 0x61, '2', 0x03, 0x62, '1', '0', 0x02, 0x61, 'a', 0x04, 0x61, 'b', 0x01}},
		{"array", []any{"x", []int{1}, []string{"y"}}, []byte{0x83, 0x61, 'x', 0x81, 0x01, 0x81, 0x61, 'y'}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("Marshal = % x, want % x", got, c.want)
			}
		})
	}
	if _, err := Marshal(struct{}{}); err != ErrUnsupported {
		t.Errorf("Marshal(struct) error %v", err)
	}
	deep := any(nil)
	for range MaxNesting + 2 {
		deep = []any{deep}
	}
	if _, err := Marshal(deep); err != ErrTooDeep {
		t.Errorf("Marshal(too deep) error %v", err)
	}
}

// What the primary's codec encodes, the SDK decodes to the same values.
func TestUnmarshalPrimaryEncoding(t *testing.T) {
	in := map[string]any{
		"n": []any{0, -1, 24, 1 << 40, 1.5, 0.1, 65504.0, 1e300},
		"s": "é\u2028",
		"b": []any{true, false, nil},
		"o": map[string]any{"k": []any{}},
	}
	data, err := frame.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	want := Object{
		{"b", []any{true, false, nil}},
		{"n", []any{0.0, -1.0, 24.0, float64(1 << 40), 1.5, 0.1, 65504.0, 1e300}},
		{"o", Object{{"k", []any{}}}},
		{"s", "é\u2028"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Unmarshal = %#v\nwant %#v", got, want)
	}
	// Indefinite lengths and half floats.
	got, err = Unmarshal([]byte{0xbf, 0x7f, 0x61, 'k', 0xff, 0x9f, 0xf9, 0x3e, 0x00, 0xff, 0xff})
	if err != nil || !reflect.DeepEqual(got, Object{{"k", []any{1.5}}}) {
		t.Errorf("indefinite: %#v, %v", got, err)
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	for _, data := range [][]byte{nil, {0x01, 0x02}, {0x62, 'a'}, {0x41, 0}, {0xc1, 0x01}, {0xa1, 0x01, 0x02}, {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x1c}} {
		if v, err := Unmarshal(data); err == nil {
			t.Errorf("Unmarshal(% x) = %#v, want an error", data, v)
		}
	}
}

// Decoding never panics, and what decodes re-encodes to something the
// primary's codec reads as the same value.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte{0xa1, 0x61, 'a', 0x82, 0x01, 0xf6})
	f.Add([]byte{0xbf, 0x7f, 0x61, 'k', 0xff, 0x9f, 0xf9, 0x3e, 0x00, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Unmarshal(data)
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", v, err)
		}
		if err := frame.Valid(out); err != nil {
			t.Fatalf("re-encoding of % x is not valid CBOR: %v", data, err)
		}
		again, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		out2, _ := Marshal(again)
		if !bytes.Equal(out, out2) {
			t.Fatalf("not stable: % x then % x", out, out2)
		}
	})
}
