package js

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/host"
)

// fakePrimary is the primary's end of a worker channel over net.Pipe.
type fakePrimary struct {
	t      *testing.T
	conn   net.Conn
	w      *frame.Writer
	frames chan frame.Frame
}

// startWorker runs entry in dir as cluster worker 1 and returns the
// primary's end and the run's result.
func startWorker(t *testing.T, dir, entry string) (*fakePrimary, <-chan result) {
	t.Helper()
	return startWorkerEnv(t, dir, entry, nil)
}

// startWorkerEnv is startWorker with an environment and arguments.
func startWorkerEnv(t *testing.T, dir, entry string, env []string, args ...string) (*fakePrimary, <-chan result) {
	t.Helper()
	p, ch := newFakePrimary(t, 0)
	done := make(chan result, 1)
	go func() {
		var stdout, stderr syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		code, err := Run(ctx, Config{
			Script: filepath.Join(dir, entry), Args: args, Env: env, Stdout: &stdout, Stderr: &stderr,
			Channel: ch, CacheDir: filepath.Join(dir, ".cache"),
		})
		done <- result{stdout: stdout.String(), stderr: stderr.String(), code: code, err: err}
	}()
	return p, done
}

// newFakePrimary connects a worker channel (frames up to maxFrame bytes; 0:
// the default) to a fake primary, which has read the worker's hello.
func newFakePrimary(t *testing.T, maxFrame int) (*fakePrimary, *host.Channel) {
	t.Helper()
	pc, wc := net.Pipe()
	t.Cleanup(func() { pc.Close() })
	p := &fakePrimary{t: t, conn: pc, w: frame.NewWriter(pc, 0), frames: make(chan frame.Frame, 256)}
	go func() {
		defer close(p.frames)
		r := frame.NewReader(pc, 0)
		for {
			f, err := r.Read()
			if err != nil {
				return
			}
			p.frames <- f
		}
	}()
	ch, err := host.New(host.Config{WorkerID: 1, Cookie: "c", MaxFrameSize: maxFrame}, wc, "js")
	if err != nil {
		t.Fatal(err)
	}
	if f := p.next(); f.Type != frame.TypeHello {
		t.Fatalf("first frame %s, want hello", f.Type)
	}
	return p, ch
}

// next waits for the next frame from the worker.
func (p *fakePrimary) next() frame.Frame {
	p.t.Helper()
	select {
	case f, ok := <-p.frames:
		if !ok {
			p.t.Fatal("channel closed by the worker")
		}
		return f
	case <-time.After(10 * time.Second):
		p.t.Fatal("no frame from the worker")
	}
	return frame.Frame{}
}

// message waits for the next user message and returns it as JSON text.
func (p *fakePrimary) message() string {
	p.t.Helper()
	for {
		f := p.next()
		if f.Type != frame.TypeMessage {
			continue
		}
		text, err := cborToJSON(f.Body)
		if err != nil {
			p.t.Fatal(err)
		}
		return text
	}
}

func (p *fakePrimary) send(jsonText string) {
	p.t.Helper()
	payload, err := jsonToCBOR(jsonText)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.w.Write(frame.Message(payload)); err != nil {
		p.t.Fatal(err)
	}
}

func wait(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("the worker did not end")
	}
	return result{}
}

func TestChannelMessages(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
import cluster from 'node:cluster';
console.log('isWorker', cluster.isWorker, cluster.isPrimary, cluster.worker.id, process.connected);
process.on('message', m => {
	process.send({echo: m}, error => console.log('sent', error));
});
cluster.worker.on('message', m => console.log('worker message', JSON.stringify(m)));
cluster.worker.on('disconnect', () => console.log('worker disconnect'));
process.on('disconnect', () => console.log('disconnect', process.connected));
process.on('exit', code => console.log('exit', code));
process.send('ready');
`})
	p, done := startWorker(t, dir, "worker.mjs")
	if got := p.message(); got != `"ready"` {
		t.Fatalf("first message %s", got)
	}
	p.send(`{"n":1,"s":"x"}`)
	if got := p.message(); got != `{"echo":{"n":1,"s":"x"}}` {
		t.Fatalf("echo %s", got)
	}
	if err := p.w.Write(frame.Frame{Type: frame.TypeDisconnect}); err != nil {
		t.Fatal(err)
	}
	r := wait(t, done)
	// The send callback races with the disconnect request: no order.
	stdout := strings.Replace(r.stdout, "sent null\n", "", 1)
	want := "isWorker true false 1 true\nworker message {\"n\":1,\"s\":\"x\"}\nworker disconnect\ndisconnect false\nexit 0\n"
	if r.code != 0 || r.err != nil || stdout != want || !strings.Contains(r.stdout, "sent null\n") {
		t.Errorf("code %d err %v\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.code, r.err, r.stdout, want, r.stderr)
	}
}

func TestChannelPrimaryGone(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
process.on('disconnect', () => console.log('user disconnect listener'));
process.on('exit', code => console.log('exit', code));
setInterval(() => {}, 1000);
process.send('up');
`})
	p, done := startWorker(t, dir, "worker.mjs")
	p.message()
	p.conn.Close()
	r := wait(t, done)
	// Node's cluster child exits 0 in its own 'disconnect' listener, which
	// runs first: the user's never does.
	if r.code != 0 || r.stdout != "exit 0\n" {
		t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestChannelWorkerLeaves(t *testing.T) {
	tests := []struct{ name, call, want string }{
		{"disconnect", "cluster.worker.disconnect()", "disconnect\nexit 0\n"},
		{"kill", "cluster.worker.kill()", "disconnect\nexit 0\n"},
		{"process.exit", "process.exit(3)", "exit 3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"worker.mjs": `
import cluster from 'node:cluster';
process.on('disconnect', () => console.log('disconnect'));
process.on('exit', code => console.log('exit', code));
process.send('bye', () => { ` + tt.call + ` });
`})
			p, done := startWorker(t, dir, "worker.mjs")
			p.message()
			voluntary := false
			for f := range p.frames {
				if f.Type == frame.TypeExitedAfterDisconnect {
					voluntary = true
				}
			}
			r := wait(t, done)
			if r.stdout != tt.want || voluntary != (tt.name != "process.exit") {
				t.Errorf("stdout %q (want %q), exitedAfterDisconnect frame %v, stderr %q", r.stdout, tt.want, voluntary, r.stderr)
			}
			wantCode := 0
			if tt.name == "process.exit" {
				wantCode = 3
			}
			if r.code != wantCode {
				t.Errorf("code %d, want %d", r.code, wantCode)
			}
		})
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	// Every value goes to the primary, which echoes the CBOR back as it
	// came; the worker compares what returns with JSON.parse(JSON.stringify(v)).
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
const big = 'é'.repeat(1 << 19) + 'x'.repeat(1 << 19);
const values = [
	['string', 'hello'],
	['number', 42],
	['float', 0.1],
	['max safe', 2 ** 53 - 1],
	['min float', 5e-324],
	['max float', 1.797e308],
	['big integer', 1e20],
	['negative', -7.5],
	['NaN', NaN],
	['Infinity', [Infinity, -Infinity]],
	['minus zero', -0],
	['null', null],
	['bool', [true, false]],
	['undefined fields', {a: undefined, b: 1, f () {}, s: Symbol('s')}],
	['array holes', [1, , undefined, () => 1, 3]],
	['date', new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6))],
	['toJSON', {toJSON () { return {replaced: true}; }}],
	['map set regexp error', [new Map([[1, 2]]), new Set([1]), /x/g, new Error('e')]],
	['typed array', new Uint8Array([1, 2, 3])],
	['buffer', Buffer.from('hi')],
	['integer keys first', {b: 1, 2: 'two', a: 2, 1: 'one'}],
	['lone surrogates', '\ud800 a \udfff b \ud83d\ude00'],
	['unicode', 'héllo wörld ✓ 𝄞'],
	['nested', {a: {b: {c: {d: [1, {e: 'deep'}]}}}}],
	['empty', [{}, [], '']],
	['1 MiB string', big],
];
const expected = values.map(([, v]) => JSON.stringify(v));
let i = 0;
process.on('message', m => {
	const got = JSON.stringify(m);
	console.log(got === expected[i] ? 'ok' : 'MISMATCH', values[i][0], got === expected[i] ? '' : got.slice(0, 200) + ' vs ' + expected[i].slice(0, 200));
	i++;
	if (i === values.length) process.disconnect();
});
for (const [, v] of values) process.send(v);
`})
	p, done := startWorker(t, dir, "worker.mjs")
	go func() {
		for f := range p.frames {
			if f.Type == frame.TypeMessage {
				if err := p.w.Write(f); err != nil {
					return
				}
			}
		}
	}()
	r := wait(t, done)
	if r.code != 0 || strings.Contains(r.stdout, "MISMATCH") || strings.Count(r.stdout, "ok ") != 26 {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestSendErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
const attempt = (name, v) => {
	try { process.send(v); console.log(name, 'sent'); }
	catch (e) { console.log(name, e.name, e.code, JSON.stringify(e.message)); }
};
attempt('bigint', {n: 1n});
const o = {x: {y: {}}}; o.x.y.back = o;
attempt('circular', o);
attempt('undefined', undefined);
attempt('function', () => 1);
attempt('named', function named () {});
attempt('symbol', Symbol('s'));
attempt('internal', {cmd: 'NODE_CLUSTER', x: 1});
import cluster from 'node:cluster';
cluster.worker.disconnect();
process.on('disconnect', () => {
	console.log('send after disconnect returns', process.send('late', e => console.log('callback', e.name, e.code, e.message)));
});
`})
	p, done := startWorker(t, dir, "worker.mjs")
	for f := range p.frames {
		if f.Type == frame.TypeMessage {
			t.Error("a message was delivered")
		}
	}
	r := wait(t, done)
	want := `bigint TypeError undefined "Do not know how to serialize a BigInt"
circular TypeError undefined "Converting circular structure to JSON\n    --> starting at object with constructor 'Object'\n    |     property 'x' -> object with constructor 'Object'\n    |     property 'y' -> object with constructor 'Object'\n    --- property 'back' closes the circle"
undefined TypeError ERR_MISSING_ARGS "The \"message\" argument must be specified"
function TypeError ERR_INVALID_ARG_TYPE "The \"message\" argument must be one of type string, object, number, or boolean. Received function "
named TypeError ERR_INVALID_ARG_TYPE "The \"message\" argument must be one of type string, object, number, or boolean. Received function named"
symbol TypeError ERR_INVALID_ARG_TYPE "The \"message\" argument must be one of type string, object, number, or boolean. Received type symbol (Symbol(s))"
internal sent
send after disconnect returns false
callback Error ERR_IPC_CHANNEL_CLOSED Channel closed
`
	compareLines(t, "want", want, r.stdout)
	if r.code != 0 {
		t.Errorf("code %d, stderr %s", r.code, r.stderr)
	}
}

func TestPayloadCBOR(t *testing.T) {
	tests := []struct {
		json string
		cbor []byte
		back string // cborToJSON's text, when not json
	}{
		{`1`, []byte{0x01}, ""},
		{`-1`, []byte{0x20}, ""},
		{`9007199254740991`, []byte{0x1b, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ""},
		{`0.5`, []byte{0xfa, 0x3f, 0x00, 0x00, 0x00}, ""},
		{`"a"`, []byte{0x61, 'a'}, ""},
		{`"\ud800"`, []byte{0x63, 0xed, 0xa0, 0x80}, ""},
		{`"\ud83d\ude00"`, []byte{0x64, 0xf0, 0x9f, 0x98, 0x80}, `"😀"`},
		{`{"b":1,"a":[true,null]}`, []byte{0xa2, 0x61, 'b', 0x01, 0x61, 'a', 0x82, 0xf5, 0xf6}, ""},
	}
	for _, tt := range tests {
		got, err := jsonToCBOR(tt.json)
		if err != nil || string(got) != string(tt.cbor) {
			t.Errorf("jsonToCBOR(%s) = % x, %v; want % x", tt.json, got, err, tt.cbor)
		}
		want := tt.json
		if tt.back != "" {
			want = tt.back
		}
		back, err := cborToJSON(tt.cbor)
		if err != nil || back != want {
			t.Errorf("cborToJSON(% x) = %s, %v; want %s", tt.cbor, back, err, want)
		}
		if err := frame.Valid(got); err != nil {
			t.Errorf("frame.Valid(% x): %v", got, err)
		}
	}
	// What a Go primary may send beyond JSON.
	extra := []struct {
		v    any
		want string
	}{
		{[]byte{1, 2}, `{"type":"Buffer","data":[1,2]}`},
		{map[int]string{1: "x"}, `{"1":"x"}`},
		{float64(-0.0) * -1, `0`},
		{uint64(1 << 63), `9223372036854775808`},
	}
	for _, tt := range extra {
		b, err := frame.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cborToJSON(b)
		if err != nil || got != tt.want {
			t.Errorf("cborToJSON(%#v) = %s, %v; want %s", tt.v, got, err, tt.want)
		}
	}
	if _, err := cborToJSON([]byte{0x62, 'a'}); !errors.Is(err, errPayload) {
		t.Errorf("truncated text: %v", err)
	}
	// A large container widens its header in place.
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 300 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"k":[1,2]}`)
	}
	sb.WriteString("]")
	b, err := jsonToCBOR(sb.String())
	if err != nil {
		t.Fatal(err)
	}
	if back, err := cborToJSON(b); err != nil || back != sb.String() {
		t.Errorf("300 objects did not round-trip: %v", err)
	}
	var v any
	if err := frame.Unmarshal(b, &v); err != nil || len(v.([]any)) != 300 {
		t.Errorf("frame.Unmarshal: %v", err)
	}
}

func FuzzCBORToJSON(f *testing.F) {
	for _, s := range []string{`1`, `{"a":[1,"x",null]}`, `"\ud800"`} {
		b, _ := jsonToCBOR(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		text, err := cborToJSON(data)
		if err != nil {
			return
		}
		if _, err := jsonToCBOR(text); err != nil {
			t.Fatalf("cborToJSON output %q is not JSON: %v", text, err)
		}
	})
}

func TestWorkerListening(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.mjs": `
import net from 'node:net';
const server = net.createServer().listen(() => console.log('listening', server.address().port > 0));
server.on('close', () => console.log('closed'));
process.on('exit', code => console.log('exit', code));
`})
	p, done := startWorker(t, dir, "worker.mjs")
	var l frame.Listening
	for f := p.next(); ; f = p.next() {
		if f.Type == frame.TypeListening {
			if err := f.Decode(&l); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if l.Port <= 0 || l.AddressType != 4 && l.AddressType != 6 || l.Address != "" {
		t.Errorf("listening %+v", l)
	}
	// The primary's disconnect closes the server first; then nothing keeps
	// the worker alive.
	if err := p.w.Write(frame.Frame{Type: frame.TypeDisconnect}); err != nil {
		t.Fatal(err)
	}
	r := wait(t, done)
	if r.code != 0 || r.stdout != "listening true\nclosed\nexit 0\n" {
		t.Errorf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A worker that leaves of its own will (cluster.worker.disconnect() or
// destroy()) stays connected, as Node's does until its primary
// acknowledges: process.connected and worker.isConnected() are true
// through the ticks and promise jobs that follow, a message sent meanwhile
// reaches the primary, and both are false once 'disconnect' is emitted.
func TestChannelLeavingTiming(t *testing.T) {
	for _, call := range []string{"disconnect", "destroy"} {
		t.Run(call, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"worker.js": `const cluster = require('node:cluster');
const w = cluster.worker;
const log = at => console.log(at, w.isConnected(), process.connected);
process.on('disconnect', () => log('disconnect'));
process.on('exit', c => console.log('exit', c));
process.on('message', () => {
    w.` + call + `();
    log('sync');
    process.nextTick(() => log('tick'));
    Promise.resolve().then(() => log('promise'));
    process.send('sent after ` + call + `()');
});
process.send('ready');
`})
			p, done := startWorker(t, dir, "worker.js")
			p.message()
			p.send(`"go"`)
			var leaving bool
			var got []string
			for f := range p.frames {
				switch f.Type {
				case frame.TypeExitedAfterDisconnect:
					leaving = true
				case frame.TypeMessage:
					text, _ := cborToJSON(f.Body)
					got = append(got, text)
				}
			}
			r := wait(t, done)
			want := "sync true true\ntick true true\npromise true true\ndisconnect false false\nexit 0\n"
			if r.code != 0 || r.stdout != want {
				t.Errorf("code %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
			}
			if !leaving || len(got) != 1 || got[0] != `"sent after `+call+`()"` {
				t.Errorf("exited-after-disconnect frame %v, messages %q", leaving, got)
			}
		})
	}
}

// process.channel.unref() lets a worker with nothing else to do exit;
// ref() undoes it.
func TestChannelUnref(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.js": `require('node:cluster');
process.on('exit', c => console.log('exit', c, process.connected));
process.channel.unref();
process.channel.ref();
process.on('message', m => {
    console.log('message', m);
    process.channel.unref();
});
process.send('ready');
`})
	p, done := startWorker(t, dir, "worker.js")
	p.message()
	p.send(`"unref now"`)
	r := wait(t, done)
	if want := "message unref now\nexit 0 true\n"; r.code != 0 || r.stdout != want {
		t.Errorf("code %d stdout %q (want %q) stderr %q", r.code, r.stdout, want, r.stderr)
	}
}

// A worker whose handler recurses without end inside a try statement
// catches V8's RangeError and goes on with the next message.
func TestWorkerCatchesStackOverflow(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.js": `require('node:cluster');
const depth = n => depth(n + 1) + 1;
process.on('message', m => {
    try {
        depth(0);
    } catch (error) {
        process.send({message: m, caught: error.name + ': ' + error.message});
    }
});
process.send('ready');
`})
	p, done := startWorker(t, dir, "worker.js")
	p.message()
	for _, m := range []string{`"first"`, `"second"`} {
		p.send(m)
		if got, want := p.message(), `{"message":`+m+`,"caught":"RangeError: Maximum call stack size exceeded"}`; got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	if err := p.w.Write(frame.Frame{Type: frame.TypeDisconnect}); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, done); r.code != 0 || r.err != nil {
		t.Errorf("code %d err %v stderr %s", r.code, r.err, r.stderr)
	}
}
