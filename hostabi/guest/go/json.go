package isowasm

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON writes the object as JSON with its keys in order, as
// JSON.stringify would, so that encoding/json marshals an Object (and
// values holding one) as the object it is, not as a list of members. The
// values may be what Marshal takes; others are ErrUnsupported. (Written
// here rather than with encoding/json so that the SDK does not link it.)
func (o Object) MarshalJSON() ([]byte, error) {
	return appendJSON(make([]byte, 0, 64), o, 0)
}

func appendJSON(b []byte, v any, depth int) ([]byte, error) {
	if depth > MaxNesting {
		return nil, ErrTooDeep
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendJSONString(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float32:
		return appendJSONNumber(b, float64(x), 32), nil
	case float64:
		return appendJSONNumber(b, x, 64), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, e)
		}
		return append(b, ']'), nil
	case []float64:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONNumber(b, e, 64)
		}
		return append(b, ']'), nil
	case []int:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(e), 10)
		}
		return append(b, ']'), nil
	case Object:
		return appendJSONMembers(b, x, depth)
	case map[string]any:
		return appendJSONMembers(b, sortedMembers(x), depth)
	}
	return nil, ErrUnsupported
}

func appendJSONMembers(b []byte, o Object, depth int) ([]byte, error) {
	var err error
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, m.Key), ':')
		if b, err = appendJSON(b, m.Value, depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendJSONNumber writes a number as JSON.stringify does: null for NaN
// and infinities, integers without a fraction, the shortest form that
// reads back otherwise (exponents past 1e21 and below 1e-6).
func appendJSONNumber(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		return append(b, '0') // -0 too
	}
	abs := math.Abs(f)
	if abs < 1e21 && abs >= 1e-6 {
		return strconv.AppendFloat(b, f, 'f', -1, bits)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, bits)
	// Go writes e-07 and e+21; JavaScript e-7 and e+21.
	for i := start; i < len(b)-2; i++ {
		if b[i] == 'e' && b[i+2] == '0' {
			b = append(b[:i+2], b[i+3:]...)
			break
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as JSON.stringify does (invalid UTF-8 becomes
// U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
