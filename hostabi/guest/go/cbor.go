package isowasm

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
)

// Object is a JSON object that keeps its keys in order, as a JavaScript
// object does. Decoded maps are Objects; Marshal also takes map[string]any
// (its keys sorted: integer-like ones first in numeric order, as JavaScript
// orders them, then the others by bytes).
type Object []Member

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value any
}

// Obj builds an Object from alternating keys and values:
// Obj("type", "pong", "count", 2).
func Obj(keyValues ...any) Object {
	o := make(Object, 0, len(keyValues)/2)
	for i := 0; i+1 < len(keyValues); i += 2 {
		k, _ := keyValues[i].(string)
		o = append(o, Member{k, keyValues[i+1]})
	}
	return o
}

// Lookup returns the value of the last member named key (JSON.parse keeps
// the last of duplicate keys).
func (o Object) Lookup(key string) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].Key == key {
			return o[i].Value, true
		}
	}
	return nil, false
}

// Get returns the value named key, nil when there is none.
func (o Object) Get(key string) any {
	v, _ := o.Lookup(key)
	return v
}

// String returns the text value named key, "" when it is missing or not text.
func (o Object) String(key string) string {
	s, _ := o.Get(key).(string)
	return s
}

// Number returns the number named key, 0 when it is missing or not a number.
func (o Object) Number(key string) float64 {
	f, _ := o.Get(key).(float64)
	return f
}

// Set replaces the value named key, or appends it.
func (o Object) Set(key string, value any) Object {
	for i := range o {
		if o[i].Key == key {
			o[i].Value = value
			return o
		}
	}
	return append(o, Member{key, value})
}

// MaxNesting bounds arrays and objects nested in one message, as the
// primary's frames do.
const MaxNesting = 512

// Errors from Marshal and Unmarshal.
var (
	ErrUnsupported = errors.New("isowasm: value has no JSON form")
	ErrMalformed   = errors.New("isowasm: malformed CBOR message")
	ErrTooDeep     = errors.New("isowasm: message nested too deeply")
)

// Marshal encodes v as CBOR with JSON's semantics: nil, bool, string,
// Go integers and floats (NaN and ±Inf become null, integral values travel
// as integers), []any, []string, []float64, []int, Object and map[string]any.
func Marshal(v any) ([]byte, error) {
	return appendValue(make([]byte, 0, 64), v, 0)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > MaxNesting {
		return nil, ErrTooDeep
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, 0xf6), nil
	case bool:
		if x {
			return append(b, 0xf5), nil
		}
		return append(b, 0xf4), nil
	case string:
		return append(appendHead(b, 3, uint64(len(x))), x...), nil
	case int:
		return appendInt(b, int64(x)), nil
	case int8:
		return appendInt(b, int64(x)), nil
	case int16:
		return appendInt(b, int64(x)), nil
	case int32:
		return appendInt(b, int64(x)), nil
	case int64:
		return appendInt(b, x), nil
	case uint:
		return appendHead(b, 0, uint64(x)), nil
	case uint8:
		return appendHead(b, 0, uint64(x)), nil
	case uint16:
		return appendHead(b, 0, uint64(x)), nil
	case uint32:
		return appendHead(b, 0, uint64(x)), nil
	case uint64:
		return appendHead(b, 0, x), nil
	case float32:
		return appendFloat(b, float64(x)), nil
	case float64:
		return appendFloat(b, x), nil
	case []any:
		b = appendHead(b, 4, uint64(len(x)))
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case []string:
		b = appendHead(b, 4, uint64(len(x)))
		for _, e := range x {
			b = append(appendHead(b, 3, uint64(len(e))), e...)
		}
		return b, nil
	case []float64:
		b = appendHead(b, 4, uint64(len(x)))
		for _, e := range x {
			b = appendFloat(b, e)
		}
		return b, nil
	case []int:
		b = appendHead(b, 4, uint64(len(x)))
		for _, e := range x {
			b = appendInt(b, int64(e))
		}
		return b, nil
	case Object:
		return appendMembers(b, x, depth)
	case map[string]any:
		return appendMembers(b, sortedMembers(x), depth)
	case RawMessage:
		return append(b, x...), nil
	}
	return nil, ErrUnsupported
}

func appendMembers(b []byte, o Object, depth int) ([]byte, error) {
	var err error
	b = appendHead(b, 5, uint64(len(o)))
	for _, m := range o {
		b = append(appendHead(b, 3, uint64(len(m.Key))), m.Key...)
		if b, err = appendValue(b, m.Value, depth+1); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// sortedMembers are a map's members in JavaScript's key order.
func sortedMembers(m map[string]any) Object {
	o := make(Object, 0, len(m))
	for k, v := range m {
		o = append(o, Member{k, v})
	}
	slices.SortFunc(o, func(a, b Member) int { return compareKeys(a.Key, b.Key) })
	return o
}

// RawMessage is already encoded CBOR, copied as it is by Marshal; its
// Decode decodes it into a Go value.
type RawMessage []byte

// compareKeys orders keys as JavaScript orders an object's own keys:
// array indexes (canonical integers below 2^32-1) first, ascending.
func compareKeys(a, b string) int {
	ia, aok := arrayIndex(a)
	ib, bok := arrayIndex(b)
	switch {
	case aok && bok:
		return cmp.Compare(ia, ib)
	case aok:
		return -1
	case bok:
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func arrayIndex(s string) (uint64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n < math.MaxUint32
}

func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return appendBE(append(b, m|25), n, 2)
	case n <= math.MaxUint32:
		return appendBE(append(b, m|26), n, 4)
	}
	return appendBE(append(b, m|27), n, 8)
}

// appendBE appends the size low bytes of n, most significant first
// (encoding/binary would link reflect into every guest).
func appendBE(b []byte, n uint64, size int) []byte {
	for i := size - 1; i >= 0; i-- {
		b = append(b, byte(n>>(8*i)))
	}
	return b
}

func appendInt(b []byte, n int64) []byte {
	if n < 0 {
		return appendHead(b, 1, uint64(-(n + 1)))
	}
	return appendHead(b, 0, uint64(n))
}

// appendFloat writes a JavaScript number as JSON would keep it.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(b, 0xf6) // JSON.stringify gives null
	case f == math.Trunc(f) && math.Abs(f) <= 1<<53:
		return appendInt(b, int64(f)) // also -0 → 0
	case float64(float32(f)) == f:
		return appendBE(append(b, 0xfa), uint64(math.Float32bits(float32(f))), 4)
	}
	return appendBE(append(b, 0xfb), math.Float64bits(f), 8)
}

// Unmarshal decodes one CBOR message into nil, bool, float64 (every
// number, as JavaScript has it), string, []any or Object.
func Unmarshal(data []byte) (any, error) {
	d := decoder{data: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.off != len(data) {
		return nil, ErrMalformed
	}
	return v, nil
}

type decoder struct {
	data []byte
	off  int
}

// head reads an item head; n is its argument, indefinite its 31 marker.
func (d *decoder) head() (major byte, info byte, n uint64, err error) {
	if d.off >= len(d.data) {
		return 0, 0, 0, ErrMalformed
	}
	c := d.data[d.off]
	d.off++
	major, info = c>>5, c&0x1f
	size := 0
	switch {
	case info < 24:
		return major, info, uint64(info), nil
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	case info == 31 && major >= 2 && major <= 5, info == 31 && major == 7:
		return major, info, 0, nil
	default:
		return 0, 0, 0, ErrMalformed
	}
	if len(d.data)-d.off < size {
		return 0, 0, 0, ErrMalformed
	}
	for _, c := range d.data[d.off : d.off+size] {
		n = n<<8 | uint64(c)
	}
	d.off += size
	return major, info, n, nil
}

func (d *decoder) value(depth int) (any, error) {
	if depth > MaxNesting {
		return nil, ErrTooDeep
	}
	major, info, n, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		return float64(n), nil
	case 1:
		return -1 - float64(n), nil
	case 3:
		return d.text(info, n)
	case 4:
		var arr []any
		if info != 31 && n > uint64(len(d.data)-d.off) {
			return nil, ErrMalformed // each element takes a byte at least
		}
		arr = make([]any, 0, min(n, 1024))
		for i := uint64(0); info == 31 || i < n; i++ {
			if info == 31 && d.atBreak() {
				break
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	case 5:
		if info != 31 && n > uint64(len(d.data)-d.off)/2 {
			return nil, ErrMalformed
		}
		obj := make(Object, 0, min(n, 256))
		for i := uint64(0); info == 31 || i < n; i++ {
			if info == 31 && d.atBreak() {
				break
			}
			k, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, ErrUnsupported
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj = append(obj, Member{key, v})
		}
		return obj, nil
	case 7:
		switch info {
		case 20:
			return false, nil
		case 21:
			return true, nil
		case 22, 23:
			return nil, nil
		case 25:
			return halfToFloat(uint16(n)), nil
		case 26:
			return float64(math.Float32frombits(uint32(n))), nil
		case 27:
			return math.Float64frombits(n), nil
		}
		return nil, ErrUnsupported
	}
	return nil, ErrUnsupported // byte strings and tags have no JSON form
}

// atBreak consumes the break that ends an indefinite-length item.
func (d *decoder) atBreak() bool {
	if d.off < len(d.data) && d.data[d.off] == 0xff {
		d.off++
		return true
	}
	return false
}

func (d *decoder) text(info byte, n uint64) (string, error) {
	if info != 31 {
		if n > uint64(len(d.data)-d.off) {
			return "", ErrMalformed
		}
		s := string(d.data[d.off : d.off+int(n)])
		d.off += int(n)
		return s, nil
	}
	var buf []byte
	for !d.atBreak() {
		major, info, n, err := d.head()
		if err != nil || major != 3 || info == 31 || n > uint64(len(d.data)-d.off) {
			return "", ErrMalformed
		}
		buf = append(buf, d.data[d.off:d.off+int(n)]...)
		d.off += int(n)
	}
	return string(buf), nil
}

func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 31:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(frac+1024, exp-25)
}
