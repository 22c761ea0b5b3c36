package js

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/dop251/goja"
)

// lazyModules are the built-ins a worker rarely needs at start: the bundle
// holds a stub for each (lazyStub), and goja compiles the module itself
// only when something first requires it (loadModule). A worker that never
// formats a value, touches Buffer or crypto, or imports node:util skips
// compiling a third of the built-ins.
var lazyModules = map[string]bool{
	"isowasm:cluster-primary": true,
	"isowasm:inspect":         true,
	"node:buffer":             true,
	"node:crypto":             true,
	"node:path":               true,
	"node:util":               true,
	"node:util/types":         true,
}

var requireCall = regexp.MustCompile(`require\('([^']+)'\)`)

// lazyStub is the module the bundle holds for the lazy built-in spec
// (source src): its exports are the module's, loaded on first require,
// and the requires the module makes are answered from the bundle.
func lazyStub(spec, src string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "module.exports = __isowasm.loadModule(%s, function (spec) {\n    switch (spec) {\n", strconv.Quote(spec))
	seen := map[string]bool{}
	for _, m := range requireCall.FindAllStringSubmatch(src, -1) {
		if dep := m[1]; !seen[dep] {
			seen[dep] = true
			fmt.Fprintf(&b, "        case %s:\n            return require(%s);\n", strconv.Quote(dep), strconv.Quote(dep))
		}
	}
	fmt.Fprintf(&b, "    }\n\n    throw new Error('isowasm: built-in %s requires ' + spec + ', which its loader does not know');\n});\n", spec)
	return b.String()
}

// lazyPrograms caches each lazy built-in's compiled program (by spec) for
// the life of the process.
var lazyPrograms sync.Map

// lazyProgram compiles the lazy built-in spec as a CommonJS function
// (exports, require, module, __isowasm), named as the bundle's source map
// names built-ins, so that its frames read (and are dropped from stacks)
// as theirs are. The wrapper shares the first line, so lines match the file.
func lazyProgram(spec string) (*goja.Program, error) {
	if p, ok := lazyPrograms.Load(spec); ok {
		return p.(*goja.Program), nil
	}
	src, err := sources.ReadFile(builtinFile(spec))
	if err != nil {
		return nil, err
	}
	code := instrumentCatches("(function (exports, require, module, __isowasm) {"+string(src)+"\n})", func(int) bool { return false })
	prg, err := goja.Compile(namespace+":"+spec, code, true)
	if err != nil {
		return nil, fmt.Errorf("js: compiling built-in %s: %w", spec, err)
	}
	lazyPrograms.Store(spec, prg)
	return prg, nil
}

// loadModule is the native behind lazyStub: the exports of the lazy
// built-in spec, evaluated once per runtime with require answering its
// own requires.
func (r *runtime) loadModule(spec string, require goja.Value) goja.Value {
	vm := r.vm
	if m, ok := r.lazy[spec]; ok {
		return m.Get("exports")
	}
	if !lazyModules[spec] {
		panic(vm.NewTypeError("isowasm: " + spec + " is not a lazy built-in"))
	}
	prg, err := lazyProgram(spec)
	if err != nil {
		panic(vm.NewGoError(err))
	}
	fn, err := vm.RunProgram(prg)
	if err != nil {
		panic(err)
	}
	call, ok := goja.AssertFunction(fn)
	if !ok {
		panic(vm.NewTypeError("isowasm: built-in " + spec + " did not compile to a function"))
	}
	module := vm.NewObject()
	exports := vm.NewObject()
	_ = module.Set("exports", exports)
	if r.lazy == nil {
		r.lazy = map[string]*goja.Object{}
	}
	r.lazy[spec] = module
	if _, err := call(goja.Undefined(), exports, require, module, r.native); err != nil {
		panic(err)
	}
	return module.Get("exports")
}
