package js

import (
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
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

// tryGuard opens the call the bundle runs the body of a try statement
// through when the statement has a catch clause (bindings.go "tryGuard"):
// goja's stack-depth error unwinds every JavaScript frame up to the
// nearest Go call, so only a Go call inside the try block lets its catch
// clause catch V8's RangeError. The body runs as an arrow function, which
// keeps this, arguments and the block's scope.
const (
	tryGuardOpen  = "__isowasm.tryGuard(() => {"
	tryGuardClose = "});"
	// tryGuardName names tryGuard's frame in stacks (node/inspect.js
	// cleanStack folds it and the arrow's frame back into one).
	tryGuardName = "isowasm:tryGuard"
)

// instrumentCatches inserts a catchHook call at the top of every catch
// clause of code that binds its exception to a plain name, and runs the
// body of each try statement with a catch clause that guard accepts (by
// offset) through tryGuard when the body can run as a function (no
// return, break, continue, await, yield or var of its own). The
// insertions stay on the braces' lines, so the source map's lines hold.
// Code goja cannot parse is returned as it is (compile reports the
// problem).
func instrumentCatches(code string, guard func(offset int) bool) string {
	prg, err := parser.ParseFile(nil, "", code, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return code
	}
	inserts := map[int]string{}
	// brace is the offset of the brace at idx (1-based), or -1.
	brace := func(idx file.Idx, c byte) int {
		at := int(idx) - 1
		if at < 0 || at >= len(code) || code[at] != c {
			return -1
		}
		return at
	}
	walkAST(reflect.ValueOf(prg), func(n reflect.Value) bool {
		switch n := n.Interface().(type) {
		case *ast.CatchStatement:
			id, ok := n.Parameter.(*ast.Identifier)
			if !ok || n.Body == nil {
				break
			}
			if at := brace(n.Body.LeftBrace, '{'); at >= 0 {
				inserts[at+1] += catchHook + string(id.Name) + ");"
			}
		case *ast.TryStatement:
			if n.Catch == nil || n.Body == nil || len(n.Body.List) == 0 || !runsAsFunction(n.Body) {
				break
			}
			open, end := brace(n.Body.LeftBrace, '{'), brace(n.Body.RightBrace, '}')
			if open >= 0 && end > open && guard(open) {
				inserts[open+1] += tryGuardOpen
				inserts[end] = tryGuardClose + inserts[end]
			}
		}
		return true
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

// userModules is instrumentCatches' guard for an esbuild bundle: the
// try statements of the user's modules, not those of isowasm's built-ins,
// which recurse only as deep as the user's code makes them, and whose
// sends run for every message (a guarded try costs a closure and a Go
// call, a few microseconds). esbuild starts each module with a "// path"
// line, "// isowasm:..." for the built-ins.
func userModules(code string) func(offset int) bool {
	type module struct {
		start int
		user  bool
	}
	var modules []module
	for off := 0; off < len(code); {
		line := code[off:]
		if nl := strings.IndexByte(line, '\n'); nl >= 0 {
			line = line[:nl]
		}
		if strings.HasPrefix(line, "// ") {
			modules = append(modules, module{off, !strings.HasPrefix(line, "// "+namespace+":")})
		}
		off += len(line) + 1
	}
	return func(offset int) bool {
		i := sort.Search(len(modules), func(i int) bool { return modules[i].start > offset })
		return i > 0 && modules[i-1].user
	}
}

// runsAsFunction reports whether block means the same as the body of an
// arrow function: nothing in it (outside the functions it defines) leaves
// or suspends the enclosing function or declares a var of it.
func runsAsFunction(block *ast.BlockStatement) bool {
	ok := true
	walkAST(reflect.ValueOf(block), func(n reflect.Value) bool {
		switch n.Interface().(type) {
		case *ast.FunctionLiteral, *ast.ArrowFunctionLiteral:
			return false
		case *ast.ReturnStatement, *ast.BranchStatement, *ast.AwaitExpression, *ast.YieldExpression,
			*ast.VariableStatement, *ast.ForLoopInitializerVarDeclList, *ast.ForIntoVar:
			ok = false
		}
		return ok
	})
	return ok
}

// walkAST calls visit for every node (a pointer to one of goja's ast
// structs) under v, and for what is under a node when visit returns true.
// goja's ast package has no walker; its nodes are plain structs, slices
// and interfaces.
func walkAST(v reflect.Value, visit func(reflect.Value) bool) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			walkAST(v.Elem(), visit)
		}
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct || v.Elem().Type().PkgPath() != astPkg {
			return
		}
		if visit(v) {
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
