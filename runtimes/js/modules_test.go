package js

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestModules(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		entry string
		want  string
	}{{
		name: "esm imports cjs and json",
		files: map[string]string{
			"main.mjs":  "import lib, {named} from './lib.cjs';\nimport data from './data.json' with {type: 'json'};\nconsole.log(lib.named, named, data.v);\n",
			"lib.cjs":   "exports.named = 'n';\n",
			"data.json": `{"v": 3}`,
		},
		entry: "main.mjs",
		want:  "n n 3\n",
	}, {
		name: "cjs requires esm, builtins and node_modules",
		files: map[string]string{
			"main.js":                       "const EventEmitter = require('events');\nconst {join} = require('node:path');\nconst pkg = require('pkg');\nconsole.log(typeof EventEmitter, new EventEmitter() instanceof EventEmitter, join('a', 'b'), pkg.hello(), __filename.endsWith('main.js'), typeof module);\n",
			"node_modules/pkg/package.json": `{"name": "pkg", "main": "lib/index.js"}`,
			"node_modules/pkg/lib/index.js": "module.exports = {hello: () => require('./dep').x};\n",
			"node_modules/pkg/lib/dep.js":   "exports.x = 'from pkg';\n",
		},
		entry: "main.js",
		want:  "function true a/b from pkg true object\n",
	}, {
		name: "type module package",
		files: map[string]string{
			"package.json": `{"type": "module"}`,
			"main.js":      "import {x} from './x.js';\nconsole.log(x, typeof module);\n",
			"x.js":         "export const x = 'esm';\n",
		},
		entry: "main.js",
		want:  "esm undefined\n",
	}, {
		name: "typescript",
		files: map[string]string{
			"main.ts": "interface P { x: number }\nconst p: P = {x: 2};\nenum E { A = 1 }\nfunction f<T>(v: T): T { return v; }\nconsole.log(f<number>(p.x) + E.A);\n",
		},
		entry: "main.ts",
		want:  "3\n",
	}, {
		name: "top-level await and import.meta",
		files: map[string]string{
			"main.mjs":  "import {meta} from './sub/m.mjs';\nconst v = await new Promise(r => setTimeout(() => r('awaited'), 1));\nconsole.log(v, import.meta.filename.endsWith('/main.mjs'), meta.dirname.endsWith('/sub'), meta.url.startsWith('file:///'), import.meta.dirname === meta.dirname.slice(0, -4));\n",
			"sub/m.mjs": "export const meta = {url: import.meta.url, dirname: import.meta.dirname};\n",
		},
		entry: "main.mjs",
		want:  "awaited true true true true\n",
	}, {
		name: "lowered syntax: for await, async generators, dynamic import",
		files: map[string]string{
			"main.mjs": "async function* gen() { yield 1; yield 2; }\nlet s = 0;\nfor await (const v of gen()) s += v;\nconst m = await import('./dyn.mjs');\nconsole.log(s, m.default);\n",
			"dyn.mjs":  "export default 'dynamic';\n",
		},
		entry: "main.mjs",
		want:  "3 dynamic\n",
	}, {
		name: "argv, env and process basics",
		files: map[string]string{
			"main.mjs": "import process from 'node:process';\nimport os from 'node:os';\nimport {fileURLToPath, pathToFileURL} from 'node:url';\nconsole.log(process.argv.length, process.argv[1].endsWith('main.mjs'), process.env.ISO_TEST, typeof process.pid, process.platform, os.EOL === '\\n', fileURLToPath(pathToFileURL('/a b/c')), typeof process.hrtime.bigint(), process.send);\n",
		},
		entry: "main.mjs",
		want:  "2 true 1 number linux true /a b/c bigint undefined\n",
	}, {
		name: "cluster in a primary",
		files: map[string]string{
			"main.mjs": "import cluster from 'node:cluster';\nconsole.log(cluster.isPrimary, cluster.isWorker, cluster.isMaster, cluster.worker);\n",
		},
		entry: "main.mjs",
		want:  "true false true undefined\n",
	}, {
		name: "fs",
		files: map[string]string{
			"main.mjs": `import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iso-'));
fs.mkdirSync(path.join(dir, 'a/b'), {recursive: true});
fs.writeFileSync(path.join(dir, 'a/f.txt'), 'hé');
fs.appendFileSync(path.join(dir, 'a/f.txt'), '!');
console.log(fs.readFileSync(path.join(dir, 'a/f.txt'), 'utf8'), fs.readFileSync(path.join(dir, 'a/f.txt')).length, fs.readdirSync(path.join(dir, 'a')).join(','), fs.statSync(path.join(dir, 'a')).isDirectory(), fs.existsSync(path.join(dir, 'nope')));
try { fs.readFileSync(path.join(dir, 'nope')); } catch (e) { console.log(e.code, e.syscall, e.message.startsWith('ENOENT: no such file or directory, open ')); }
fs.rmSync(dir, {recursive: true, force: true});
console.log(fs.existsSync(dir));
`,
		},
		entry: "main.mjs",
		want:  "hé! 4 b,f.txt true false\nENOENT open true\nfalse\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dir := runFiles(t, tt.files, tt.entry)
			if got.err != nil || got.code != 0 || got.stdout != tt.want {
				t.Errorf("code %d err %v\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", got.code, got.err, got.stdout, tt.want, got.stderr)
			}
			if strings.HasSuffix(tt.entry, ".ts") || strings.Contains(tt.name, "argv") || strings.Contains(tt.name, "cluster") {
				return
			}
			if node, ok := runNode(t, dir, tt.entry); ok && node.stdout != got.stdout {
				t.Errorf("node printed:\n%s\nstderr %s", node.stdout, node.stderr)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		entry string
		want  string // the error's one line, %s is the directory
	}{{
		name:  "syntax error",
		files: map[string]string{"main.mjs": "const a = 1;\nconst b = ;\n"},
		entry: "main.mjs",
		want:  "%s/main.mjs:2:11: Unexpected \";\"",
	}, {
		name:  "missing import",
		files: map[string]string{"main.mjs": "import './lib.mjs';\n", "lib.mjs": "import x from './nope.js';\n"},
		entry: "main.mjs",
		want:  "%s/lib.mjs:1:15: Could not resolve \"./nope.js\"",
	}, {
		name:  "missing package",
		files: map[string]string{"main.cjs": "require('left-pad');\n"},
		entry: "main.cjs",
		want:  "%s/main.cjs:1:9: Could not resolve \"left-pad\"",
	}, {
		name:  "unsupported built-in",
		files: map[string]string{"main.mjs": "import dgram from 'node:dgram';\n"},
		entry: "main.mjs",
		want:  "%s/main.mjs:1:19: node:dgram is not available in isowasm's JavaScript runtime",
	}, {
		name:  "missing script",
		files: map[string]string{},
		entry: "nope.mjs",
		want:  "%s/nope.mjs: no such file: check the script path",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			err := Check(filepath.Join(dir, tt.entry), "off")
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("Check: %v, want a *BuildError", err)
			}
			want := strings.ReplaceAll(tt.want, "%s", dir)
			if got := err.Error(); !strings.HasPrefix(got, want) {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
			if r := run(t, dir, tt.entry); r.code != 1 || r.err == nil || r.err.Error() != err.Error() {
				t.Errorf("Run: code %d, err %v", r.code, r.err)
			}
		})
	}
}

// monitor logs what 'uncaughtExceptionMonitor' and 'exit' listeners see.
const monitor = "process.on('uncaughtExceptionMonitor', (e, o) => console.log('monitor', e.message, o));\nprocess.on('exit', c => console.log('exit', c));\n"

// exitThrows has an 'exit' listener that throws, and one after it.
const exitThrows = "process.on('exit', () => { throw new Error('in exit'); });\nprocess.on('exit', () => console.log('second exit listener'));\nprocess.on('uncaughtExceptionMonitor', (e, o) => console.log('monitor', e.message, o));\n"

func TestExit(t *testing.T) {
	tests := []struct {
		name, entry, script string
		code                int
		stdout              string
		stderr              []string // substrings, in order
	}{
		{"empty loop", "main.mjs", "console.log('done');", 0, "done\n", nil},
		{"exitCode", "main.mjs", "process.exitCode = 4; process.on('exit', c => console.log('exit', c));", 4, "exit 4\n", nil},
		{"exit", "main.mjs", "process.on('exit', c => console.log('exit', c)); setTimeout(() => console.log('never'), 100); process.exit(9); console.log('not reached');", 9, "exit 9\n", nil},
		{"exit in a timer", "main.cjs", "setInterval(() => {}, 1000); setTimeout(() => process.exit(), 2);", 0, "", nil},
		{"uncaught throw", "main.cjs", "process.on('exit', c => console.log('exit', c));\nfunction boom () {\n  throw new Error('kaboom');\n}\nsetTimeout(boom, 1);\n", 1, "exit 1\n",
			[]string{"main.cjs:3\n  throw new Error('kaboom');\n        ^\n\nError: kaboom\n    at boom (", "main.cjs:3:9)"}},
		{"throw at top level", "main.mjs", "console.log('before');\nthrow new TypeError('top');\n", 1, "before\n", []string{"TypeError: top\n    at "}},
		{"unhandled rejection", "main.mjs", "process.on('exit', c => console.log('exit', c));\nPromise.reject(new Error('rejected'));\n", 1, "exit 1\n", []string{"Error: rejected"}},
		{"unhandled rejection of a value", "main.mjs", "Promise.reject(42);", 1, "", []string{`[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "42".] {`, "code: 'ERR_UNHANDLED_REJECTION'"}},
		{"handled later is fine", "main.mjs", "const p = Promise.reject(new Error('x')); p.catch(() => console.log('caught'));", 0, "caught\n", nil},
		{"unhandledRejection listener", "main.mjs", "process.on('unhandledRejection', (r, p) => console.log('listener', r, p instanceof Promise)); Promise.reject(5);", 0, "listener 5 true\n", nil},
		{"unsettled top-level await", "main.mjs", "process.on('exit', c => console.log('exit', c)); await new Promise(() => {});", 13, "exit 0\n", nil},
		{"throw string", "main.cjs", "throw 'plain';", 1, "", []string{"plain\n"}},
		// 'uncaughtExceptionMonitor' sees each uncaught error and its
		// origin before the process dies, and also when a listener takes it.
		{"monitor", "main.js", monitor + "setTimeout(() => { throw new Error('boom'); }, 1);", 1, "monitor boom uncaughtException\nexit 1\n", []string{"Error: boom"}},
		{"monitor and handler", "main.js", monitor + "process.on('uncaughtException', (e, o) => console.log('handler', e.message, o));\nsetTimeout(() => { throw new Error('boom'); }, 1);", 0, "monitor boom uncaughtException\nhandler boom uncaughtException\nexit 0\n", nil},
		{"monitor of a rejection", "main.js", monitor + "Promise.reject(new Error('rej'));", 1, "monitor rej unhandledRejection\nexit 1\n", []string{"Error: rej"}},
		{"monitor of a top-level throw", "main.js", monitor + "throw new Error('top');", 1, "monitor top uncaughtException\nexit 1\n", []string{"Error: top"}},
		{"monitor of an ES module's throw", "main.mjs", monitor + "await null;\nthrow new Error('top');", 1, "monitor top unhandledRejection\nexit 1\n", []string{"Error: top"}},
		// What an 'exit' listener throws is an uncaught exception: printed,
		// and the code is process.exitCode, by default 1; the listeners
		// after it do not run.
		{"exit listener throws", "main.js", exitThrows, 1, "monitor in exit uncaughtException\n", []string{"main.js:1\n", "Error: in exit\n    at "}},
		{"exit listener throws with exitCode", "main.js", exitThrows + "process.exitCode = 3;", 3, "monitor in exit uncaughtException\n", []string{"Error: in exit"}},
		{"exit listener throws in process.exit", "main.js", exitThrows + "process.exit(5);", 5, "monitor in exit uncaughtException\n", []string{"Error: in exit"}},
		{"exit listener throws to a handler", "main.js", exitThrows + "process.on('uncaughtException', (e, o) => console.log('handler', e.message, o));", 0, "monitor in exit uncaughtException\nhandler in exit uncaughtException\n", nil},
		{"exit listener throws while dying", "main.js", exitThrows + "throw new Error('first');", 1, "monitor first uncaughtException\n", []string{"Error: first"}},
		// Recursion past the call-depth limit is V8's RangeError (not
		// gigabytes of frames); recursion as deep as Node allows runs.
		{"stack overflow", "main.js", "process.on('exit', c => console.log('exit', c));\nfunction f (n) { return f(n + 1) + 1; }\nf(0);", 1, "exit 1\n", []string{"RangeError: Maximum call stack size exceeded\n    at f ("}},
		{"stack overflow to a handler", "main.js", "process.on('uncaughtException', e => console.log(e instanceof RangeError, e.message));\nfunction f (n) { return f(n + 1) + 1; }\nsetTimeout(f, 1, 0);\nsetTimeout(() => console.log('still running'), 30);", 0, "true Maximum call stack size exceeded\nstill running\n", nil},
		{"stack overflow caught", "main.js", "function f (n) { return f(n + 1) + 1; }\nlet caught;\ntry {\n  f(0);\n} catch (e) {\n  caught = e;\n}\nconsole.log(caught instanceof RangeError, caught.message);\ntry { f(0); } catch (e) { console.log('again', e.name); }", 0, "true Maximum call stack size exceeded\nagain RangeError\n", nil},
		{"deep recursion", "main.js", "const d = n => n === 0 ? 0 : 1 + d(n - 1);\nconst m = n => n === 0 ? [0] : [n].map(x => m(x - 1)[0] + 1);\nconsole.log(d(9000), m(2500)[0]);", 0, "9000 2500\n", nil},
		// A throwing 'uncaughtException' listener: its error, code 7.
		{"handler throws", "main.js", "process.on('exit', c => console.log('exit', c));\nprocess.on('uncaughtException', () => { throw new Error('handler'); });\nthrow new Error('first');", 7, "", []string{"Error: handler"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dir := runFiles(t, map[string]string{tt.entry: tt.script}, tt.entry)
			if got.err != nil || got.code != tt.code || got.stdout != tt.stdout {
				t.Errorf("code %d (want %d), err %v, stdout %q (want %q), stderr:\n%s", got.code, tt.code, got.err, got.stdout, tt.stdout, got.stderr)
			}
			rest := got.stderr
			for _, s := range tt.stderr {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Errorf("stderr lacks %q:\n%s", s, got.stderr)
					break
				}
				rest = rest[i+len(s):]
			}
			if node, ok := runNode(t, dir, tt.entry); ok && (node.code != got.code || node.stdout != got.stdout) {
				t.Errorf("node: code %d stdout %q; isowasm: code %d stdout %q", node.code, node.stdout, got.code, got.stdout)
			}
		})
	}
}

func TestBundleCache(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.mjs": "import {v} from './dep.mjs'; console.log(v);", "dep.mjs": "export const v = 1;"})
	if r := run(t, dir, "main.mjs"); r.stdout != "1\n" {
		t.Fatalf("first run: %+v", r)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, ".cache", "bundles", "*.js"))
	if len(entries) != 1 {
		t.Fatalf("cache entries: %v", entries)
	}
	if b := readCached(entries[0]); b == nil || len(b.Inputs) != 2 {
		t.Fatalf("cached bundle not readable: %+v", b)
	}
	// A changed import invalidates the entry.
	if err := os.WriteFile(filepath.Join(dir, "dep.mjs"), []byte("export const v = 2;"), 0o644); err != nil {
		t.Fatal(err)
	}
	if readCached(entries[0]) != nil {
		t.Fatal("stale bundle still valid")
	}
	if r := run(t, dir, "main.mjs"); r.stdout != "2\n" {
		t.Fatalf("after a change: %+v", r)
	}
}

func TestContextEnds(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.mjs": "setInterval(() => {}, 5); let spin = () => { for (;;) {} }; setTimeout(spin, 20);"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, err := Run(ctx, Config{Script: filepath.Join(dir, "main.mjs"), CacheDir: "off"})
	if !errors.Is(err, context.DeadlineExceeded) || code != 1 {
		t.Errorf("code %d, err %v", code, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestCrypto: node:crypto's randomness and digests, as Node gives them.
func TestCrypto(t *testing.T) {
	r, dir := runFiles(t, map[string]string{"main.mts": `import crypto, {randomUUID} from 'node:crypto';
import {createHash} from 'crypto';
const id: string = randomUUID();
console.log(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id), id !== randomUUID());
const bytes = crypto.randomBytes(16);
console.log(bytes.length, Buffer.isBuffer(bytes), crypto.randomBytes(0).length);
console.log(createHash('sha256').update('abc').digest('hex'));
console.log(crypto.createHmac('sha1', 'key').update('a').update(Buffer.from('b')).digest('base64'));
const n = crypto.randomInt(3, 5);
console.log(n === 3 || n === 4, typeof globalThis.crypto.randomUUID());
`}, "main.mts")
	want := "true true\n16 true 0\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n1lnIpieF/KDQMpxudn7kgX40Yo0=\ntrue string\n"
	if r.stdout != want || r.code != 0 {
		t.Errorf("code %d stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	_ = dir
}
