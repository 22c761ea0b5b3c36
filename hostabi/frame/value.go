package frame

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
)

// The fast paths of Marshal and Unmarshal: messages with JSON semantics
// (maps with text keys, arrays, text, integers, floats, booleans, null)
// into and out of a Go `any`, without reflection. Each gives exactly what
// the shared CBOR modes give, or declines (ok false) and the general codec
// does the work: anything else (tags, byte strings, indefinite lengths,
// undefined, integers beyond int64, deep nesting, bad input) goes there.
// FuzzFastUnmarshal and FuzzFastMarshal hold them to that.

// fastDepth is the deepest nesting the fast decoder handles itself, well
// under MaxNesting, so that the general decoder reports the limit.
const fastDepth = 64

// fastUnmarshal decodes data as decMode would into an `any`. over is true
// when it declined because data would decode to more than
// MaxDecodedOverhead (nothing that size was allocated): the general
// decoder must not be tried either.
func fastUnmarshal(data []byte) (v any, ok, over bool) {
	d := fastDecoder{data: data, left: MaxDecodedOverhead - itemCost}
	v, ok = d.value(0)
	if !ok || d.off != len(data) {
		return nil, false, d.left < 0
	}
	return v, true, false
}

type fastDecoder struct {
	data []byte
	off  int
	left int64 // of MaxDecodedOverhead; below 0, the decoder declines
}

// head reads an item's initial byte and argument (definite lengths only).
func (d *fastDecoder) head() (major byte, arg uint64, info byte, ok bool) {
	if d.off >= len(d.data) {
		return 0, 0, 0, false
	}
	b := d.data[d.off]
	d.off++
	major, info = b>>5, b&0x1f
	switch {
	case info < 24:
		return major, uint64(info), info, true
	case info == 24:
		if d.off+1 > len(d.data) {
			return 0, 0, 0, false
		}
		arg = uint64(d.data[d.off])
		d.off++
	case info == 25:
		if d.off+2 > len(d.data) {
			return 0, 0, 0, false
		}
		arg = uint64(binary.BigEndian.Uint16(d.data[d.off:]))
		d.off += 2
	case info == 26:
		if d.off+4 > len(d.data) {
			return 0, 0, 0, false
		}
		arg = uint64(binary.BigEndian.Uint32(d.data[d.off:]))
		d.off += 4
	case info == 27:
		if d.off+8 > len(d.data) {
			return 0, 0, 0, false
		}
		arg = binary.BigEndian.Uint64(d.data[d.off:])
		d.off += 8
	default:
		return 0, 0, 0, false // indefinite lengths, reserved values
	}
	return major, arg, info, true
}

func (d *fastDecoder) value(depth int) (any, bool) {
	major, arg, info, ok := d.head()
	if !ok {
		return nil, false
	}
	switch major {
	case 0:
		if arg > math.MaxInt64 {
			return nil, false
		}
		return int64(arg), true
	case 1:
		if arg > math.MaxInt64 {
			return nil, false
		}
		return -1 - int64(arg), true
	case 3:
		if arg <= internMax && arg <= uint64(len(d.data)-d.off) {
			// A short text value: shared, and already in an interface.
			e := intern(d.data[d.off : d.off+int(arg)])
			d.off += int(arg)
			return e.v, true
		}
		s, ok := d.text(arg)
		return s, ok
	case 4:
		// Every element takes a byte at least.
		if depth >= fastDepth || arg > uint64(len(d.data)-d.off) {
			return nil, false
		}
		if d.left -= int64(arg)*itemCost + containerCost; d.left < 0 {
			return nil, false
		}
		a := make([]any, arg)
		for i := range a {
			if a[i], ok = d.value(depth + 1); !ok {
				return nil, false
			}
		}
		return a, true
	case 5:
		if depth >= fastDepth || arg > uint64(len(d.data)-d.off)/2 {
			return nil, false
		}
		if d.left -= int64(arg)*(2*itemCost+pairCost) + containerCost; d.left < 0 {
			return nil, false
		}
		m := make(map[string]any, arg)
		for range arg {
			km, karg, _, ok := d.head()
			if !ok || km != 3 {
				return nil, false
			}
			k, ok := d.text(karg)
			if !ok {
				return nil, false
			}
			if m[k], ok = d.value(depth + 1); !ok {
				return nil, false
			}
		}
		return m, true
	case 7:
		switch info {
		case 20:
			return false, true
		case 21:
			return true, true
		case 22:
			return nil, true
		case 25:
			return halfToFloat64(uint16(arg)), true
		case 26:
			return float64(math.Float32frombits(uint32(arg))), true
		case 27:
			return math.Float64frombits(arg), true
		}
	}
	return nil, false
}

func (d *fastDecoder) text(n uint64) (string, bool) {
	if n > uint64(len(d.data)-d.off) {
		return "", false
	}
	b := d.data[d.off : d.off+int(n)]
	d.off += int(n)
	if len(b) <= internMax {
		return intern(b).s, true
	}
	return string(b), true
}

// Short texts (map keys above all: every message repeats its own) are
// shared through a small cache instead of being allocated each time: a
// slot per hash, the last text seen there. Strings are immutable, so
// handing the same one to many messages is safe.
const (
	internMax   = 24
	internSlots = 1024
)

// interned is a cached text, as a string and as an interface value.
type interned struct {
	s string
	v any
}

var internCache [internSlots]atomic.Pointer[interned]

func intern(b []byte) *interned {
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &internCache[h%internSlots]
	if e := slot.Load(); e != nil && e.s == string(b) {
		return e
	}
	s := string(b)
	e := &interned{s: s, v: s}
	slot.Store(e)
	return e
}

// What a decoded message costs the primary beyond the bytes of its
// strings, about, in the types Value gives: each data item sits in an
// interface (itemCost), each array or map has its header and its boxing
// (containerCost), and each map pair the map's own overhead (pairCost, on
// top of its key and value items). A tag decodes to a struct, a time or a
// big integer (tagCost). An array of nulls costs itemCost for each byte.
const (
	itemCost      = 16
	containerCost = 48
	pairCost      = 16
	tagCost       = 32
)

// MaxDecodedOverhead bounds that cost for one message: 4 Mi elements of
// an array, or half as many map pairs. Value and Unmarshal refuse a
// message over it with a *DecodedSizeError before decoding it, so that a
// worker cannot make the primary spend many times the bytes it sent (a
// 57 MiB array of nulls would take 900 MiB decoded); Node's JSON messages
// amplify too, but only a few times.
const MaxDecodedOverhead = 64 << 20

// DecodedSizeError says a message would decode to more than
// MaxDecodedOverhead; it wraps ErrTooLarge.
type DecodedSizeError struct {
	Size int // bytes of the message
}

func (e *DecodedSizeError) Error() string {
	return fmt.Sprintf("frame: a message of %d bytes holds too many elements: decoded they would take over %d MiB, the limit per message",
		e.Size, MaxDecodedOverhead>>20)
}

func (e *DecodedSizeError) Unwrap() error { return ErrTooLarge }

// CheckDecodedSize returns a *DecodedSizeError when data, a well-formed
// message, would decode to more than MaxDecodedOverhead, without decoding
// it. A decoder that builds its own values (a JavaScript primary's) calls
// it first; Value and Unmarshal check for themselves.
func CheckDecodedSize(data []byte) error {
	s := costScanner{data: data, left: MaxDecodedOverhead}
	if !s.item(0) && s.left < 0 {
		return &DecodedSizeError{Size: len(data)}
	}
	return nil
}

// costScanner walks CBOR items charging their cost, allocating nothing.
// It stops at the first item over the budget (left < 0) or malformed
// (the decoder reports those).
type costScanner struct {
	data []byte
	off  int
	left int64
}

// item walks one data item; false stops the walk.
func (s *costScanner) item(depth int) bool {
	if depth > MaxNesting || s.off >= len(s.data) {
		return false
	}
	if s.left -= itemCost; s.left < 0 {
		return false
	}
	d := fastDecoder{data: s.data, off: s.off}
	b := s.data[s.off]
	major, info := b>>5, b&0x1f
	if info == 31 { // indefinite length: items (or chunks) up to a break
		s.off++
		if major == 4 || major == 5 {
			if s.left -= containerCost; s.left < 0 {
				return false
			}
		}
		for s.off < len(s.data) && s.data[s.off] != 0xff {
			if major == 5 {
				if s.left -= pairCost; s.left < 0 || !s.item(depth+1) {
					return false
				}
			}
			if !s.item(depth + 1) {
				return false
			}
		}
		s.off++
		return s.off <= len(s.data)
	}
	major, arg, _, ok := d.head()
	if !ok {
		return false
	}
	s.off = d.off
	switch major {
	case 2, 3:
		if arg > uint64(len(s.data)-s.off) {
			return false
		}
		s.off += int(arg)
	case 4, 5:
		n := arg
		if major == 5 {
			if arg > uint64(len(s.data)-s.off)/2 {
				return false
			}
			if s.left -= int64(arg) * pairCost; s.left < 0 {
				return false
			}
			n = 2 * arg
		} else if arg > uint64(len(s.data)-s.off) {
			return false
		}
		if s.left -= containerCost; s.left < 0 {
			return false
		}
		for range n {
			if !s.item(depth + 1) {
				return false
			}
		}
	case 6:
		if s.left -= tagCost; s.left < 0 {
			return false
		}
		s.left += itemCost // the content is the tag's own item
		return s.item(depth + 1)
	}
	return true
}

// halfToFloat64 widens an IEEE 754 half-precision value.
func halfToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24) // ±0 and subnormals
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}

// fastMarshal appends v's encoding as encMode would give it, for the
// types a decoded message holds and the ones programs build messages
// from.
func fastMarshal(dst []byte, v any, depth int) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(dst, 0xf6), true
	case bool:
		if x {
			return append(dst, 0xf5), true
		}
		return append(dst, 0xf4), true
	case string:
		return append(AppendHead(dst, 3, uint64(len(x))), x...), true
	case int:
		return appendInt(dst, int64(x)), true
	case int64:
		return appendInt(dst, x), true
	case int32:
		return appendInt(dst, int64(x)), true
	case uint64:
		return AppendHead(dst, 0, x), true
	case uint32:
		return AppendHead(dst, 0, uint64(x)), true
	case float64:
		return appendFloat(dst, x), true
	case []any:
		if depth >= fastDepth {
			return dst, false
		}
		dst = AppendHead(dst, 4, uint64(len(x)))
		for _, e := range x {
			var ok bool
			if dst, ok = fastMarshal(dst, e, depth+1); !ok {
				return dst, false
			}
		}
		return dst, true
	case map[string]any:
		if depth >= fastDepth {
			return dst, false
		}
		dst = AppendHead(dst, 5, uint64(len(x)))
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		// Bytewise order of the encoded keys: the head grows with the
		// length, so shorter keys first, then byte order.
		slices.SortFunc(keys, func(a, b string) int {
			if len(a) != len(b) {
				return len(a) - len(b)
			}
			return strings.Compare(a, b)
		})
		for _, k := range keys {
			dst = append(AppendHead(dst, 3, uint64(len(k))), k...)
			var ok bool
			if dst, ok = fastMarshal(dst, x[k], depth+1); !ok {
				return dst, false
			}
		}
		return dst, true
	}
	return dst, false
}

// AppendHead appends the head of a CBOR item: its major type (0-7) and
// argument n (a length, a count or the integer itself) in the shortest form.
// Encoders that write CBOR by hand (runtimes/js, runtimes/wasm) use it.
func AppendHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= math.MaxUint8:
		return append(dst, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), n)
}

func appendInt(dst []byte, n int64) []byte {
	if n >= 0 {
		return AppendHead(dst, 0, uint64(n))
	}
	return AppendHead(dst, 1, uint64(-1-n))
}

// appendFloat writes f in the shortest of half, single and double
// precision that holds it exactly; NaN as the half 0x7e00, infinities as
// halves (the encMode's options).
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, 0xf9, 0x7e, 0x00)
	case math.IsInf(f, 1):
		return append(dst, 0xf9, 0x7c, 0x00)
	case math.IsInf(f, -1):
		return append(dst, 0xf9, 0xfc, 0x00)
	}
	f32 := float32(f)
	if float64(f32) != f {
		return binary.BigEndian.AppendUint64(append(dst, 0xfb), math.Float64bits(f))
	}
	if h, ok := exactHalf(f32); ok {
		return binary.BigEndian.AppendUint16(append(dst, 0xf9), h)
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xfa), math.Float32bits(f32))
}

// exactHalf returns the half-precision bits of f when f is exactly one.
func exactHalf(f float32) (uint16, bool) {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23&0xff) - 127
	mant := bits & 0x7fffff
	switch {
	case bits&0x7fffffff == 0:
		return sign, true // ±0
	case exp >= -14 && exp <= 15:
		// Normal half: 10 bits of fraction.
		if mant&0x1fff != 0 {
			return 0, false
		}
		return sign | uint16(exp+15)<<10 | uint16(mant>>13), true
	case exp >= -24 && exp < -14:
		// Subnormal half: the value is frac × 2^-24, frac < 1024.
		full := mant | 0x800000 // the implicit bit
		shift := uint(-exp - 14 + 13)
		if full&(1<<shift-1) != 0 {
			return 0, false
		}
		return sign | uint16(full>>shift), true
	}
	return 0, false
}
