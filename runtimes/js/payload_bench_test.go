package js

import (
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

var benchPayloads = map[string]string{
	"small": `{"type":"work","id":12,"data":{"name":"job","tags":["a","b"],"ratio":0.25,"ok":true}}`,
	"1MiB":  `"` + strings.Repeat("x", 1<<20) + `"`,
	"array": `[` + strings.TrimSuffix(strings.Repeat(`{"k":1,"v":"val"},`, 1000), ",") + `]`,
}

func BenchmarkDecode(b *testing.B) {
	for name, text := range benchPayloads {
		payload, err := jsonToCBOR(text)
		if err != nil {
			b.Fatal(err)
		}
		vm := goja.New()
		parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
		b.Run(name+"/json-parse", func(b *testing.B) {
			for b.Loop() {
				s, _ := cborToJSON(payload)
				if _, err := parse(goja.Undefined(), vm.ToValue(s)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/direct", func(b *testing.B) {
			for b.Loop() {
				if _, err := cborToValue(vm, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for name, text := range benchPayloads {
		vm := goja.New()
		parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
		stringify, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("stringify"))
		v, _ := parse(goja.Undefined(), vm.ToValue(text))
		b.Run(name+"/direct", func(b *testing.B) {
			r := newRuntime(Config{}, time.Now())
			v, _ := r.vm.RunString("(" + text + ")")
			for b.Loop() {
				if _, _, err := r.valueToCBOR(v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				s, err := stringify(goja.Undefined(), v)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jsonToCBOR(s.String()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
