package wasm

import (
	"strings"
	"testing"

	"github.com/isowasm/isowasm/hostabi/frame"
)

func TestCheckPayload(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string // "" accepted, else a part of the error
	}{
		{"text", []byte{0x65, 'r', 'e', 'a', 'd', 'y'}, ""},
		{"map", []byte{0xa1, 0x61, 'a', 0x82, 0x01, 0xf6}, ""},
		{"floats", []byte{0x83, 0xf9, 0x3c, 0x00, 0xfa, 0x3f, 0x80, 0, 0, 0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}, ""},
		{"negative, bools", []byte{0x83, 0x38, 0x63, 0xf4, 0xf5}, ""},
		{"indefinite text, array, map", []byte{0xbf, 0x7f, 0x61, 'k', 0xff, 0x9f, 0x7f, 0x61, 'a', 0x61, 'b', 0xff, 0xff, 0xff}, ""},
		{"empty", nil, "not well-formed CBOR"},
		{"break alone", []byte{0xff, 0x00}, "not well-formed CBOR"},
		{"two values", []byte{0x01, 0x02}, "not well-formed CBOR"},
		{"cut short", []byte{0x62, 'a'}, "not well-formed CBOR"},
		{"byte string", []byte{0x41, 0x00}, "a byte string at byte 0"},
		{"tag", []byte{0x81, 0xc1, 0x01}, "a tag (1) at byte 1"},
		{"undefined", []byte{0xf7}, "undefined at byte 0"},
		{"simple", []byte{0xf0}, "the simple value 16"},
		{"integer key", []byte{0xa1, 0x01, 0x02}, "a map key at byte 1 is not text"},
		{"nested key", []byte{0x81, 0xbf, 0x61, 'a', 0xa1, 0x80, 0x00, 0xff}, "a map key at byte 5 is not text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkPayload(c.data)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// Nothing well-formed makes the walker panic, and whatever it accepts the
// primary's codec decodes.
func FuzzCheckPayload(f *testing.F) {
	for _, seed := range [][]byte{{0x65, 'r', 'e', 'a', 'd', 'y'}, {0xbf, 0x61, 'a', 0x9f, 0x01, 0xff, 0xff}, {0xa1, 0x61, 'a', 0xf9, 0x7e, 0x00}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkPayload(data) != nil {
			return
		}
		var v any
		if err := frame.Unmarshal(data, &v); err != nil {
			t.Fatalf("accepted % x, which the primary cannot decode: %v", data, err)
		}
	})
}
