package isowasm

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

type point struct {
	X, Y int
}

type Base struct {
	ID   int    `cbor:"id"`
	Kind string `json:"kind"`
}

type task struct {
	Base
	Type     string            `cbor:"type"`
	Name     string            `cbor:"name,omitempty"`
	Count    uint16            `cbor:"count"`
	Ratio    float32           `cbor:"ratio"`
	Tags     []string          `cbor:"tags"`
	Where    *point            `cbor:"where"`
	Corners  [2]point          `cbor:"corners"`
	Extra    map[string]any    `cbor:"extra"`
	Labels   map[string]string `cbor:"labels"`
	Anything any               `cbor:"anything"`
	Nothing  *point            `cbor:"nothing"`
	Skipped  string            `cbor:"-"`
	Plain    bool
	hidden   int
}

// TestDecode: a message decodes into a struct as fxamacker/cbor decodes
// it (the host's codec), cbor tags and all.
func TestDecode(t *testing.T) {
	msg := map[string]any{
		"type": "task", "name": "n", "count": 7, "ratio": 0.5, "id": 3, "kind": "k",
		"tags":     []any{"a", "b"},
		"where":    map[string]any{"X": 1, "Y": -2},
		"corners":  []any{map[string]any{"x": 1}, map[string]any{"Y": 2}},
		"extra":    map[string]any{"n": 1.5, "list": []any{true, nil}},
		"labels":   map[string]any{"env": "prod"},
		"anything": []any{"x", 1},
		"nothing":  nil,
		"Skipped":  "no",
		"plain":    true,
		"unknown":  "ignored",
	}
	raw, err := Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var got task
	got.Nothing = &point{1, 1}
	if err := RawMessage(raw).Decode(&got); err != nil {
		t.Fatal(err)
	}
	var want task
	want.Nothing = &point{1, 1}
	if err := cbor.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	// Numbers in untyped places are float64 here, as in JavaScript, where
	// fxamacker gives uint64; objects are Objects, in order.
	want.Extra = map[string]any{"n": 1.5, "list": []any{true, nil}}
	want.Anything = []any{"x", 1.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode:\n %+v\nfxamacker/cbor:\n %+v", got, want)
	}
	if got.ID != 3 || got.Kind != "k" || got.Where == nil || *got.Where != (point{1, -2}) || got.Nothing != nil || got.Skipped != "" || !got.Plain {
		t.Errorf("Decode: %+v", got)
	}

	// The event's message decodes the same.
	x, _ := Unmarshal(raw)
	var fromEvent task
	if err := (&Event{Message: x}).Decode(&fromEvent); err != nil || !reflect.DeepEqual(fromEvent.Tags, []string{"a", "b"}) {
		t.Errorf("Event.Decode: %+v, %v", fromEvent, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		msg  any
		into any
		want string
	}{
		{Obj("count", "x"), &task{}, "isowasm: decoding .count: cannot store a string in a Go uint16"},
		{Obj("count", 70000), &task{}, "isowasm: decoding .count: the number 70000 does not fit a Go uint16"},
		{Obj("count", 1.5), &task{}, "isowasm: decoding .count: the number 1.5 does not fit a Go uint16"},
		{Obj("tags", []any{"a", 2}), &task{}, "isowasm: decoding .tags[1]: cannot store a number in a Go string"},
		{"text", &task{}, "isowasm: decoding the message: cannot store a string in a Go isowasm.task"},
		{Obj(), task{}, "isowasm: decoding the message: Decode needs a non-nil pointer, not isowasm.task"},
	}
	for _, c := range cases {
		raw, err := Marshal(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		err = RawMessage(raw).Decode(c.into)
		var de *DecodeError
		if !errors.As(err, &de) || err.Error() != c.want {
			t.Errorf("Decode(%v): %v, want %s", c.msg, err, c.want)
		}
	}
	if err := (RawMessage{0x62, 'a'}).Decode(&task{}); err != ErrMalformed {
		t.Errorf("Decode of garbage: %v", err)
	}
}

// TestObjectJSON: encoding/json marshals an Object as the object, keys in
// order, numbers as JSON.stringify writes them.
func TestObjectJSON(t *testing.T) {
	o := Obj("b", 1, "a", Obj("z", "\"q\"\n\x01é\xff", "list", []any{true, nil, 0.1, 1e21, 1e-7, -0.0, 2.5e-5}),
		"m", map[string]any{"y": 1, "10": 2, "2": 3}, "ints", []int{1, 2}, "f", float32(0.1))
	got, err := json.Marshal(map[string]any{"o": o})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"o":{"b":1,"a":{"z":"\"q\"\n\u0001é` + "\ufffd" + `","list":[true,null,0.1,1e+21,1e-7,0,0.000025]},"m":{"2":3,"10":2,"y":1},"ints":[1,2],"f":0.1}}`
	if string(got) != want {
		t.Errorf("json.Marshal:\n %s\nwant\n %s", got, want)
	}
	// It reads back as the same values.
	var back map[string]any
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(Obj("c", make(chan int))); err == nil || !strings.Contains(err.Error(), ErrUnsupported.Error()) {
		t.Errorf("json.Marshal of a channel: %v", err)
	}
}

// FuzzDecode: any bytes decode into a struct, a map or an interface, or
// fail with an error; never a panic.
func FuzzDecode(f *testing.F) {
	for _, v := range []any{Obj("type", "task", "count", 3, "tags", []any{"a"}, "where", Obj("X", 1)), []any{1, "x", nil}, "text", 1.5} {
		b, _ := Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s task
		var m map[string]any
		var x any
		for _, into := range []any{&s, &m, &x} {
			if err := RawMessage(b).Decode(into); err != nil && err != ErrMalformed && err != ErrUnsupported && err != ErrTooDeep {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("error %v of no known kind", err)
				}
			}
		}
	})
}
