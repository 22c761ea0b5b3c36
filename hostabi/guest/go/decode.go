package isowasm

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Decoding into Go values uses reflect, which a guest links only if it
// calls Decode: a guest that reads messages as Object pays nothing.

// Decode decodes the message into v, a non-nil pointer, as
// encoding/json's Unmarshal would: struct fields by their `cbor` tag (else
// their `json` tag, else their name; an exact match first, then one that
// ignores case; "-" skips the field), unknown fields ignored, numbers into
// any integer or float type that holds them exactly, null leaving v's
// target as it is (nil for a pointer, slice, map or interface).
func (m RawMessage) Decode(v any) error {
	x, err := Unmarshal(m)
	if err != nil {
		return err
	}
	return DecodeValue(x, v)
}

// Decode decodes the event's message into v, as RawMessage.Decode does.
func (e *Event) Decode(v any) error { return DecodeValue(e.Message, v) }

// DecodeValue stores x, a value as Unmarshal returns it (nil, bool,
// float64, string, []any, Object; map[string]any too), in v, a non-nil
// pointer, as RawMessage.Decode does.
func DecodeValue(x, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &DecodeError{Path: "", Problem: "Decode needs a non-nil pointer, not " + typeName(rv)}
	}
	return assign(rv.Elem(), x, "")
}

// DecodeError says where and why a message did not fit the Go value.
type DecodeError struct {
	Path    string // where in the message: ".items[2].name"; "" for the whole
	Problem string
}

func (e *DecodeError) Error() string {
	where := e.Path
	if where == "" {
		where = "the message"
	}
	return "isowasm: decoding " + where + ": " + e.Problem
}

func typeName(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	return v.Type().String()
}

func mismatch(path string, x any, dst reflect.Value) error {
	what := "null"
	switch x.(type) {
	case bool:
		what = "a boolean"
	case float64:
		what = "a number"
	case string:
		what = "a string"
	case []any:
		what = "an array"
	case Object, map[string]any:
		what = "an object"
	}
	return &DecodeError{Path: path, Problem: "cannot store " + what + " in a Go " + dst.Type().String()}
}

func assign(dst reflect.Value, x any, path string) error {
	if x == nil {
		switch dst.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			dst.SetZero()
		}
		return nil
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return assign(dst.Elem(), x, path)
	case reflect.Interface:
		if dst.NumMethod() != 0 {
			return mismatch(path, x, dst)
		}
		dst.Set(reflect.ValueOf(x))
		return nil
	case reflect.Bool:
		b, ok := x.(bool)
		if !ok {
			return mismatch(path, x, dst)
		}
		dst.SetBool(b)
		return nil
	case reflect.String:
		s, ok := x.(string)
		if !ok {
			return mismatch(path, x, dst)
		}
		dst.SetString(s)
		return nil
	case reflect.Float32, reflect.Float64:
		f, ok := x.(float64)
		if !ok {
			return mismatch(path, x, dst)
		}
		dst.SetFloat(f)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, ok := x.(float64)
		if !ok {
			return mismatch(path, x, dst)
		}
		if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 || dst.OverflowInt(int64(f)) {
			return &DecodeError{Path: path, Problem: "the number " + strconv.FormatFloat(f, 'g', -1, 64) + " does not fit a Go " + dst.Type().String()}
		}
		dst.SetInt(int64(f))
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		f, ok := x.(float64)
		if !ok {
			return mismatch(path, x, dst)
		}
		if f != math.Trunc(f) || f < 0 || f >= 1<<64 || dst.OverflowUint(uint64(f)) {
			return &DecodeError{Path: path, Problem: "the number " + strconv.FormatFloat(f, 'g', -1, 64) + " does not fit a Go " + dst.Type().String()}
		}
		dst.SetUint(uint64(f))
		return nil
	case reflect.Slice:
		arr, ok := x.([]any)
		if !ok {
			return mismatch(path, x, dst)
		}
		s := reflect.MakeSlice(dst.Type(), len(arr), len(arr))
		for i, e := range arr {
			if err := assign(s.Index(i), e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		dst.Set(s)
		return nil
	case reflect.Array:
		arr, ok := x.([]any)
		if !ok {
			return mismatch(path, x, dst)
		}
		for i := range dst.Len() {
			if i >= len(arr) {
				dst.Index(i).SetZero()
				continue
			}
			if err := assign(dst.Index(i), arr[i], path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if dst.Type().Key().Kind() != reflect.String {
			return &DecodeError{Path: path, Problem: "a Go " + dst.Type().String() + " has keys that are not strings"}
		}
		members, ok := objectMembers(x)
		if !ok {
			return mismatch(path, x, dst)
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(dst.Type(), len(members)))
		}
		for _, m := range members {
			e := reflect.New(dst.Type().Elem()).Elem()
			if err := assign(e, m.Value, path+"."+m.Key); err != nil {
				return err
			}
			dst.SetMapIndex(reflect.ValueOf(m.Key).Convert(dst.Type().Key()), e)
		}
		return nil
	case reflect.Struct:
		members, ok := objectMembers(x)
		if !ok {
			return mismatch(path, x, dst)
		}
		fields := fieldsOf(dst.Type())
		for _, m := range members {
			f := fields.lookup(m.Key)
			if f == nil {
				continue
			}
			fv, err := fieldByIndex(dst, f.index)
			if err != nil {
				return &DecodeError{Path: path + "." + m.Key, Problem: err.Error()}
			}
			if err := assign(fv, m.Value, path+"."+m.Key); err != nil {
				return err
			}
		}
		return nil
	}
	return &DecodeError{Path: path, Problem: "a Go " + dst.Type().String() + " has no JSON form"}
}

func objectMembers(x any) ([]Member, bool) {
	switch o := x.(type) {
	case Object:
		return o, true
	case map[string]any:
		return sortedMembers(o), true
	}
	return nil, false
}

// fieldByIndex is reflect.Value.FieldByIndex that allocates nil embedded
// struct pointers on the way.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return v, &DecodeError{Problem: "cannot set an embedded pointer to an unexported struct"}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

type field struct {
	name  string
	index []int
}

type structFields struct {
	list   []field
	byName map[string]*field
}

// lookup finds a field by its exact name, else ignoring case.
func (s *structFields) lookup(name string) *field {
	if f := s.byName[name]; f != nil {
		return f
	}
	for i := range s.list {
		if strings.EqualFold(s.list[i].name, name) {
			return &s.list[i]
		}
	}
	return nil
}

var fieldCache sync.Map // reflect.Type → *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	s := &structFields{byName: map[string]*field{}}
	collectFields(t, nil, s, map[reflect.Type]bool{})
	for i := range s.list {
		if _, dup := s.byName[s.list[i].name]; !dup {
			s.byName[s.list[i].name] = &s.list[i]
		}
	}
	fieldCache.Store(t, s)
	return s
}

// collectFields lists t's fields by message name, an embedded struct's
// untagged fields promoted as encoding/json promotes them (shallower
// fields first).
func collectFields(t reflect.Type, index []int, s *structFields, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	var embedded []reflect.StructField
	for i := range t.NumField() {
		sf := t.Field(i)
		name, tagged := tagName(sf)
		if name == "-" {
			continue
		}
		if sf.Anonymous && !tagged {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, sf)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		s.list = append(s.list, field{name: name, index: append(append([]int(nil), index...), i)})
	}
	for _, sf := range embedded {
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		collectFields(ft, append(append([]int(nil), index...), sf.Index...), s, seen)
	}
}

// tagName is a field's name in messages from its cbor tag, else its json
// tag ("" when neither names it).
func tagName(sf reflect.StructField) (name string, tagged bool) {
	for _, key := range []string{"cbor", "json"} {
		if tag, ok := sf.Tag.Lookup(key); ok {
			name, _, _ = strings.Cut(tag, ",")
			return name, name != ""
		}
	}
	return "", false
}
