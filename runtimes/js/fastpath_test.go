package js

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The fast paths of a message's way through a worker (batched delivery,
// the message emit, ClusterWorker.send's host-settled promise, the lazily
// compiled built-ins), each checked against what the general way does.

// startRuntime is startWorker with the runtime at hand, so a test can post
// to its loop (a batch of messages as the channel reader would hand it
// over); maxFrame limits the frames the worker may send (0: default).
func startRuntime(t *testing.T, dir, entry string, maxFrame int) (*fakePrimary, *runtime, <-chan result) {
	t.Helper()
	p, ch := newFakePrimary(t, maxFrame)
	script := filepath.Join(dir, entry)
	var stdout, stderr syncBuffer
	cfg := Config{Script: script, Stdout: &stdout, Stderr: &stderr, Channel: ch, CacheDir: filepath.Join(dir, ".cache")}
	b, err := load(script, cfg.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	prg, err := compile(script, b)
	if err != nil {
		t.Fatal(err)
	}
	r := newRuntime(cfg, time.Now())
	done := make(chan result, 1)
	go func() {
		defer ch.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		code, err := r.run(ctx, prg, b.ESM)
		done <- result{stdout: stdout.String(), stderr: stderr.String(), code: code, err: err}
	}()
	return p, r, done
}

// deliverBatch hands the worker JSON values as one batch, as its channel
// reader does with frames that arrive while the loop is busy.
func deliverBatch(t *testing.T, r *runtime, jsonTexts ...string) {
	t.Helper()
	var payloads [][]byte
	for _, text := range jsonTexts {
		p, err := jsonToCBOR(text)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	if !r.loop.post(func() { channelHandler{r}.deliver(payloads) }) {
		t.Fatal("the loop has ended")
	}
}

// TestBatchDelivery: the messages of one batch are emitted in order, as
// Node emits those of one read (a nextTick each): the ticks their
// handlers queue run after the batch's last message, the promise jobs
// after every tick; a handler that throws does not lose the messages
// after it.
func TestBatchDelivery(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
const log = [];
process.on('uncaughtException', error => log.push('caught ' + error.message));
process.on('message', m => {
	log.push('m' + m);
	process.nextTick(() => log.push('t' + m));
	Promise.resolve().then(() => log.push('p' + m));
	if (m === 5) {
		throw new Error('five');
	}
	if (m === 3 || m === 7) {
		setImmediate(() => {
			process.send(log.join(' '));
			log.length = 0;
		});
	}
});
process.send('ready');
`})
	p, r, done := startRuntime(t, dir, "worker.mjs", 0)
	if got := p.message(); got != `"ready"` {
		t.Fatalf("first message %s", got)
	}
	deliverBatch(t, r, "1", "2", "3")
	if got, want := p.message(), `"m1 m2 m3 t1 t2 t3 p1 p2 p3"`; got != want {
		t.Errorf("batch: got %s, want %s", got, want)
	}
	deliverBatch(t, r, "4", "5", "6", "7")
	got := p.message()
	// Where the promise jobs of the messages before the throw run is
	// goja's (they drain as the call unwinds); the rest is Node's order.
	for _, want := range []string{"m4 m5 ", "caught five m6 m7 t4 t5 t6 t7 "} {
		if !strings.Contains(got, want) {
			t.Errorf("batch with a throw: got %s, want %q in it", got, want)
		}
	}
	if strings.Count(got, "p") != 4 {
		t.Errorf("batch with a throw: got %s, want 4 promise jobs", got)
	}
	p.conn.Close()
	wait(t, done)
}

// TestMessageEmit: the message emit's fast path keeps EventEmitter's
// rules: listeners copied before the calls (removing or adding one
// mid-emit changes the next message only), this is process, a listener's
// own call property is not used, an overridden process.emit is called.
func TestMessageEmit(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
const log = [];
const a = function (m) { log.push('a' + m + (this === process)); process.removeListener('message', b); };
const b = m => log.push('b' + m);
const c = m => { log.push('c' + m); if (m === 1) process.on('message', d); };
const d = m => log.push('d' + m);
d.call = () => log.push('own call');
process.on('message', a);
process.on('message', b);
process.on('message', c);
process.on('message', m => {
	if (m === 2) {
		const emit = process.emit;
		process.emit = function (...args) { log.push('emit ' + args[0]); return Reflect.apply(emit, this, args); };
	}
	if (m === 3) {
		process.send(log.join(' '));
	}
});
process.send('ready');
`})
	p, done := startWorker(t, dir, "worker.mjs")
	if got := p.message(); got != `"ready"` {
		t.Fatalf("first message %s", got)
	}
	for _, m := range []string{"1", "2", "3"} {
		p.send(m)
	}
	// d (added during the first message) comes after the listener that
	// reports; its own call is never used.
	want := `"a1true b1 c1 a2true c2 d2 emit message a3true c3"`
	if got := p.message(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	p.conn.Close()
	wait(t, done)
}

// TestClusterWorkerSend: ClusterWorker.send takes the host's way (a promise
// settled from Go) while process.send is the runtime's, and process.send
// itself once a script replaces it; both resolve once written, and a
// failed write rejects with isotropic-cluster's error around the cause.
func TestClusterWorkerSend(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';

let settled = 0;
const sendSettled = __isowasm.sendSettled;
__isowasm.sendSettled = (...args) => {
	settled += 1;
	return Reflect.apply(sendSettled, __isowasm, args);
};
const worker = _ClusterWorker();
const processSend = process.send;
const report = text => Reflect.apply(processSend, process, ['report ' + text]);

worker.on('primaryMessage', async ({data: {message}}) => {
	if (message === 'fast') {
		const value = await worker.send({message: {n: 1}});
		report('fast ' + value + ' ' + settled);
	} else if (message === 'large') {
		try {
			await worker.send({message: {s: 'x'.repeat(2000)}});
			report('large sent');
		} catch (error) {
			report('large ' + error.message + ' / ' + error.error.code + ' ' + settled);
		}
	} else if (message === 'patched') {
		const send = process.send;
		process.send = function (...args) {
			report('patched send');
			return Reflect.apply(send, this, args);
		};
		const value = await worker.send({message: {n: 2}});
		process.send = send;
		report('patched ' + value + ' ' + settled);
	} else if (message === 'internal') {
		const value = await worker.send({message: {cmd: 'NODE_X'}});
		report('internal ' + value + ' ' + settled);
	} else if (message === 'throws') {
		try {
			await worker.send({message: {n: 1n}});
		} catch (error) {
			report('throws ' + error.message + ' ' + settled);
		}
	}
});
`})
	p, _, done := startRuntime(t, dir, "worker.mjs", 1024)
	if got := p.message(); got != `"ready"` {
		t.Fatalf("first message %s", got)
	}
	for _, step := range []struct {
		send string
		want []string
	}{
		{`"fast"`, []string{`{"n":1}`, `"report fast undefined 1"`}},
		{`"large"`, []string{`"report large Error sending message to primary / ERR_ISOWASM_MESSAGE_TOO_LARGE 2"`}},
		{`"patched"`, []string{`"report patched send"`, `{"n":2}`, `"report patched undefined 2"`}},
		{`"internal"`, []string{`"report internal undefined 2"`}},
		{`"throws"`, []string{`"report throws Do not know how to serialize a BigInt 3"`}},
	} {
		p.send(step.send)
		for _, want := range step.want {
			if got := p.message(); got != want {
				t.Errorf("after %s: got %s, want %s", step.send, got, want)
			}
		}
	}
	p.conn.Close()
	wait(t, done)
}

// TestLazyBuiltins: a worker that needs none of the lazy built-ins compiles
// none; the globals that load them are accessors until assigned, as in
// Node, and give the modules' own objects.
func TestLazyBuiltins(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"plain.mjs": `
process.on('message', m => process.send({m}));
setTimeout(() => process.send('ready'), 1);
`,
		"uses.mjs": `
import {Buffer as B} from 'node:buffer';
import util from 'node:util';
import path from 'node:path';
import os from 'node:os';
const shape = name => {
	const d = Object.getOwnPropertyDescriptor(globalThis, name);
	return name + ':' + ('value' in d ? 'value' : 'accessor') + ':' + d.enumerable;
};
const before = ['Buffer', 'TextEncoder', 'TextDecoder', 'crypto'].map(shape).join(' ');
const checks = [
	Buffer === B,
	Buffer.from('hi').toString('hex') === '6869',
	new TextDecoder().decode(new TextEncoder().encode('é')) === 'é',
	typeof crypto.randomUUID() === 'string',
	util.inspect({a: [1]}) === '{ a: [ 1 ] }',
	path.join('/a', 'b') === '/a/b',
	typeof os.release() === 'string' && os.release().length > 0
];
globalThis.Buffer = 5;
console.log(before, shape('Buffer'), Buffer, checks.join(' '));
console.log({x: 1});
process.send('done');
`,
	})
	p, r, done := startRuntime(t, dir, "plain.mjs", 0)
	if got := p.message(); got != `"ready"` {
		t.Fatalf("first message %s", got)
	}
	p.conn.Close()
	wait(t, done)
	if len(r.lazy) != 0 {
		t.Errorf("a plain worker loaded %d lazy built-ins", len(r.lazy))
	}
	p, r, done = startRuntime(t, dir, "uses.mjs", 0)
	if got := p.message(); got != `"done"` {
		t.Fatalf("message %s", got)
	}
	p.conn.Close()
	res := wait(t, done)
	want := "Buffer:accessor:false TextEncoder:accessor:false TextDecoder:accessor:false crypto:accessor:true Buffer:value:false 5 true true true true true true true\n{ x: 1 }\n"
	if res.stdout != want {
		t.Errorf("stdout %q, want %q (stderr %s)", res.stdout, want, res.stderr)
	}
	if len(r.lazy) == 0 {
		t.Error("no lazy built-in was loaded")
	}
}

// TestWTF8Plain: the vectorised scan finds an encoded surrogate (ED A0-BF
// ..) wherever it is, and lets other ED sequences (U+D000-U+D7FF) pass.
func TestWTF8Plain(t *testing.T) {
	long := strings.Repeat("x", 1000)
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"", true},
		{"plain", true},
		{"\xed", true},
		{"\xed\x9f\xbf", true},               // U+D7FF
		{"\xed\x9f\xbf\xed\x80\x80 x", true}, // two ED that are not surrogates
		{"\xed\xa0\x80", false},              // U+D800 alone
		{long + "\xed\x9f\xbf" + long + "\xed\xbf\xbf", false}, // a surrogate after another ED
		{long + "\xed", true},
	} {
		if got := wtf8Plain([]byte(c.s)); got != c.want {
			t.Errorf("wtf8Plain(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}
