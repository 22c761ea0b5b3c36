package js

import (
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// goja words some TypeErrors differently from V8, and scripts (the
// reference traces among them) record error messages. The runtime rewrites
// the message of a goja TypeError into V8's words wherever user code can
// first see it: at the top of every catch clause (the bundle is
// instrumented), when a promise is rejected with it, and when it is about
// to be reported as uncaught. Only goja's fixed forms are rewritten; a
// message a script wrote itself in goja's form would be rewritten too,
// which V8 would not do.

// v8Rewrites maps goja's messages to V8's.
var v8Rewrites = []struct {
	re   *regexp.Regexp
	repl string
}{
	// goja cannot tell null from undefined here: V8 names the value, and
	// undefined is by far the more common.
	{regexp.MustCompile(`^Cannot read property '(.*)' of undefined(?: or null)?$`), "Cannot read properties of undefined (reading '$1')"},
}

// v8Message returns V8's wording of a goja TypeError message.
func v8Message(msg string) (string, bool) {
	if !strings.HasPrefix(msg, "Cannot ") {
		return "", false
	}
	for _, rw := range v8Rewrites {
		if rw.re.MatchString(msg) {
			return rw.re.ReplaceAllString(msg, rw.repl), true
		}
	}
	return "", false
}

// v8Error rewrites v's message in place when v is a TypeError in goja's
// words.
func (r *runtime) v8Error(v goja.Value) {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Error" {
		return
	}
	if r.typeErrorProto == nil {
		r.typeErrorProto = r.vm.Get("TypeError").ToObject(r.vm).Get("prototype").ToObject(r.vm)
	}
	isType := false
	for p := o.Prototype(); p != nil; p = p.Prototype() {
		if p == r.typeErrorProto {
			isType = true
			break
		}
	}
	if !isType {
		return
	}
	m := o.Get("message")
	if m == nil {
		return
	}
	if text, ok := v8Message(m.String()); ok {
		_ = o.Set("message", text)
	}
}

// catchHook is the call the bundle makes at the top of each catch clause.
const catchHook = "__isowasm.v8Error("

// instrumentCatches inserts a catchHook call at the top of every catch
// clause of code that binds its exception to a plain name. The insertion
// stays on the brace's line, so the source map's lines hold. Code goja
// cannot parse is returned as it is (compile reports the problem).
func instrumentCatches(code string) string {
	prg, err := parser.ParseFile(nil, "", code, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return code
	}
	inserts := map[int]string{}
	walkAST(reflect.ValueOf(prg), func(c *ast.CatchStatement) {
		id, ok := c.Parameter.(*ast.Identifier)
		if !ok || c.Body == nil {
			return
		}
		at := int(c.Body.LeftBrace) - 1 // Idx is 1-based
		if at < 0 || at >= len(code) || code[at] != '{' {
			return
		}
		inserts[at+1] = catchHook + string(id.Name) + ");"
	})
	if len(inserts) == 0 {
		return code
	}
	offsets := make([]int, 0, len(inserts))
	for off := range inserts {
		offsets = append(offsets, off)
	}
	sort.Ints(offsets)
	var b strings.Builder
	b.Grow(len(code) + len(offsets)*32)
	last := 0
	for _, off := range offsets {
		b.WriteString(code[last:off])
		b.WriteString(inserts[off])
		last = off
	}
	b.WriteString(code[last:])
	return b.String()
}

var catchType = reflect.TypeOf((*ast.CatchStatement)(nil))

// walkAST calls visit for every catch clause under v. goja's ast package
// has no walker; its nodes are plain structs, slices and interfaces.
func walkAST(v reflect.Value, visit func(*ast.CatchStatement)) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			walkAST(v.Elem(), visit)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Type() == catchType {
			visit(v.Interface().(*ast.CatchStatement))
		}
		if v.Elem().Kind() == reflect.Struct && v.Elem().Type().PkgPath() == astPkg {
			walkAST(v.Elem(), visit)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				walkAST(v.Field(i), visit)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkAST(v.Index(i), visit)
		}
	}
}

var astPkg = reflect.TypeOf(ast.Program{}).PkgPath()
