package wasm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/runtimes/host"
)

// ErrModule is wrapped by every *ModuleError, for callers that only need to
// know a module was refused.
var ErrModule = errors.New("wasm: module refused")

// ModuleError says why a module cannot run as a worker, in one line that
// names the module and the missing, unknown or wrong thing.
type ModuleError struct {
	Path    string
	Problem string
	Err     error // the underlying cause, if any
}

func (e *ModuleError) Error() string { return "wasm: " + e.Path + ": " + e.Problem }

// Unwrap returns ErrModule and the cause, so errors.Is works with both.
func (e *ModuleError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrModule, e.Err}
	}
	return []error{ErrModule}
}

// engine is a wazero runtime with the disk cache attached; close it when done.
type engine struct {
	rt               wazero.Runtime
	cache            wazero.CompilationCache
	memoryLimitPages uint32
}

func newEngine(ctx context.Context, cacheDir string, memoryLimitPages uint32) *engine {
	rc := wazero.NewRuntimeConfigCompiler()
	if memoryLimitPages > 0 {
		rc = rc.WithMemoryLimitPages(memoryLimitPages)
	}
	e := &engine{memoryLimitPages: memoryLimitPages}
	if dir := resolveCacheDir(cacheDir); dir != "" {
		// A cache that cannot be opened (a read-only home, say) costs
		// time, not the worker: compile without it.
		if cache, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
			e.cache = cache
			rc = rc.WithCompilationCache(cache)
		}
	}
	e.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	return e
}

func (e *engine) Close(ctx context.Context) {
	e.rt.Close(ctx)
	if e.cache != nil {
		e.cache.Close(ctx)
	}
}

// resolveCacheDir maps Config.CacheDir to a directory ("" when disabled).
func resolveCacheDir(dir string) string { return host.CacheDir(dir, "wasm") }

// compile reads, checks against browsers' limits, compiles (or loads from
// the cache) and validates a module.
func (e *engine) compile(ctx context.Context, path string) (wazero.CompiledModule, error) {
	_, cm, err := e.compileFile(ctx, path)
	return cm, err
}

// compileFile is compile that also returns the module's bytes.
func (e *engine) compileFile(ctx context.Context, path string) ([]byte, wazero.CompiledModule, error) {
	bin, err := readModule(path)
	if err != nil {
		return nil, nil, err
	}
	if _, err := checkModule(path, bin, e.memoryLimitPages); err != nil {
		return nil, nil, err
	}
	ctx = experimental.WithCompilationWorkers(ctx, 2)
	cm, err := e.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, nil, &ModuleError{Path: path, Problem: "not a valid WebAssembly module: " + oneLine(err.Error()), Err: err}
	}
	if err := e.validate(ctx, path, cm); err != nil {
		cm.Close(ctx)
		return nil, nil, err
	}
	return bin, cm, nil
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// sig is a function signature as the ABI writes it.
type sig struct{ params, results []api.ValueType }

var (
	i32 = api.ValueTypeI32

	guestExports = map[string]sig{
		hostabi.ExportAlloc:         {[]api.ValueType{i32}, []api.ValueType{i32}},
		hostabi.ExportInit:          {nil, []api.ValueType{i32}},
		hostabi.ExportOnMessage:     {[]api.ValueType{i32, i32}, nil},
		hostabi.ExportOnDisconnect:  {nil, nil},
		hostabi.ExportOnTimer:       {[]api.ValueType{i32}, nil},
		hostabi.ExportOnExit:        {[]api.ValueType{i32}, nil},
		hostabi.ExportInitialize:    {nil, nil},
		abiMarker:                   {nil, nil},
		hostabi.ExportOnHTTPRequest: {[]api.ValueType{i32, i32, i32}, nil},
		httpMarker:                  {nil, nil},
	}
	requiredExports = []string{abiMarker, hostabi.ExportAlloc, hostabi.ExportOnMessage}
	abiMarker       = hostabi.ExportABIPrefix + strconv.Itoa(hostabi.ABIVersion)
)

func (s sig) String() string {
	names := func(ts []api.ValueType) string {
		var parts []string
		for _, t := range ts {
			parts = append(parts, api.ValueTypeName(t))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return names(s.params) + " -> " + names(s.results)
}

func sigOf(d api.FunctionDefinition) sig { return sig{d.ParamTypes(), d.ResultTypes()} }

func (s sig) equal(o sig) bool {
	return slices.Equal(s.params, o.params) && slices.Equal(s.results, o.results)
}

// validate refuses what would fail later, or worse, half-way: the problem
// found first is reported, in one line.
func (e *engine) validate(ctx context.Context, path string, cm wazero.CompiledModule) error {
	refuse := func(format string, args ...any) error {
		return &ModuleError{Path: path, Problem: fmt.Sprintf(format, args...)}
	}
	exports := cm.ExportedFunctions()

	// The ABI version first: a module built for another version would
	// otherwise be refused for a name it has no reason to know.
	if _, ok := exports[abiMarker]; !ok {
		for name := range exports {
			if v, ok := strings.CutPrefix(name, hostabi.ExportABIPrefix); ok {
				return refuse("built for isowasm guest ABI %s, but this isowasm speaks ABI %d: rebuild it with a matching guest SDK", v, hostabi.ABIVersion)
			}
		}
		if _, ok := exports[hostabi.ExportStart]; ok {
			return refuse("is a command module (it exports %s) without the isowasm ABI marker %s: build a reactor with the isowasm guest SDK (Go: -buildmode=c-shared; clang: -mexec-model=reactor)", hostabi.ExportStart, abiMarker)
		}
		return refuse("missing export %s: not an isowasm guest; build it with an isowasm guest SDK (see hostabi/ABI.md)", abiMarker)
	}
	if _, ok := exports[hostabi.ExportStart]; ok {
		return refuse("exports %s (a command module): build a reactor instead (Go: -buildmode=c-shared; clang: -mexec-model=reactor)", hostabi.ExportStart)
	}
	if _, ok := cm.ExportedMemories()[hostabi.ExportMemory]; !ok {
		return refuse("missing export %q (its linear memory)", hostabi.ExportMemory)
	}
	for _, name := range requiredExports {
		if _, ok := exports[name]; !ok {
			return refuse("missing export %s %s", name, guestExports[name])
		}
	}
	for name, want := range guestExports {
		if d, ok := exports[name]; ok && !sigOf(d).equal(want) {
			return refuse("export %s has type %s; the ABI says %s", name, sigOf(d), want)
		}
	}

	// Imports: every one must be a function of the isowasm or the WASI
	// host module, with the host's signature.
	if mems := cm.ImportedMemories(); len(mems) > 0 {
		mod, name, _ := mems[0].Import()
		return refuse("imports memory %s.%s: a guest must define and export its own memory", mod, name)
	}
	hosts, err := hostSignatures(ctx, e.rt)
	if err != nil {
		return err
	}
	timers := false
	for _, d := range cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		fns, ok := hosts[mod]
		if !ok {
			return refuse("imports %s.%s from unknown module %q: only %q and %q are provided", mod, name, mod, hostabi.ImportModule, wasi_snapshot_preview1.ModuleName)
		}
		want, ok := fns[name]
		if !ok {
			return refuse("imports unknown function %s.%s", mod, name)
		}
		if !sigOf(d).equal(want) {
			return refuse("imports %s.%s with type %s; the host's is %s", mod, name, sigOf(d), want)
		}
		if mod == hostabi.ImportModule && name == hostabi.ImportSetTimer {
			timers = true
		}
	}
	if err := validateHTTP(cm, refuse); err != nil {
		return err
	}
	if _, ok := exports[hostabi.ExportOnTimer]; timers && !ok {
		return refuse("imports %s.%s but is missing export %s %s", hostabi.ImportModule, hostabi.ImportSetTimer, hostabi.ExportOnTimer, guestExports[hostabi.ExportOnTimer])
	}
	return nil
}

// hostSignatures lists the functions the host modules provide, by module
// and name, compiled from the same builders that Run instantiates.
func hostSignatures(ctx context.Context, rt wazero.Runtime) (map[string]map[string]sig, error) {
	out := map[string]map[string]sig{}
	for _, b := range []wazero.HostModuleBuilder{
		hostModule(rt, nil),
		wasiBuilder(rt),
	} {
		cm, err := b.Compile(ctx)
		if err != nil {
			return nil, fmt.Errorf("wasm: compiling a host module: %w", err)
		}
		fns := map[string]sig{}
		for name, d := range cm.ExportedFunctions() {
			fns[name] = sigOf(d)
		}
		out[cm.Name()] = fns
		cm.Close(ctx)
	}
	return out, nil
}

// wasiBuilder is wazero's WASI preview 1 host module as a builder.
func wasiBuilder(rt wazero.Runtime) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	return b
}
