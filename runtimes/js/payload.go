package js

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// Message payloads keep Node's default 'json' serialization: a value sent
// is JSON.stringify'd in JS and that text is transcoded here to CBOR; a
// payload received is transcoded to JSON text and JSON.parse'd. Going
// through JSON text gives exactly JSON.parse(JSON.stringify(v)) (toJSON,
// dropped fields, key order, NaN → null) with no second implementation of
// those rules, and JSON.stringify escapes lone surrogates, which travel as
// WTF-8 text.

var errPayload = errors.New("js: malformed payload")

// jsonToCBOR transcodes the output of JSON.stringify (well-formed JSON) to
// CBOR: integers as CBOR integers, other numbers as the shortest exact
// float, maps in the JSON's key order.
func jsonToCBOR(text string) ([]byte, error) {
	t := transcoder{s: text, out: make([]byte, 0, len(text)+16)}
	t.skipSpace()
	if err := t.value(0); err != nil {
		return nil, err
	}
	t.skipSpace()
	if t.i != len(t.s) {
		return nil, fmt.Errorf("%w: trailing text at %d", errPayload, t.i)
	}
	return t.out, nil
}

type transcoder struct {
	s   string
	i   int
	out []byte
}

func (t *transcoder) skipSpace() {
	for t.i < len(t.s) && (t.s[t.i] == ' ' || t.s[t.i] == '\n' || t.s[t.i] == '\t' || t.s[t.i] == '\r') {
		t.i++
	}
}

func (t *transcoder) value(depth int) error {
	if depth > frame.MaxNesting {
		return fmt.Errorf("%w: nested deeper than %d", errPayload, frame.MaxNesting)
	}
	if t.i >= len(t.s) {
		return fmt.Errorf("%w: unexpected end", errPayload)
	}
	switch c := t.s[t.i]; {
	case c == '{':
		return t.container(depth, 5, '}')
	case c == '[':
		return t.container(depth, 4, ']')
	case c == '"':
		return t.str()
	case c == 't' && t.lit("true"):
		t.out = append(t.out, 0xf5)
	case c == 'f' && t.lit("false"):
		t.out = append(t.out, 0xf4)
	case c == 'n' && t.lit("null"):
		t.out = append(t.out, 0xf6)
	case c == '-' || c >= '0' && c <= '9':
		return t.number()
	default:
		return fmt.Errorf("%w: unexpected %q at %d", errPayload, c, t.i)
	}
	return nil
}

func (t *transcoder) lit(word string) bool {
	if len(t.s)-t.i >= len(word) && t.s[t.i:t.i+len(word)] == word {
		t.i += len(word)
		return true
	}
	return false
}

// container writes an array (major 4) or a map (major 5) with a definite
// length: one header byte is reserved and widened once the count is known.
func (t *transcoder) container(depth int, major byte, end byte) error {
	t.i++
	at := len(t.out)
	t.out = append(t.out, 0)
	n := 0
	t.skipSpace()
	if t.i < len(t.s) && t.s[t.i] == end {
		t.i++
	} else {
		for {
			t.skipSpace()
			if major == 5 {
				if t.i >= len(t.s) || t.s[t.i] != '"' {
					return fmt.Errorf("%w: expected a key at %d", errPayload, t.i)
				}
				if err := t.str(); err != nil {
					return err
				}
				t.skipSpace()
				if t.i >= len(t.s) || t.s[t.i] != ':' {
					return fmt.Errorf("%w: expected ':' at %d", errPayload, t.i)
				}
				t.i++
				t.skipSpace()
			}
			if err := t.value(depth + 1); err != nil {
				return err
			}
			n++
			t.skipSpace()
			if t.i >= len(t.s) {
				return fmt.Errorf("%w: unexpected end", errPayload)
			}
			if t.s[t.i] == ',' {
				t.i++
				continue
			}
			if t.s[t.i] != end {
				return fmt.Errorf("%w: unexpected %q at %d", errPayload, t.s[t.i], t.i)
			}
			t.i++
			break
		}
	}
	head := frame.AppendHead(nil, major, uint64(n))
	if len(head) == 1 {
		t.out[at] = head[0]
		return nil
	}
	extra := len(head) - 1
	t.out = append(t.out, head[1:]...) // grow by extra bytes
	copy(t.out[at+len(head):], t.out[at+1:len(t.out)-extra])
	copy(t.out[at:], head)
	return nil
}

// str writes a JSON string as CBOR text; \uD800-style escapes of lone
// surrogates become their WTF-8 bytes.
func (t *transcoder) str() error {
	t.i++ // opening quote
	start := t.i
	// Fast path: no escapes.
	for t.i < len(t.s) && t.s[t.i] != '"' && t.s[t.i] != '\\' {
		t.i++
	}
	if t.i < len(t.s) && t.s[t.i] == '"' {
		t.out = frame.AppendHead(t.out, 3, uint64(t.i-start))
		t.out = append(t.out, t.s[start:t.i]...)
		t.i++
		return nil
	}
	buf := []byte(t.s[start:t.i])
	for {
		if t.i >= len(t.s) {
			return fmt.Errorf("%w: unterminated string", errPayload)
		}
		c := t.s[t.i]
		if c == '"' {
			t.i++
			break
		}
		if c != '\\' {
			buf = append(buf, c)
			t.i++
			continue
		}
		if t.i+1 >= len(t.s) {
			return fmt.Errorf("%w: unterminated escape", errPayload)
		}
		e := t.s[t.i+1]
		t.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := t.hex4()
			if !ok {
				return fmt.Errorf("%w: bad \\u escape at %d", errPayload, t.i)
			}
			if utf16.IsSurrogate(r) && r < 0xdc00 && t.i+6 <= len(t.s) && t.s[t.i] == '\\' && t.s[t.i+1] == 'u' {
				save := t.i
				t.i += 2
				if r2, ok := t.hex4(); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
					buf = utf8.AppendRune(buf, utf16.DecodeRune(r, r2))
					continue
				}
				t.i = save
			}
			buf = appendWTF8(buf, r)
		default:
			return fmt.Errorf("%w: bad escape at %d", errPayload, t.i)
		}
	}
	t.out = frame.AppendHead(t.out, 3, uint64(len(buf)))
	t.out = append(t.out, buf...)
	return nil
}

func (t *transcoder) hex4() (rune, bool) {
	if t.i+4 > len(t.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(t.s[t.i:t.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	t.i += 4
	return rune(v), true
}

// appendWTF8 encodes r as UTF-8, lone surrogates included (WTF-8).
func appendWTF8(b []byte, r rune) []byte {
	if utf16.IsSurrogate(r) {
		return append(b, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
	}
	return utf8.AppendRune(b, r)
}

func (t *transcoder) number() error {
	start := t.i
	isInt := true
	if t.s[t.i] == '-' {
		t.i++
	}
	for t.i < len(t.s) {
		c := t.s[t.i]
		if c >= '0' && c <= '9' {
			t.i++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
			isInt = false
			t.i++
			continue
		}
		break
	}
	text := t.s[start:t.i]
	if isInt {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			t.out = appendInt(t.out, v)
			return nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%w: bad number %q", errPayload, text)
	}
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		t.out = appendInt(t.out, int64(f))
		return nil
	}
	t.out = appendFloat(t.out, f)
	return nil
}

func appendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return frame.AppendHead(b, 0, uint64(v))
	}
	return frame.AppendHead(b, 1, uint64(-(v + 1)))
}

func appendFloat(b []byte, f float64) []byte {
	if f32 := float32(f); float64(f32) == f {
		return binary.BigEndian.AppendUint32(append(b, 0xfa), math.Float32bits(f32))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xfb), math.Float64bits(f))
}

// cborToJSON transcodes one CBOR item to JSON text for JSON.parse. Beyond
// what JSON can say: byte strings become Node's Buffer JSON form
// {"type":"Buffer","data":[…]}, undefined and NaN/±Infinity become null,
// -0 becomes 0, tags are dropped (bignums become numbers), non-text map
// keys become their JSON text.
func cborToJSON(data []byte) (string, error) {
	d := decoder{b: data, out: make([]byte, 0, len(data)+16)}
	if err := d.item(0); err != nil {
		return "", err
	}
	if d.i != len(d.b) {
		return "", fmt.Errorf("%w: %d bytes after the value", errPayload, len(d.b)-d.i)
	}
	return string(d.out), nil
}

type decoder struct {
	b   []byte
	i   int
	out []byte
}

func (d *decoder) head() (major byte, info byte, n uint64, err error) {
	if d.i >= len(d.b) {
		return 0, 0, 0, fmt.Errorf("%w: unexpected end", errPayload)
	}
	c := d.b[d.i]
	d.i++
	major, info = c>>5, c&0x1f
	switch {
	case info < 24:
		n = uint64(info)
	case info <= 27:
		size := 1 << (info - 24)
		if d.i+size > len(d.b) {
			return 0, 0, 0, fmt.Errorf("%w: unexpected end", errPayload)
		}
		for _, x := range d.b[d.i : d.i+size] {
			n = n<<8 | uint64(x)
		}
		d.i += size
	case info == 31:
		// indefinite length: n is unused
	default:
		return 0, 0, 0, fmt.Errorf("%w: reserved additional info %d", errPayload, info)
	}
	return major, info, n, nil
}

func (d *decoder) isBreak() bool {
	if d.i < len(d.b) && d.b[d.i] == 0xff {
		d.i++
		return true
	}
	return false
}

func (d *decoder) item(depth int) error {
	if depth > frame.MaxNesting {
		return fmt.Errorf("%w: nested deeper than %d", errPayload, frame.MaxNesting)
	}
	major, info, n, err := d.head()
	if err != nil {
		return err
	}
	switch major {
	case 0:
		d.out = strconv.AppendUint(d.out, n, 10)
	case 1:
		if n == math.MaxUint64 {
			d.out = append(d.out, "-18446744073709551616"...)
		} else {
			d.out = append(d.out, '-')
			d.out = strconv.AppendUint(d.out, n+1, 10)
		}
	case 2, 3:
		s, err := d.stringBytes(major, info, n)
		if err != nil {
			return err
		}
		if major == 3 {
			d.out = appendJSONString(d.out, s)
		} else {
			d.out = append(d.out, `{"type":"Buffer","data":[`...)
			for i, x := range s {
				if i > 0 {
					d.out = append(d.out, ',')
				}
				d.out = strconv.AppendUint(d.out, uint64(x), 10)
			}
			d.out = append(d.out, "]}"...)
		}
	case 4:
		d.out = append(d.out, '[')
		for k := uint64(0); info == 31 || k < n; k++ {
			if info == 31 && d.isBreak() {
				break
			}
			if k > 0 {
				d.out = append(d.out, ',')
			}
			if err := d.item(depth + 1); err != nil {
				return err
			}
		}
		d.out = append(d.out, ']')
	case 5:
		d.out = append(d.out, '{')
		for k := uint64(0); info == 31 || k < n; k++ {
			if info == 31 && d.isBreak() {
				break
			}
			if k > 0 {
				d.out = append(d.out, ',')
			}
			if err := d.key(depth + 1); err != nil {
				return err
			}
			d.out = append(d.out, ':')
			if err := d.item(depth + 1); err != nil {
				return err
			}
		}
		d.out = append(d.out, '}')
	case 6:
		if n == 2 || n == 3 { // bignums
			f, err := d.bignum(n == 3)
			if err != nil {
				return err
			}
			d.out = appendJSONFloat(d.out, f)
			return nil
		}
		return d.item(depth + 1)
	case 7:
		switch info {
		case 20:
			d.out = append(d.out, "false"...)
		case 21:
			d.out = append(d.out, "true"...)
		case 25:
			d.out = appendJSONFloat(d.out, float64(float16(uint16(n))))
		case 26:
			d.out = appendJSONFloat(d.out, float64(math.Float32frombits(uint32(n))))
		case 27:
			d.out = appendJSONFloat(d.out, math.Float64frombits(n))
		case 31:
			return fmt.Errorf("%w: unexpected break", errPayload)
		default: // null, undefined, other simple values
			d.out = append(d.out, "null"...)
		}
	}
	return nil
}

// key writes a map key as a JSON string.
func (d *decoder) key(depth int) error {
	if d.i < len(d.b) && d.b[d.i]>>5 == 3 {
		return d.item(depth)
	}
	at := len(d.out)
	if err := d.item(depth); err != nil {
		return err
	}
	k := string(d.out[at:])
	d.out = appendJSONString(d.out[:at], []byte(k))
	return nil
}

// bignum reads the byte string of a bignum tag as the nearest float.
func (d *decoder) bignum(negative bool) (float64, error) {
	major, info, m, err := d.head()
	if err != nil || major != 2 {
		return 0, fmt.Errorf("%w: bad bignum", errPayload)
	}
	s, err := d.stringBytes(2, info, m)
	if err != nil {
		return 0, err
	}
	v := new(big.Int).SetBytes(s)
	if negative {
		v.Neg(v).Sub(v, big.NewInt(1))
	}
	f, _ := new(big.Float).SetInt(v).Float64()
	return f, nil
}

func (d *decoder) stringBytes(major, info byte, n uint64) ([]byte, error) {
	if info != 31 {
		if n > uint64(len(d.b)-d.i) {
			return nil, fmt.Errorf("%w: unexpected end", errPayload)
		}
		s := d.b[d.i : d.i+int(n)]
		d.i += int(n)
		return s, nil
	}
	var s []byte
	for !d.isBreak() {
		m, inf, n, err := d.head()
		if err != nil {
			return nil, err
		}
		if m != major || inf == 31 {
			return nil, fmt.Errorf("%w: bad string chunk", errPayload)
		}
		part, err := d.stringBytes(m, inf, n)
		if err != nil {
			return nil, err
		}
		s = append(s, part...)
	}
	return s, nil
}

func float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch exp {
	case 0:
		f := float32(frac) / 1024 / 16384
		if sign != 0 {
			return -f
		}
		return f
	case 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// appendJSONFloat writes f as JSON.stringify would: NaN and ±Infinity are
// null, -0 is 0, integers have no fraction.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		return append(b, '0')
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes WTF-8 text s as JSON: surrogates encoded in it
// become \uXXXX escapes; invalid bytes become U+FFFD.
func appendJSONString(b []byte, s []byte) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		// WTF-8 surrogate: ED A0-BF xx.
		if c == 0xed && i+2 < len(s) && s[i+1] >= 0xa0 && s[i+1] <= 0xbf && s[i+2]&0xc0 == 0x80 {
			r := rune(c&0x0f)<<12 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f)
			b = append(b, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
			i += 3
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// cborToValue decodes one CBOR item straight into a JS value, with the
// conversions cborToJSON documents. Unlike JSON.parse in goja it keeps lone
// surrogates (WTF-8) in strings.
func cborToValue(vm *goja.Runtime, data []byte) (goja.Value, error) {
	d := decoder{b: data}
	v, err := d.value(vm, 0)
	if err != nil {
		return nil, err
	}
	if d.i != len(d.b) {
		return nil, fmt.Errorf("%w: %d bytes after the value", errPayload, len(d.b)-d.i)
	}
	return v, nil
}

func (d *decoder) value(vm *goja.Runtime, depth int) (goja.Value, error) {
	if depth > frame.MaxNesting {
		return nil, fmt.Errorf("%w: nested deeper than %d", errPayload, frame.MaxNesting)
	}
	major, info, n, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		if n <= 1<<53 {
			return vm.ToValue(int64(n)), nil
		}
		return vm.ToValue(float64(n)), nil
	case 1:
		if n < 1<<53 {
			return vm.ToValue(-1 - int64(n)), nil
		}
		return vm.ToValue(-1 - float64(n)), nil
	case 2:
		s, err := d.stringBytes(major, info, n)
		if err != nil {
			return nil, err
		}
		data := make([]any, len(s))
		for i, x := range s {
			data[i] = int64(x)
		}
		o := vm.NewObject()
		_ = o.Set("type", "Buffer")
		_ = o.Set("data", vm.NewArray(data...))
		return o, nil
	case 3:
		s, err := d.stringBytes(major, info, n)
		if err != nil {
			return nil, err
		}
		return jsString(vm, s), nil
	case 4:
		var items []any
		if info != 31 {
			items = make([]any, 0, min(n, uint64(len(d.b)-d.i)))
		}
		for k := uint64(0); info == 31 || k < n; k++ {
			if info == 31 && d.isBreak() {
				break
			}
			v, err := d.value(vm, depth+1)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		return vm.NewArray(items...), nil
	case 5:
		o := vm.NewObject()
		for k := uint64(0); info == 31 || k < n; k++ {
			if info == 31 && d.isBreak() {
				break
			}
			var key string
			if d.i < len(d.b) && d.b[d.i]>>5 == 3 {
				km, ki, kn, err := d.head()
				if err != nil {
					return nil, err
				}
				s, err := d.stringBytes(km, ki, kn)
				if err != nil {
					return nil, err
				}
				key = jsKeyString(vm, s)
			} else {
				// Any other key: its JSON text, as cborToJSON writes it.
				kd := decoder{b: d.b, i: d.i}
				if err := kd.item(depth + 1); err != nil {
					return nil, err
				}
				key = string(kd.out)
				d.i = kd.i
			}
			v, err := d.value(vm, depth+1)
			if err != nil {
				return nil, err
			}
			// An own property even for "__proto__", as JSON.parse makes.
			if err := o.DefineDataProperty(key, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
				return nil, err
			}
		}
		return o, nil
	case 6:
		if n == 2 || n == 3 {
			f, err := d.bignum(n == 3)
			if err != nil {
				return nil, err
			}
			return vm.ToValue(f), nil
		}
		return d.value(vm, depth+1)
	}
	switch info {
	case 20:
		return vm.ToValue(false), nil
	case 21:
		return vm.ToValue(true), nil
	case 25, 26, 27:
		var f float64
		switch info {
		case 25:
			f = float64(float16(uint16(n)))
		case 26:
			f = float64(math.Float32frombits(uint32(n)))
		default:
			f = math.Float64frombits(n)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return goja.Null(), nil
		}
		if f == 0 {
			f = 0 // -0 → 0
		}
		return vm.ToValue(f), nil
	case 31:
		return nil, fmt.Errorf("%w: unexpected break", errPayload)
	}
	return goja.Null(), nil
}

// jsKeyString is jsString(vm, s).String(), without the JS string when s
// has no lone surrogate (the usual key).
func jsKeyString(vm *goja.Runtime, s []byte) string {
	if wtf8Plain(s) {
		return string(s)
	}
	return jsString(vm, s).String()
}

// wtf8Plain reports whether s has no encoded surrogate (it is UTF-8, or
// invalid bytes Go's conversions turn into U+FFFD as JS's would).
func wtf8Plain(s []byte) bool {
	// IndexByte is vectorised: a 1 MiB string is scanned ten times faster
	// than byte by byte.
	for i := bytes.IndexByte(s, 0xed); i >= 0; {
		if i+1 < len(s) && s[i+1] >= 0xa0 {
			return false
		}
		next := bytes.IndexByte(s[i+1:], 0xed)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return true
}

// jsString makes a JS string from WTF-8 text: lone surrogates are kept,
// invalid bytes become U+FFFD.
func jsString(vm *goja.Runtime, s []byte) goja.Value {
	if wtf8Plain(s) {
		return vm.ToValue(string(s))
	}
	u := make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0xed && i+2 < len(s) && s[i+1] >= 0xa0 && s[i+1] <= 0xbf && s[i+2]&0xc0 == 0x80 {
			u = append(u, uint16(c&0x0f)<<12|uint16(s[i+1]&0x3f)<<6|uint16(s[i+2]&0x3f))
			i += 3
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		u = utf16.AppendRune(u, r)
		i += size
	}
	return vm.ToValue(goja.StringFromUTF16(u))
}

// valueToCBOR encodes a JS value as CBOR exactly as jsonToCBOR encodes
// JSON.stringify(v), without the JSON text: toJSON (called with its key),
// boxed primitives, undefined, functions and symbols dropped from objects
// and null in arrays, NaN and ±Infinity null, -0 as 0, integers as CBOR
// integers, own enumerable keys in the object's order, lone surrogates
// as WTF-8, BigInt and cycles as TypeErrors. Plain objects and arrays
// (the common case) are walked here; any other object (Date, Map,
// typed arrays, Buffer, errors, proxies, Go-backed host objects …) is
// handed, with its key, to goja's own JSON.stringify and the text
// transcoded, so their rules have one implementation. ok is false when
// the value serializes to nothing (undefined). A JS exception (from a
// toJSON, a getter) panics through as a goja exception; err is what
// jsonToCBOR would have reported on the text (nesting too deep).
func (r *runtime) valueToCBOR(v goja.Value) (out []byte, ok bool, err error) {
	e := valueEncoder{r: r, vm: r.vm, out: make([]byte, 0, 64)}
	defer func() {
		if x := recover(); x != nil {
			panic(r.circularError(x, v))
		}
	}()
	ok = e.str(jsKey{}, v, 0)
	if e.deep {
		return nil, false, fmt.Errorf("%w: nested deeper than %d", errPayload, frame.MaxNesting)
	}
	return e.out, ok, nil
}

const circularText = "Converting circular structure to JSON"

// circularError turns goja's circular-structure TypeError into V8's
// message (node/process.js's circularMessage, as its JSON.stringify
// does); any other panic value is returned as it is.
func (r *runtime) circularError(x any, root goja.Value) any {
	var o *goja.Object
	switch x := x.(type) {
	case *goja.Exception:
		o, _ = x.Value().(*goja.Object)
	case *goja.Object:
		o = x
	}
	if o == nil || !r.vm.InstanceOf(o, r.vm.Get("TypeError").ToObject(r.vm)) || o.Get("message").String() != circularText {
		return x
	}
	msg := circularText
	if f, ok := goja.AssertFunction(r.native.Get("circularMessage")); ok {
		res, err := f(goja.Undefined(), root)
		if err != nil {
			return err
		}
		if s := res.String(); s != "" {
			msg = s
		}
	}
	return r.vm.NewTypeError(msg)
}

var (
	reflectTypeMap     = reflect.TypeOf(map[string]any(nil))
	reflectTypeArray   = reflect.TypeOf([]any(nil))
	reflectTypeBool    = reflect.TypeOf(false)
	reflectTypeInt64   = reflect.TypeOf(int64(0))
	reflectTypeFloat64 = reflect.TypeOf(float64(0))
)

type valueEncoder struct {
	r     *runtime
	vm    *goja.Runtime
	out   []byte
	stack []*goja.Object
	deep  bool
}

// jsKey is the key a value is held under, as toJSON receives it: name,
// or str when the name has a lone surrogate Go strings cannot hold.
type jsKey struct {
	name string
	str  goja.Value
}

func (k jsKey) value(vm *goja.Runtime) goja.Value {
	if k.str != nil {
		return k.str
	}
	return vm.ToValue(k.name)
}

// plain reports whether o is an ordinary object or an array of this
// runtime, which str walks itself.
func plain(o *goja.Object) (object, array bool) {
	switch o.ClassName() {
	case "Object":
		return o.ExportType() == reflectTypeMap, false
	case "Array":
		return false, o.ExportType() == reflectTypeArray
	}
	return false, false
}

// str is JSON.stringify's SerializeJSONProperty for v held under key.
func (e *valueEncoder) str(key jsKey, v goja.Value, depth int) bool {
	switch x := v.(type) {
	case *goja.Object:
		if object, array := plain(x); !object && !array {
			return e.delegate(key, x, depth)
		}
		if tj, ok := x.Get("toJSON").(*goja.Object); ok {
			if f, ok := goja.AssertFunction(tj); ok {
				res, err := f(x, key.value(e.vm))
				if err != nil {
					panic(err)
				}
				return e.serialize(res, depth)
			}
		}
	default:
		if goja.IsBigInt(v) {
			if tj, ok := v.ToObject(e.vm).Get("toJSON").(*goja.Object); ok {
				if f, ok := goja.AssertFunction(tj); ok {
					res, err := f(v, key.value(e.vm))
					if err != nil {
						panic(err)
					}
					return e.serialize(res, depth)
				}
			}
		}
	}
	return e.serialize(v, depth)
}

// serialize is the rest of SerializeJSONProperty, once toJSON is applied.
func (e *valueEncoder) serialize(v goja.Value, depth int) bool {
	if o, ok := v.(*goja.Object); ok {
		switch o.ClassName() {
		case "Number":
			v = o.ToNumber()
		case "String":
			v = o.ToString()
		case "Boolean":
			if b, ok := o.Export().(bool); ok {
				v = e.vm.ToValue(b)
			}
		case "BigInt":
			panic(e.vm.NewTypeError("Do not know how to serialize a BigInt"))
		case "Symbol":
			return false
		}
	}
	if depth > frame.MaxNesting {
		e.deep = true
	}
	switch x := v.(type) {
	case nil:
		return false
	case goja.String:
		e.out = appendJSText(e.out, x)
		return true
	case *goja.Object:
		return e.object(x, depth)
	case *goja.Symbol:
		return false
	}
	switch {
	case goja.IsUndefined(v):
		return false
	case goja.IsNull(v):
		e.out = append(e.out, 0xf6)
		return true
	case goja.IsBigInt(v):
		panic(e.vm.NewTypeError("Do not know how to serialize a BigInt"))
	}
	// By the exported type, which boxes nothing (Export would allocate
	// for most numbers).
	switch v.ExportType() {
	case reflectTypeBool:
		if v.ToBoolean() {
			e.out = append(e.out, 0xf5)
		} else {
			e.out = append(e.out, 0xf4)
		}
	case reflectTypeInt64:
		e.out = appendInt(e.out, v.ToInteger())
	case reflectTypeFloat64:
		e.out = appendNumber(e.out, v.ToFloat())
	default:
		return false
	}
	return true
}

// appendNumber writes f as jsonToCBOR writes its JSON text: null for NaN
// and ±Infinity, an integer when the text has no fraction or exponent and
// its digits fit 64 bits (-0 is "0"), else the shortest exact float.
func appendNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(b, 0xf6)
	case f != math.Trunc(f):
		return appendFloat(b, f)
	case math.Abs(f) <= 1<<53:
		return appendInt(b, int64(f))
	case math.Abs(f) < 1e21:
		// Beyond 2^53 JS writes the shortest digits padded with zeros
		// (2^60 is 1152921504606847000): the integer of that text.
		if v, err := strconv.ParseInt(strconv.FormatFloat(f, 'f', -1, 64), 10, 64); err == nil {
			return appendInt(b, v)
		}
	}
	return appendFloat(b, f)
}

// appendJSText writes a JS string as CBOR text in WTF-8.
func appendJSText(b []byte, s goja.String) []byte {
	str := s.String()
	if !strings.Contains(str, "\ufffd") {
		b = frame.AppendHead(b, 3, uint64(len(str)))
		return append(b, str...)
	}
	// A U+FFFD may stand for a lone surrogate: use the UTF-16 units.
	n := s.Length()
	buf := make([]byte, 0, len(str))
	for i := 0; i < n; i++ {
		c := rune(s.CharAt(i))
		if utf16.IsSurrogate(c) && c < 0xdc00 && i+1 < n {
			if c2 := rune(s.CharAt(i + 1)); c2 >= 0xdc00 && c2 <= 0xdfff {
				buf = utf8.AppendRune(buf, utf16.DecodeRune(c, c2))
				i++
				continue
			}
		}
		buf = appendWTF8(buf, c)
	}
	b = frame.AppendHead(b, 3, uint64(len(buf)))
	return append(b, buf...)
}

// object writes an object or array held under key (after toJSON), or
// reports false for a function.
func (e *valueEncoder) object(o *goja.Object, depth int) bool {
	if o.ClassName() == "RawJSON" {
		return e.transcode(o.Get("rawJSON").String(), depth)
	}
	for _, p := range e.stack {
		if p == o {
			panic(e.vm.NewTypeError(circularText))
		}
	}
	if _, ok := goja.AssertFunction(o); ok {
		return false
	}
	e.stack = append(e.stack, o)
	defer func() { e.stack = e.stack[:len(e.stack)-1] }()
	at := len(e.out)
	e.out = append(e.out, 0)
	n := 0
	if o.ClassName() == "Array" {
		length := o.Get("length").ToInteger()
		length = min(max(length, 0), 1<<53-1)
		for i := range int(length) {
			if !e.str(jsKey{name: strconv.Itoa(i)}, o.Get(strconv.Itoa(i)), depth+1) {
				e.out = append(e.out, 0xf6)
			}
		}
		n = int(length)
		e.patchHead(at, 4, n)
		return true
	}
	keys := o.Keys()
	for _, k := range keys {
		if strings.Contains(k, "\ufffd") {
			// The name may hold a lone surrogate, lost in a Go string:
			// the keys as JS strings, the values through Reflect.get.
			n = e.exactKeys(o, depth)
			e.patchHead(at, 5, n)
			return true
		}
	}
	for _, k := range keys {
		mark := len(e.out)
		e.out = frame.AppendHead(e.out, 3, uint64(len(k)))
		e.out = append(e.out, k...)
		if e.str(jsKey{name: k}, o.Get(k), depth+1) {
			n++
		} else {
			e.out = e.out[:mark]
		}
	}
	e.patchHead(at, 5, n)
	return true
}

// exactKeys writes o's entries using its keys as JS strings; it returns
// how many it wrote.
func (e *valueEncoder) exactKeys(o *goja.Object, depth int) int {
	call := func(obj, name string, args ...goja.Value) goja.Value {
		f, _ := goja.AssertFunction(e.vm.Get(obj).ToObject(e.vm).Get(name))
		res, err := f(goja.Undefined(), args...)
		if err != nil {
			panic(err)
		}
		return res
	}
	keys := call("Object", "keys", o).ToObject(e.vm)
	count := 0
	for i := range int(keys.Get("length").ToInteger()) {
		k := keys.Get(strconv.Itoa(i))
		v := call("Reflect", "get", o, k)
		mark := len(e.out)
		e.out = appendJSText(e.out, k.(goja.String))
		if e.str(jsKey{name: k.String(), str: k}, v, depth+1) {
			count++
		} else {
			e.out = e.out[:mark]
		}
	}
	return count
}

// patchHead writes the header of a container of n items at at, where one
// byte was reserved, widening it when needed.
func (e *valueEncoder) patchHead(at int, major byte, n int) {
	var tmp [9]byte
	head := frame.AppendHead(tmp[:0], major, uint64(n))
	if len(head) == 1 {
		e.out[at] = head[0]
		return
	}
	extra := len(head) - 1
	e.out = append(e.out, head[1:]...)
	copy(e.out[at+len(head):], e.out[at+1:len(e.out)-extra])
	copy(e.out[at:], head)
}

// delegate serializes o held under key with goja's JSON.stringify (its
// toJSON included) and transcodes the text.
func (e *valueEncoder) delegate(key jsKey, o *goja.Object, depth int) bool {
	holder := e.vm.NewObject()
	name := key.name
	if key.str != nil {
		name = key.str.String()
	}
	if err := holder.DefineDataProperty(name, o, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
		panic(err)
	}
	text := e.stringify(holder)
	if len(text) <= 2 { // "{}": undefined
		return false
	}
	// {"name":VALUE}: the value starts after the quoted key and the colon.
	t := transcoder{s: text, i: 1, out: e.out}
	if err := t.str(); err != nil {
		panic(e.vm.NewGoError(err))
	}
	t.out = t.out[:len(e.out)] // drop the key
	t.i++                      // ':'
	err := t.value(depth)
	e.out = t.out
	if err != nil {
		if errors.Is(err, errPayload) && strings.Contains(err.Error(), "nested deeper") {
			e.deep = true
			return true
		}
		panic(e.vm.NewGoError(err))
	}
	return true
}

// transcode appends JSON text (a RawJSON's) as CBOR.
func (e *valueEncoder) transcode(text string, depth int) bool {
	t := transcoder{s: text, out: e.out}
	err := t.value(depth)
	e.out = t.out
	if err != nil {
		panic(e.vm.NewGoError(err))
	}
	return true
}

func (e *valueEncoder) stringify(v goja.Value) string {
	if e.r.stringify == nil {
		panic(e.vm.NewTypeError("isowasm: JSON.stringify is not captured"))
	}
	res, err := e.r.stringify(goja.Undefined(), v)
	if err != nil {
		panic(err)
	}
	return res.String()
}
