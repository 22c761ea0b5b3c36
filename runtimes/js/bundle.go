package js

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/evanw/esbuild/pkg/api"
)

// The built-in sources: Node's modules as isowasm writes them (node/), and
// the isotropic-* packages (builtins/, owned by the isotropic port).
//
//go:embed node/*.js builtins/*.js
var sources embed.FS

// namespace is the esbuild namespace every built-in is served from; paths in
// it are the specifiers themselves ("node:fs", "isotropic-make").
const namespace = "isowasm"

// globalsModule sets up the globals (process, console, timers…) before the
// user's script runs; the entry imports it first.
const globalsModule = "isowasm:globals"

// nodeModules maps each node: module isowasm provides to its source.
var nodeModules = map[string]string{
	"node:assert":          "node/assert.js",
	"node:assert/strict":   "node/assert.js",
	"node:buffer":          "node/buffer.js",
	"node:cluster":         "node/cluster.js",
	"node:console":         "node/console.js",
	"node:crypto":          "node/crypto.js",
	"node:events":          "node/events.js",
	"node:fs":              "node/fs.js",
	"node:fs/promises":     "node/fs-promises.js",
	"node:http":            "node/http.js",
	"node:net":             "node/net.js",
	"node:os":              "node/os.js",
	"node:path":            "node/path.js",
	"node:path/posix":      "node/path.js",
	"node:process":         "node/process.js",
	"node:timers":          "node/timers.js",
	"node:timers/promises": "node/timers-promises.js",
	"node:url":             "node/url.js",
	"node:util":            "node/util.js",
	"node:util/types":      "node/util-types.js",
	"isowasm:globals":      "node/globals.js",
	"isowasm:inspect":      "node/inspect.js",
	"isowasm:errors":       "node/errors.js",
	// node:cluster's primary half, loaded by node/cluster.js.
	"isowasm:cluster-primary": "node/cluster-primary.js",
}

// primaryModules are the imports that make a script a cluster primary.
var primaryModules = map[string]bool{
	"node:cluster": true,
	"isotropic-cluster/lib/cluster-primary.js": true,
	"isotropic-cluster/lib/cluster-primary":    true,
}

// nodeBuiltins are Node's built-in module names: a bare import of one of
// them is the built-in, never a package from node_modules (as in Node).
var nodeBuiltins = regexp.MustCompile(`^(assert|async_hooks|buffer|child_process|cluster|console|constants|crypto|dgram|diagnostics_channel|dns|domain|events|fs|http|http2|https|inspector|module|net|os|path|perf_hooks|process|punycode|querystring|readline|repl|stream|string_decoder|sys|timers|tls|trace_events|tty|url|util|v8|vm|wasi|worker_threads|zlib)(/.*)?$`)

// isotropicFile names the embedded source of an isotropic-* specifier.
func isotropicFile(spec string) string {
	switch spec {
	case "isotropic-cluster/lib/cluster-worker.js", "isotropic-cluster/lib/cluster-worker":
		return "builtins/isotropic-cluster-worker.js"
	case "isotropic-cluster/lib/cluster-primary.js", "isotropic-cluster/lib/cluster-primary":
		return "builtins/isotropic-cluster-primary.js"
	}
	if strings.Contains(spec, "/") {
		return ""
	}
	return "builtins/" + spec + ".js"
}

// builtinFile returns the embedded file serving spec, or "" when spec is not
// a built-in isowasm has.
func builtinFile(spec string) string {
	if f, ok := nodeModules[spec]; ok {
		return f
	}
	if strings.HasPrefix(spec, "isotropic-") {
		f := isotropicFile(spec)
		if f != "" {
			if _, err := fs.Stat(sources, f); err == nil {
				return f
			}
		}
	}
	return ""
}

// runtimeKey identifies this runtime's built-ins and bundler: part of every
// cache key, so a new isowasm never reuses an old bundle.
var runtimeKey = sync.OnceValue(func() string {
	h := sha256.New()
	fmt.Fprintf(h, "isowasm-bundle-v5\x00esbuild v0.28.2\x00")
	_ = fs.WalkDir(sources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := sources.ReadFile(p)
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
})

// bundle is a script compiled to one program goja can run.
type bundle struct {
	// Code is the wrapped program: it evaluates to an async function taking
	// the native bindings; its inline source map is on the last line.
	Code string
	// ESM says the entry module is an ES module: Node evaluates it inside a
	// promise job, so its microtasks run before its nextTicks.
	ESM bool
	// Inputs are the files read, with their content hashes: the cache entry
	// is valid while every one is unchanged.
	Inputs []input
	// Primary says the user's code imports node:cluster or the
	// isotropic-cluster primary (built-ins' own imports do not count).
	Primary bool
	// Compiled says goja has compiled this very code without error once
	// (recorded in the cache entry), so Check need not compile it again.
	Compiled bool
	// file is the cache entry the bundle came from or went to ("" none).
	file string
}

type input struct {
	Path string `json:"p"`
	Hash string `json:"h"`
}

// BuildError is a script that cannot be bundled: a syntax error, a missing
// file or an import that does not resolve. Each line names a file and a
// position.
type BuildError struct {
	Script   string
	Messages []string // "file:line:col: text"
}

func (e *BuildError) Error() string { return strings.Join(e.Messages, "\n") }

// load returns the bundle of script, from the cache in dir when it is there
// and current, else built (and stored when dir is not "").
func load(script, dir string) (*bundle, error) {
	abs, err := filepath.Abs(script)
	if err != nil {
		return nil, fmt.Errorf("js: %s: %w", script, err)
	}
	if info, err := os.Stat(abs); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &BuildError{Script: abs, Messages: []string{abs + ": no such file: check the script path"}}
		}
		return nil, fmt.Errorf("js: %w", err)
	} else if info.IsDir() {
		return nil, &BuildError{Script: abs, Messages: []string{abs + ": is a directory, not a script"}}
	}
	var file string
	if dir != "" {
		sum := sha256.Sum256([]byte(runtimeKey() + "\x00" + abs))
		file = filepath.Join(dir, "bundles", hex.EncodeToString(sum[:16])+".js")
		if b := readCached(file); b != nil {
			b.file = file
			return b, nil
		}
	}
	b, err := build(abs)
	if err != nil {
		return nil, err
	}
	if file != "" {
		writeCached(file, b) // a cache that cannot be written only costs time
		b.file = file
	}
	return b, nil
}

type cacheHeader struct {
	ESM      bool    `json:"esm"`
	Primary  bool    `json:"primary,omitempty"`
	Compiled bool    `json:"compiled,omitempty"`
	Inputs   []input `json:"inputs"`
}

func readCached(file string) *bundle {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return nil
	}
	var h cacheHeader
	if json.Unmarshal(data[:nl], &h) != nil || len(h.Inputs) == 0 {
		return nil
	}
	for _, in := range h.Inputs {
		if hashFile(in.Path) != in.Hash {
			return nil
		}
	}
	return &bundle{Code: string(data[nl+1:]), ESM: h.ESM, Primary: h.Primary, Compiled: h.Compiled, Inputs: h.Inputs}
}

func writeCached(file string, b *bundle) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	head, err := json.Marshal(cacheHeader{ESM: b.ESM, Primary: b.Primary, Compiled: b.Compiled, Inputs: b.Inputs})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".bundle-*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(tmp)
	w.Write(head)
	w.WriteByte('\n')
	w.WriteString(b.Code)
	if err := w.Flush(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	// Rename is atomic: a worker racing with another reads one whole bundle.
	if err := os.Rename(tmp.Name(), file); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func hashFile(p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Features goja cannot parse, lowered by esbuild.
var unsupported = map[string]bool{
	"async-generator":                 false,
	"for-await":                       false,
	"dynamic-import":                  false,
	"using":                           false,
	"decorators":                      false,
	"regexp-match-indices":            false,
	"regexp-set-notation":             false,
	"regexp-unicode-property-escapes": false,
}

// metaName is the per-module variable import.meta is rewritten to; the
// loader declares it at the top of each module that uses import.meta, and
// esbuild renames it per module.
const metaName = "__isowasm_import_meta"

// build bundles the script at abs (an absolute path) with the built-ins.
func build(abs string) (*bundle, error) {
	entryJSON, _ := json.Marshal(abs)
	globalsJSON, _ := json.Marshal(globalsModule)
	var (
		mu      sync.Mutex
		inputs  = map[string]string{}
		primary bool
	)
	plugin := api.Plugin{
		Name: "isowasm",
		Setup: func(pb api.PluginBuild) {
			pb.OnResolve(api.OnResolveOptions{Filter: `.*`}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				spec := args.Path
				if args.Namespace != namespace && args.Namespace != "file" && args.Namespace != "" {
					return api.OnResolveResult{}, nil
				}
				if !strings.HasPrefix(spec, "node:") && nodeBuiltins.MatchString(spec) {
					spec = "node:" + spec
				}
				if f := builtinFile(spec); f != "" {
					if args.Namespace != namespace && primaryModules[spec] {
						mu.Lock()
						primary = true
						mu.Unlock()
					}
					return api.OnResolveResult{Path: spec, Namespace: namespace}, nil
				}
				switch {
				case strings.HasPrefix(spec, "node:"):
					return api.OnResolveResult{}, fmt.Errorf("%s is not available in isowasm's JavaScript runtime", spec)
				case args.Namespace == namespace && !strings.HasPrefix(spec, "isotropic-"):
					return api.OnResolveResult{}, fmt.Errorf("built-in %s imports %q, which isowasm does not provide", args.Importer, spec)
				case args.Namespace == namespace:
					// An isotropic-* package isowasm does not embed: from
					// node_modules, as seen from the user's script.
					r := pb.Resolve(spec, api.ResolveOptions{Kind: args.Kind, ResolveDir: filepath.Dir(abs), Importer: abs})
					if len(r.Errors) > 0 {
						return api.OnResolveResult{Errors: r.Errors}, nil
					}
					return api.OnResolveResult{Path: r.Path, Namespace: r.Namespace, External: r.External}, nil
				}
				return api.OnResolveResult{}, nil
			})
			pb.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: namespace}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
				data, err := sources.ReadFile(builtinFile(args.Path))
				if err != nil {
					return api.OnLoadResult{}, err
				}
				text := string(data)
				if lazyModules[args.Path] {
					text = lazyStub(args.Path, text)
				}
				return api.OnLoadResult{Contents: &text, Loader: api.LoaderJS, ResolveDir: "/"}, nil
			})
			pb.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "file"}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
				data, err := os.ReadFile(args.Path)
				if err != nil {
					return api.OnLoadResult{}, err
				}
				sum := sha256.Sum256(data)
				mu.Lock()
				inputs[args.Path] = hex.EncodeToString(sum[:])
				mu.Unlock()
				meta := bytes.Contains(data, []byte("import.meta"))
				names := bytes.Contains(data, []byte("__filename")) || bytes.Contains(data, []byte("__dirname"))
				if !meta && !names {
					return api.OnLoadResult{}, nil // esbuild's own loading
				}
				text := declareMeta(args.Path, string(data), meta, names)
				return api.OnLoadResult{Contents: &text, Loader: loaderFor(args.Path), ResolveDir: filepath.Dir(args.Path)}, nil
			})
		},
	}
	res := api.Build(api.BuildOptions{
		Stdin: &api.StdinOptions{
			Contents:   "import " + string(globalsJSON) + ";\nimport " + string(entryJSON) + ";\n",
			ResolveDir: filepath.Dir(abs),
			Sourcefile: "<isowasm-entry>",
			Loader:     api.LoaderJS,
		},
		Bundle:         true,
		Write:          false,
		Format:         api.FormatESModule,
		Platform:       api.PlatformNode,
		Target:         api.ESNext,
		Supported:      unsupported,
		Sourcemap:      api.SourceMapInline,
		SourcesContent: api.SourcesContentExclude,
		Define:         map[string]string{"import.meta": metaName},
		Metafile:       true,
		KeepNames:      true, // bundling renames clashing names; Function.name must not change
		AbsWorkingDir:  "/",
		LogLevel:       api.LogLevelSilent,
		Plugins:        []api.Plugin{plugin},
	})
	if len(res.Errors) > 0 {
		return nil, buildError(abs, res.Errors)
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("js: bundling %s: %d outputs", abs, len(res.OutputFiles))
	}
	code := wrap(string(res.OutputFiles[0].Contents))
	b := &bundle{Code: slimSourceMap(instrumentCatches(code, userModules(code))), ESM: entryIsESM(res.Metafile, abs), Primary: primary}
	for p, h := range inputs {
		b.Inputs = append(b.Inputs, input{Path: p, Hash: h})
	}
	sort.Slice(b.Inputs, func(i, j int) bool { return b.Inputs[i].Path < b.Inputs[j].Path })
	return b, nil
}

// declareMeta prepends the import.meta object of the module at p, and
// CommonJS's __filename and __dirname, on its first line (after a hashbang)
// so that line numbers stay as they are.
func declareMeta(p, text string, meta, names bool) string {
	var decl strings.Builder
	if meta {
		d, _ := json.Marshal(map[string]string{"url": fileURL(p), "filename": p, "dirname": filepath.Dir(p)})
		decl.WriteString("var " + metaName + " = " + string(d) + ";")
	}
	if names {
		f, _ := json.Marshal(p)
		d, _ := json.Marshal(filepath.Dir(p))
		decl.WriteString("var __filename = " + string(f) + ", __dirname = " + string(d) + ";")
	}
	if strings.HasPrefix(text, "#!") {
		nl := strings.IndexByte(text, '\n')
		if nl < 0 {
			return text + "\n" + decl.String()
		}
		return text[:nl+1] + decl.String() + text[nl+1:]
	}
	return decl.String() + text
}

// fileURL is Node's url.pathToFileURL(p).href for an absolute path.
func fileURL(p string) string {
	var b strings.Builder
	b.WriteString("file://")
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/-._~!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func loaderFor(p string) api.Loader {
	switch path.Ext(p) {
	case ".ts", ".mts", ".cts":
		return api.LoaderTS
	case ".tsx":
		return api.LoaderTSX
	case ".jsx":
		return api.LoaderJSX
	case ".json":
		return api.LoaderJSON
	}
	return api.LoaderJS
}

// entryIsESM reads the entry's module format from the metafile.
func entryIsESM(metafile, abs string) bool {
	var m struct {
		Inputs map[string]struct {
			Format string `json:"format"`
		} `json:"inputs"`
	}
	if json.Unmarshal([]byte(metafile), &m) != nil {
		return true
	}
	for p, in := range m.Inputs {
		if "/"+strings.TrimPrefix(p, "/") == abs && in.Format != "" {
			return in.Format != "cjs"
		}
	}
	// No import or export syntax at all (esbuild names no format, even
	// when the file calls require): Node treats a .mjs/.mts file, or
	// one in a "type": "module" package, as ESM; esbuild's default matches
	// closely enough for the tick/microtask order of the first macrotask.
	ext := path.Ext(abs)
	return ext == ".mjs" || ext == ".mts"
}

// wrap turns esbuild's ESM output into one async function expression taking
// the native bindings. The opening goes on the first line and the closing
// before the source map line, which must stay last for goja to read it.
func wrap(code string) string {
	const open = "(async function (__isowasm) {"
	i := strings.LastIndex(code, "\n//# sourceMappingURL=")
	if i < 0 {
		return open + code + "\n})"
	}
	return open + code[:i] + "\n})" + code[i:]
}

// buildError turns esbuild's messages into one line each:
// file:line:col: text, col 1-based.
func buildError(abs string, msgs []api.Message) error {
	e := &BuildError{Script: abs}
	for _, m := range msgs {
		text := m.Text
		if m.Location == nil {
			e.Messages = append(e.Messages, abs+": "+text)
			continue
		}
		file := m.Location.File
		switch {
		case m.Location.Namespace == namespace:
			file = "(isowasm built-in " + file + ")"
		case file == "<isowasm-entry>":
			file = abs
		case !filepath.IsAbs(file):
			file = "/" + file
		}
		e.Messages = append(e.Messages, fmt.Sprintf("%s:%d:%d: %s", file, m.Location.Line, m.Location.Column+1, text))
	}
	return e
}
