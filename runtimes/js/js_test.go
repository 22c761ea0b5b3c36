package js

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// result is what a script run produced.
type result struct {
	stdout, stderr string
	code           int
	err            error
}

// writeFiles writes name → contents under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the writes of one runtime and the
// reads of the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs entry (a file under dir) with isowasm.
func run(t *testing.T, dir, entry string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code, err := Run(ctx, Config{
		Script:   filepath.Join(dir, entry),
		Args:     args,
		Env:      []string{"ISO_TEST=1"},
		Stdout:   &stdout,
		Stderr:   &stderr,
		CacheDir: filepath.Join(dir, ".cache"),
	})
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code, err: err}
}

// runFiles writes files to a fresh directory and runs entry.
func runFiles(t *testing.T, files map[string]string, entry string) (result, string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return run(t, dir, entry), dir
}

// runNode runs entry under Node, or skips the comparison when Node is not
// installed.
func runNode(t *testing.T, dir, entry string) (result, bool) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Log("node is not installed: comparing with the recorded expectation only")
		return result{}, false
	}
	cmd := exec.Command(node, strings.Split(entry, "\x00")...)
	cmd.Dir = dir
	cmd.Env = []string{"ISO_TEST=1"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running node: %v", err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}, true
}

func TestLoopOrder(t *testing.T) {
	tests := []struct {
		name, entry, script, want string
	}{{
		name:  "esm main",
		entry: "main.mjs",
		script: `
process.nextTick(() => console.log('tick 1'));
Promise.resolve().then(() => { console.log('promise 1'); process.nextTick(() => console.log('tick in promise')); });
setTimeout(() => console.log('timeout 0'), 0);
setTimeout(() => console.log('timeout 1'), 1);
setImmediate(() => console.log('immediate'));
queueMicrotask(() => console.log('microtask'));
process.nextTick(() => { console.log('tick 2'); Promise.resolve().then(() => console.log('promise in tick')); });
console.log('main');
`,
		want: "main\npromise 1\nmicrotask\ntick 1\ntick 2\ntick in promise\npromise in tick\nimmediate\ntimeout 0\ntimeout 1\n",
	}, {
		name:  "cjs main",
		entry: "main.cjs",
		script: `
process.nextTick(() => console.log('tick 1'));
Promise.resolve().then(() => { console.log('promise 1'); process.nextTick(() => console.log('tick in promise')); });
process.nextTick(() => { console.log('tick 2'); Promise.resolve().then(() => console.log('promise in tick')); });
console.log('main');
`,
		want: "main\ntick 1\ntick 2\npromise 1\npromise in tick\ntick in promise\n",
	}, {
		name:  "inside a timer",
		entry: "main.mjs",
		script: `
setTimeout(() => {
	setTimeout(() => console.log('timeout 0'), 0);
	setImmediate(() => {
		console.log('immediate 1');
		process.nextTick(() => console.log('tick after immediate 1'));
		Promise.resolve().then(() => console.log('promise after immediate 1'));
	});
	setImmediate(() => console.log('immediate 2'));
	process.nextTick(() => console.log('tick'));
	Promise.resolve().then(() => console.log('promise'));
	console.log('timer');
}, 2);
`,
		want: "timer\ntick\npromise\nimmediate 1\ntick after immediate 1\npromise after immediate 1\nimmediate 2\ntimeout 0\n",
	}, {
		name:  "timers between each other",
		entry: "main.mjs",
		script: `
for (let i = 0; i < 5; i++) {
	setTimeout(() => {
		console.log('t' + i);
		process.nextTick(() => console.log('tick ' + i));
		Promise.resolve().then(() => console.log('promise ' + i));
		if (i === 4) {
			let n = 0;
			const iv = setInterval(() => { console.log('interval'); if (++n === 3) clearInterval(iv); }, 1);
		}
	}, 3);
}
const cancelled = setTimeout(() => console.log('cancelled'), 2);
clearTimeout(cancelled);
const im = setImmediate(() => console.log('cancelled immediate'));
clearImmediate(im);
`,
		want: "t0\ntick 0\npromise 0\nt1\ntick 1\npromise 1\nt2\ntick 2\npromise 2\nt3\ntick 3\npromise 3\nt4\ntick 4\npromise 4\ninterval\ninterval\ninterval\n",
	}, {
		name:  "unref and beforeExit",
		entry: "main.mjs",
		script: `
const t = setTimeout(() => console.log('unref never'), 50);
t.unref();
console.log(t.hasRef());
let once = false;
process.on('beforeExit', code => {
	console.log('beforeExit', code);
	if (!once) { once = true; setTimeout(() => console.log('more work'), 1); }
});
process.on('exit', code => console.log('exit', code));
`,
		want: "false\nbeforeExit 0\nmore work\nbeforeExit 0\nexit 0\n",
	}, {
		name:  "uncaughtException listener",
		entry: "main.mjs",
		script: `
process.on('uncaughtException', (error, origin) => console.log('caught', error.message, origin));
setTimeout(() => { throw new Error('in timer'); }, 1);
setTimeout(() => console.log('still running'), 5);
`,
		want: "caught in timer uncaughtException\nstill running\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{tt.entry: tt.script}
			got, dir := runFiles(t, files, tt.entry)
			if got.err != nil || got.code != 0 {
				t.Fatalf("code %d, err %v, stderr:\n%s", got.code, got.err, got.stderr)
			}
			if got.stdout != tt.want {
				t.Errorf("isowasm printed:\n%s\nwant:\n%s", got.stdout, tt.want)
			}
			if node, ok := runNode(t, dir, tt.entry); ok && node.stdout != got.stdout {
				t.Errorf("node printed:\n%s\nisowasm printed:\n%s", node.stdout, got.stdout)
			}
		})
	}
}

func TestConsoleFormat(t *testing.T) {
	// Each line is console.log'd in isowasm and in Node.
	lines := []struct{ args, want string }{
		{`'%s and %s', 'a', 'b'`, "a and b"},
		{`'%d %i %f', '42', 3.9, '1.5'`, "42 3 1.5"},
		{`'%j', {a: [1, 'x']}`, `{"a":[1,"x"]}`},
		{`'%o', [1]`, "[ 1, [length]: 1 ]"},
		{`'%O', {a: {b: {c: {d: 1}}}}`, "{ a: { b: { c: [Object] } } }"},
		{`'100%%', 'extra'`, "100% extra"},
		{`'%s', -0`, "-0"},
		{`'%s', {a: 1}`, "{ a: 1 }"},
		{`'%c styled', 'color: red'`, " styled"},
		{`1, 'two', [3], {four: 4}`, "1 two [ 3 ] { four: 4 }"},
		{`'str', undefined, null, true, 10n, Symbol('s')`, "str undefined null true 10n Symbol(s)"},
		{`['a', "it's", 'say "hi"']`, `[ 'a', "it's", 'say "hi"' ]`},
		{`{'a-b': 1, 2: 'x', [Symbol('k')]: 3}`, "{ '2': 'x', 'a-b': 1, [Symbol(k)]: 3 }"},
		{`new Map([['k', {v: 1}]]), new Set(['a'])`, "Map(1) { 'k' => { v: 1 } } Set(1) { 'a' }"},
		{`[undefined, , 3]`, "[ undefined, <1 empty item>, 3 ]"},
		{`Array.from({length: 30}, (_, i) => i)`, "[\n   0,  1,  2,  3,  4,  5,  6,  7,  8,\n   9, 10, 11, 12, 13, 14, 15, 16, 17,\n  18, 19, 20, 21, 22, 23, 24, 25, 26,\n  27, 28, 29\n]"},
		{`{long: 'x'.repeat(60), other: 'y'.repeat(60), third: 1}`, "{\n  long: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',\n  other: 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy',\n  third: 1\n}"},
		{`(() => { const o = {name: 'o'}; o.self = o; return o; })()`, "<ref *1> { name: 'o', self: [Circular *1] }"},
		{`function named () {}, () => {}, class K {}, async function af () {}`, "[Function: named] [Function (anonymous)] [class K] [AsyncFunction: af]"},
		{`new Date(0), /re/g, new Number(3), new String('s')`, "1970-01-01T00:00:00.000Z /re/g [Number: 3] [String: 's']"},
		{`Object.create(null)`, "[Object: null prototype] {}"},
		{`new (class Point { constructor () { this.x = 1; } })()`, "Point { x: 1 }"},
		{`new Uint8Array([1, 2])`, "Uint8Array(2) [ 1, 2 ]"},
		{`Buffer.from('hi')`, "<Buffer 68 69>"},
		{`Promise.resolve(4), new Promise(() => {})`, "Promise { 4 } Promise { <pending> }"},
		{`{a: [{b: 1}], s: 'multi\nline'}`, "{ a: [ { b: 1 } ], s: 'multi\\nline' }"},
		{`[[1, [2, [3, [4]]]]]`, "[ [ 1, [ 2, [Array] ] ] ]"},
		{`new Error('plain').message`, "plain"},
	}
	var script strings.Builder
	var want strings.Builder
	for _, l := range lines {
		script.WriteString("console.log(" + l.args + ");\n")
		want.WriteString(l.want + "\n")
	}
	got, dir := runFiles(t, map[string]string{"main.mjs": script.String()}, "main.mjs")
	if got.err != nil || got.code != 0 {
		t.Fatalf("code %d, err %v, stderr:\n%s", got.code, got.err, got.stderr)
	}
	compareLines(t, "want", want.String(), got.stdout)
	if node, ok := runNode(t, dir, "main.mjs"); ok {
		compareLines(t, "node", node.stdout, got.stdout)
	}

	t.Run("streams", func(t *testing.T) {
		got, _ := runFiles(t, map[string]string{"main.mjs": `
console.error('to %s', 'stderr');
console.warn('warned');
console.info('info');
console.debug('debug');
process.stdout.write('raw\n');
process.stderr.write(new Uint8Array([104, 105, 10]));
`}, "main.mjs")
		if got.stdout != "info\ndebug\nraw\n" || got.stderr != "to stderr\nwarned\nhi\n" {
			t.Errorf("stdout %q, stderr %q", got.stdout, got.stderr)
		}
	})
	t.Run("error", func(t *testing.T) {
		got, _ := runFiles(t, map[string]string{"main.mjs": `
function thrower () { const e = new TypeError('bad thing'); e.code = 'E_BAD'; return e; }
console.log(thrower());
console.log({nested: new RangeError('deep')}.nested.message);
`}, "main.mjs")
		if !strings.HasPrefix(got.stdout, "TypeError: bad thing\n    at thrower (") || !strings.Contains(got.stdout, "main.mjs:2:33)") || !strings.Contains(got.stdout, "{\n  code: 'E_BAD'\n}\ndeep\n") {
			t.Errorf("got:\n%s", got.stdout)
		}
	})
}

// compareLines reports the lines that differ.
func compareLines(t *testing.T, label, want, got string) {
	t.Helper()
	if want == got {
		return
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			t.Errorf("line %d: %s %q, isowasm %q", i+1, label, a, b)
		}
	}
}
