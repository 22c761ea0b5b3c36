package frame

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"testing"
)

// general decodes and encodes with the shared modes only, the reference
// the fast paths must agree with.
func generalUnmarshal(data []byte) (any, error) {
	var v any
	err := decMode.Unmarshal(data, &v)
	return v, err
}

// sameValue is reflect.DeepEqual with NaN equal to NaN.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

var valueSeeds = [][]byte{
	{0x01}, {0x20}, {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x1b, 0xff, 0, 0, 0, 0, 0, 0, 0},
	{0xf9, 0x3c, 0x00}, {0xf9, 0x00, 0x01}, {0xf9, 0x83, 0xff}, {0xf9, 0x7e, 0x00}, {0xf9, 0xfc, 0x00},
	{0xfa, 0x3f, 0x80, 0, 0}, {0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a},
	{0xf4}, {0xf5}, {0xf6}, {0xf7}, {0xe0}, {0x41, 1}, {0x60}, {0x80}, {0xa0},
	{0xa2, 0x61, 'a', 1, 0x61, 'a', 2},                             // a duplicate key: the last wins
	{0xa2, 0x61, 'b', 0x82, 0x01, 0x61, 'x', 0x62, 'a', 'a', 0xf6}, // nested
	{0xa1, 0x01, 0x02},             // a non-text key
	{0x9f, 0x01, 0xff},             // indefinite
	{0xc1, 0x01},                   // a tag
	{0x01, 0x02},                   // trailing bytes
	{0x9a, 0xff, 0xff, 0xff, 0xff}, // a huge count
	{0x63, 'a'},                    // short text
	{0x62, 0xed, 0xa0},             // invalid UTF-8 (a lone surrogate's start)
}

func TestFastUnmarshal(t *testing.T) {
	for _, data := range valueSeeds {
		want, wantErr := generalUnmarshal(data)
		got, ok, _ := fastUnmarshal(data)
		if ok && (wantErr != nil || !sameValue(got, want)) {
			t.Errorf("%x: fast %#v, general %#v (%v)", data, got, want, wantErr)
		}
		// Through Unmarshal: the same as the general decoder either way.
		var v any
		err := Unmarshal(data, &v)
		if (err == nil) != (wantErr == nil) || err == nil && !sameValue(v, want) {
			t.Errorf("%x: Unmarshal %#v (%v), general %#v (%v)", data, v, err, want, wantErr)
		}
	}
	// The common case is handled fast.
	for _, data := range [][]byte{{0xa2, 0x61, 'n', 0x05, 0x64, 't', 'y', 'p', 'e', 0x64, 'p', 'o', 'n', 'g'}, {0xf9, 0x3e, 0x00}} {
		if _, ok, _ := fastUnmarshal(data); !ok {
			t.Errorf("%x declined", data)
		}
	}
}

func TestFastMarshal(t *testing.T) {
	values := []any{
		nil, true, false, "", "x", "héllo", 0, 23, 24, 255, 256, 65536, -1, -25, math.MaxInt64, math.MinInt64, int64(-5), int32(7), uint64(math.MaxUint64), uint32(9),
		0.0, math.Copysign(0, -1), 1.5, 1.1, 65504.0, 65505.0, 100000.0, 1e300, 5e-324, math.SmallestNonzeroFloat32, 5.960464477539063e-08, 6.097555160522461e-05, math.NaN(), math.Inf(1), math.Inf(-1),
		[]any{}, []any{nil, 1, "a"}, map[string]any{}, map[string]any{"b": 1, "aa": 2, "a": 3, "type": "ping", "n": 5},
		map[string]any{"deep": []any{map[string]any{"x": []any{1.25}}}},
	}
	for _, v := range values {
		want, err := encMode.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := fastMarshal(nil, v, 0)
		if !ok {
			t.Errorf("%#v declined", v)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%#v: fast %x, general %x", v, got, want)
		}
	}
	// Anything else is the general encoder's.
	for _, v := range []any{[]byte{1}, int8(1), float32(1.5), struct{ A int }{1}, []any{[]byte{1}}} {
		if _, ok := fastMarshal(nil, v, 0); ok {
			t.Errorf("%#v was taken", v)
		}
		want, _ := encMode.Marshal(v)
		if got, err := Marshal(v); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Marshal(%#v) = %x, %v; want %x", v, got, err, want)
		}
	}
}

// FuzzFastUnmarshal: whatever the fast decoder accepts, the general one
// decodes to the same value, and the cost scanner (which must take any
// input) finds within the budget.
func FuzzFastUnmarshal(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		over := CheckDecodedSize(data)
		got, ok, _ := fastUnmarshal(data)
		if !ok {
			return
		}
		if over != nil {
			t.Fatalf("%x: fast decoded, but CheckDecodedSize: %v", data, over)
		}
		want, err := generalUnmarshal(data)
		if err != nil || !sameValue(got, want) {
			t.Fatalf("%x: fast %#v, general %#v (%v)", data, got, want, err)
		}
	})
}

// FuzzFastMarshal: for every value the general decoder makes, the fast
// encoder, when it takes it, writes the general encoder's bytes.
func FuzzFastMarshal(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := generalUnmarshal(data)
		if err != nil {
			return
		}
		got, ok := fastMarshal(nil, v, 0)
		if !ok {
			return
		}
		want, err := encMode.Marshal(v)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%#v: fast %x, general %x (%v)", v, got, want, err)
		}
	})
}

// TestFastUnmarshalAllocs: a typical small message costs its map and no
// more (short texts, keys and values, come from the intern cache; small
// integers need no box).
func TestFastUnmarshalAllocs(t *testing.T) {
	data := []byte{0xa2, 0x61, 'n', 0x05, 0x64, 't', 'y', 'p', 'e', 0x64, 'p', 'o', 'n', 'g'}
	if _, err := Value(data); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Value(data); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations to decode a small message, want at most 2 (the map)", allocs)
	}
}

func TestIntern(t *testing.T) {
	a, b := intern([]byte("type")), intern([]byte("type"))
	if a != b || a.s != "type" || a.v != any("type") {
		t.Errorf("intern(type) = %+v then %+v", a, b)
	}
	// Texts sharing a slot replace each other and stay correct.
	for i := range 5000 {
		s := strconv.Itoa(i)
		if got := intern([]byte(s)); got.s != s || got.v != any(s) {
			t.Fatalf("intern(%q) = %+v", s, got)
		}
	}
}

// TestDecodedSizeBudget: a message of many small elements, which would
// decode to many times its size, is refused whichever decoder would have
// taken it, having cost at most the budget (nothing, when one array or
// map is too large); one within the budget decodes.
func TestDecodedSizeBudget(t *testing.T) {
	over := MaxDecodedOverhead/itemCost + 1 // elements
	array := func(n int, elem ...byte) []byte {
		b := AppendHead(nil, 4, uint64(n))
		return append(b, bytes.Repeat(elem, n)...)
	}
	indefinite := append(append([]byte{0x9f}, bytes.Repeat([]byte{0xf6}, over)...), 0xff)
	nested := AppendHead(nil, 4, uint64(over/1024+1)) // small arrays, many of them
	for range over/1024 + 1 {
		nested = append(nested, array(1024, 0x00)...)
	}
	pairs := MaxDecodedOverhead/(2*itemCost+pairCost) + 1
	mapOf := AppendHead(nil, 5, uint64(pairs))
	for i := range pairs {
		mapOf = append(AppendHead(mapOf, 3, 4), byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
		mapOf = append(mapOf, 0xf6)
	}
	tagged := append([]byte{0x82, 0xc1, 0x00}, array(over, 0xf6)...) // a tag first: the general decoder's
	for _, tc := range []struct {
		name    string
		data    []byte
		upfront bool // refused before anything is decoded
	}{
		{"nulls", array(over, 0xf6), true},
		{"zeros", array(over, 0x00), true},
		{"indefinite", indefinite, true},
		{"nested", nested, false},
		{"map", mapOf, true},
		{"tagged", tagged, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Valid(tc.data); err != nil {
				t.Fatalf("the test message is not well-formed: %v", err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			v, err := Value(tc.data)
			runtime.ReadMemStats(&after)
			var se *DecodedSizeError
			if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) || se.Size != len(tc.data) {
				t.Fatalf("Value = %T, %v; want a *DecodedSizeError", v, err)
			}
			limit := uint64(MaxDecodedOverhead + MaxDecodedOverhead/8)
			if tc.upfront {
				limit = 1 << 20
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > limit {
				t.Errorf("refusing a %d-byte message allocated %d bytes, want at most %d", len(tc.data), grew, limit)
			}
			var x any
			if err := Unmarshal(tc.data, &x); !errors.As(err, &se) {
				t.Errorf("Unmarshal into any: %v", err)
			}
			var typed []any
			if err := Unmarshal(tc.data, &typed); !errors.As(err, &se) {
				t.Errorf("Unmarshal into a slice: %v", err)
			}
			if err := CheckDecodedSize(tc.data); !errors.As(err, &se) {
				t.Errorf("CheckDecodedSize: %v", err)
			}
		})
	}
	t.Run("within", func(t *testing.T) {
		data := array(over/2, 0x00)
		if v, err := Value(data); err != nil || len(v.([]any)) != over/2 {
			t.Fatalf("Value: %v", err)
		}
		if err := CheckDecodedSize(data); err != nil {
			t.Fatal(err)
		}
		if err := CheckDecodedSize(append([]byte{0xc1}, data...)); err != nil {
			t.Fatal(err)
		}
	})
}
