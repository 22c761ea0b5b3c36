package js

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runPrimary runs entry (a file under dir) as a cluster primary: its
// workers are this test binary re-run as workers.
func runPrimary(t *testing.T, dir, entry string, args ...string) result {
	t.Helper()
	return runPrimaryConfig(t, dir, entry, func(*Config) {}, args...)
}

func runPrimaryConfig(t *testing.T, dir, entry string, edit func(*Config), args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	procs := newSubprocs(&stdout, &stderr, "ISOWASM_TEST_CACHE="+filepath.Join(dir, ".cache"))
	defer procs.Close()
	cfg := Config{
		Script: filepath.Join(dir, entry), Args: args, Env: []string{"ISO_TEST=1"},
		Stdout: &stdout, Stderr: &stderr, CacheDir: filepath.Join(dir, ".cache"), Processes: procs,
	}
	edit(&cfg)
	code, err := Run(ctx, cfg)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code, err: err}
}

// TestPrimary runs primary scripts that use node:cluster directly and
// compares their output with the recorded expectation and, where Node is
// installed, with Node's.
func TestPrimary(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		args     []string
		builtins bool // Node needs the hooks that serve isowasm's built-ins
		want     string
	}{{
		name: "lifecycle",
		args: []string{"a", "b"},
		files: map[string]string{"main.mjs": `import cluster from 'node:cluster';
import process from 'node:process';
import net from 'node:net';
const log = (...a) => console.log(...a);
if (cluster.isPrimary) {
    cluster.on('setup', s => log('setup', typeof s.exec, s.args.length, s.silent));
    cluster.on('fork', w => log('fork', w.id, w.state, w.isConnected(), w.isDead(), typeof w.process.pid));
    cluster.on('online', w => log('online', w.id, w.state));
    cluster.on('listening', (w, a) => {
        log('listening', w.id, w.state, a.address, a.addressType, Object.keys(a).sort().join(), a.port > 0);
        w.send({hello: 'worker', n: 1}, error => log('send callback', error));
    });
    cluster.on('message', (w, m) => {
        log('message', w.id, JSON.stringify(m));
        w.disconnect();
        log('after disconnect()', w.id in cluster.workers, w.isConnected(), w.exitedAfterDisconnect);
    });
    cluster.on('disconnect', w => log('disconnect', w.id, w.state, w.exitedAfterDisconnect, w.isConnected()));
    cluster.on('exit', (w, c, s) => {
        log('exit', w.id, c, s, w.exitedAfterDisconnect, w.state, w.isDead(), Object.keys(cluster.workers).length);
        w.send('late', error => log('late send', error.code, error.message));
    });
    const w = cluster.fork({EXTRA: 'e'});
    log('forked', w.id, Object.keys(cluster.workers), w.process.connected, w.process.stdout, w.process.spawnargs.length > 1);
    w.process.on('exit', (c, s) => log('process exit', c, s, w.process.exitCode, w.process.signalCode));
    log('isPrimary', cluster.isPrimary, cluster.isMaster, cluster.isWorker, cluster.worker);
} else {
    net.createServer().listen(0);
    process.on('message', m => {
        process.send({echo: m, env: process.env.EXTRA, unique: process.env.NODE_UNIQUE_ID, id: cluster.worker.id, argv: process.argv.slice(2)});
    });
}
`},
		want: `forked 1 [ '1' ] true null true
isPrimary true true false undefined
setup string 2 false
fork 1 none true false number
online 1 online
listening 1 listening null 4 address,addressType,fd,port true
send callback null
message 1 {"echo":{"hello":"worker","n":1},"env":"e","id":1,"argv":["a","b"]}
after disconnect() false true true
disconnect 1 disconnected true false
exit 1 0 null true dead true 0
process exit 0 null 0 null
late send ERR_IPC_CHANNEL_CLOSED Channel closed
`,
	}, {
		name: "payloads",
		files: map[string]string{"main.mjs": `import cluster from 'node:cluster';
import process from 'node:process';
import util from 'node:util';
if (cluster.isPrimary) {
    const big = 'x'.repeat(1 << 20) + '\u00e9\ud83d\ude00';
    const values = [
        {a: 1, u: undefined, f () {}, s: Symbol('s'), d: new Date(0), n: NaN, i: -Infinity, z: -0, nested: [undefined, , 1, () => 1]},
        [1, 'two', null, true, {x: [{y: 2 ** 53 - 1}]}, 5e-324, 1.797e308],
        {2: 'b', 1: 'a', k: 'v', m: new Map([[1, 2]]), set: new Set([1]), re: /x/g, e: new Error('boom'), buf: Buffer.from('hi'), ta: new Uint8Array([1, 2])},
        {toJSON () { return {replaced: true}; }},
        'lone \ud800 surrogate',
        big,
        0, false, '', null
    ];
    const errorsFor = [10n, (() => { const c = {}; c.self = c; return c; })(), () => 1, Symbol('s'), undefined, {deep: {big: 1n}}];
    const w = cluster.fork();
    let i = 0;
    w.once('message', () => {
        for (const v of errorsFor) {
            try {
                w.send(v);
                console.log('sent?', typeof v);
            } catch (error) {
                console.log('throws', error.constructor.name, error.code, error.message.split('\n')[0]);
            }
        }
        for (const v of values) {
            w.send(v);
        }
    });
    w.on('message', m => {
        if (m === 'ready' && i === 0 && !w.started) { w.started = true; return; }
        const want = JSON.parse(JSON.stringify(values[i]));
        console.log(i, util.isDeepStrictEqual(m, want), typeof m === 'string' ? m.length : JSON.stringify(m));
        i += 1;
        if (i === values.length) {
            w.disconnect();
        }
    });
} else {
    process.on('message', m => process.send(m));
    process.send('ready');
}
`},
		want: `throws TypeError ERR_INVALID_ARG_TYPE The "message" argument must be one of type string, object, number, or boolean. Received type bigint (10n)
throws TypeError undefined Converting circular structure to JSON
throws TypeError ERR_INVALID_ARG_TYPE The "message" argument must be one of type string, object, number, or boolean. Received function 
throws TypeError ERR_INVALID_ARG_TYPE The "message" argument must be one of type string, object, number, or boolean. Received type symbol (Symbol(s))
throws TypeError ERR_MISSING_ARGS The "message" argument must be specified
throws TypeError undefined Do not know how to serialize a BigInt
0 true {"a":1,"d":"1970-01-01T00:00:00.000Z","n":null,"i":null,"z":0,"nested":[null,null,1,null]}
1 true [1,"two",null,true,{"x":[{"y":9007199254740991}]},5e-324,1.797e+308]
2 true {"1":"a","2":"b","k":"v","m":{},"set":{},"re":{},"e":{},"buf":{"type":"Buffer","data":[104,105]},"ta":{"0":1,"1":2}}
3 true {"replaced":true}
4 true 16
5 true 1048579
6 true 0
7 true false
8 true 0
9 true null
`,
	}, {
		name: "exit codes and signals",
		files: map[string]string{"main.mjs": `import cluster from 'node:cluster';
import process from 'node:process';
const modes = ['exit3', 'throw', 'reject', 'sigkill', 'sigterm', 'disconnect', 'kill', 'destroy', 'exitCode'];
if (cluster.isPrimary) {
    const results = {};
    cluster.on('exit', (w, code, signal) => {
        results[w.mode] = [w.id, code, signal, w.exitedAfterDisconnect];
        if (Object.keys(results).length === modes.length) {
            for (const m of modes) {
                console.log(m, ...results[m]);
            }
        }
    });
    cluster.on('message', (w, m) => {
        if (m === 'ready') {
            if (w.mode === 'destroy') {
                w.destroy();
            } else {
                w.send(w.mode);
            }
        }
    });
    for (const mode of modes) {
        const w = cluster.fork({MODE: mode});
        w.mode = mode;
    }
} else {
    process.on('message', m => {
        switch (m) {
            case 'exit3': process.exit(3);
            case 'throw': setTimeout(() => { throw new Error('thrown'); }); break;
            case 'reject': Promise.reject(new Error('rejected')); break;
            case 'sigkill': process.kill(process.pid, 'SIGKILL'); break;
            case 'sigterm': process.kill(process.pid); break;
            case 'disconnect': cluster.worker.disconnect(); break;
            case 'kill': cluster.worker.kill(); break;
            case 'exitCode': process.exitCode = 7; process.disconnect(); break;
        }
    });
    process.send('ready');
}
`},
		want: `exit3 1 3 null false
throw 2 1 null false
reject 3 1 null false
sigkill 4 null SIGKILL false
sigterm 5 null SIGTERM false
disconnect 6 0 null true
kill 7 0 null true
destroy 8 null SIGTERM false
exitCode 9 0 null false
`,
	}, {
		name: "two primaries in one process",
		files: map[string]string{"main.mjs": `import _ClusterPrimary from 'isotropic-cluster/lib/cluster-primary.js';
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
import cluster from 'node:cluster';
if (cluster.isPrimary) {
    const seen = {a: [], b: []};
    const a = _ClusterPrimary();
    let b;
    for (const [name, p] of [['a', a]]) {
        p.after('workerReady', ({data: {worker}}) => seen[name].push(` + "`" + `ready ${worker.id}` + "`" + `));
    }
    a.onceAfter('workerReady', () => {
        b = _ClusterPrimary();
        b.after('workerReady', ({data: {worker}}) => {
            seen.b.push(` + "`" + `ready ${worker.id}` + "`" + `);
            console.log('a workers', a.workers.map(w => w.id), 'b workers', b.workers.map(w => w.id));
            console.log('seen', JSON.stringify(seen));
            let done = 0;
            const finish = () => {
                done += 1;
                if (done === 2) {
                    console.log('both shut down', Object.keys(cluster.workers).length);
                }
            };
            a.onceAfter('shutDownComplete', finish);
            b.onceAfter('shutDownComplete', finish);
            a.shutDown();
            b.shutDown();
        });
        b.fork();
    });
    a.fork();
} else {
    _ClusterWorker();
}
`},
		builtins: true,
		want: `a workers [ 1, 2 ] b workers [ 2 ]
seen {"a":["ready 1","ready 2"],"b":["ready 2"]}
both shut down 0
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			r := runPrimary(t, dir, "main.mjs", tt.args...)
			if r.err != nil || r.code != 0 {
				t.Fatalf("code %d, err %v\nstdout:\n%s\nstderr:\n%s", r.code, r.err, r.stdout, r.stderr)
			}
			if filterLogs(r.stdout) != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", r.stdout, tt.want, r.stderr)
			}
			var nodeArgs []string
			if tt.builtins {
				register, _ := filepath.Abs("builtins/test/register-builtins.mjs")
				nodeArgs = append(nodeArgs, "--import", register)
			}
			nodeArgs = append(append(nodeArgs, "main.mjs"), tt.args...)
			if n, ok := runNode(t, dir, strings.Join(nodeArgs, "\x00")); ok && filterLogs(n.stdout) != tt.want {
				t.Errorf("node's stdout differs from the expectation:\n%s", n.stdout)
			}
		})
	}
}

// filterLogs drops isotropic-logger's JSON lines.
func filterLogs(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(line, `{"name":"isotropic"`) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestPrimaryWithoutProcesses: a script that forks, run without Processes,
// gets an error that says how to run it.
func TestPrimaryWithoutProcesses(t *testing.T) {
	r, _ := runFiles(t, map[string]string{"app.mjs": "import cluster from 'node:cluster';\ntry { cluster.fork(); } catch (e) { console.log(e.message); }\n"}, "app.mjs")
	if want := "cluster.fork(): this script is a cluster primary but was not run as one: run it with `isowasm run app.mjs`\n"; r.stdout != want || r.code != 0 {
		t.Errorf("code %d stdout %q stderr %s", r.code, r.stdout, r.stderr)
	}
}

// TestPrimarySignals: a signal is a process event when the script listens,
// else the script ends with 128+signal, as Node's default handler.
func TestPrimarySignals(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.mjs": `import 'node:cluster';
const keep = setInterval(() => {}, 1000);
process.on('SIGTERM', (name, number) => {
    console.log('got', name, number);
    process.removeAllListeners('SIGTERM');
    process.kill(process.pid, 'SIGINT');
});
process.on('SIGINT', function onInt (name) {
    console.log('got', name);
    process.removeListener('SIGINT', onInt);
    console.log('ready');
});
console.log('listening');
`})
	signals := make(chan os.Signal, 2)
	out := newWatchedBuffer()
	done := make(chan result, 1)
	go func() {
		done <- runPrimaryConfig(t, dir, "main.mjs", func(c *Config) { c.Signals = signals; c.Stdout = out })
	}()
	out.wait(t, "listening\n")
	signals <- syscall.SIGTERM
	out.wait(t, "ready\n")
	signals <- syscall.SIGINT
	r := <-done
	if want := "listening\ngot SIGTERM 15\ngot SIGINT\nready\n"; out.String() != want || r.code != 130 || r.err != nil {
		t.Errorf("code %d err %v stdout %q", r.code, r.err, out.String())
	}
}

// TestInspect tells primary scripts from worker scripts.
func TestInspect(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"primary.mjs":  "import P from 'isotropic-cluster/lib/cluster-primary.js';\nP();\n",
		"cluster.cjs":  "const cluster = require('cluster');\n",
		"node.ts":      "import cluster from 'node:cluster';\nconst n: boolean = cluster.isPrimary;\n",
		"indirect.mjs": "import './lib.mjs';\n",
		"lib.mjs":      "import cluster from 'node:cluster';\n",
		"worker.mjs":   "import W from 'isotropic-cluster/lib/cluster-worker.js';\nW();\n",
		"plain.mts":    "const x: string = 'a';\nconsole.log(x);\n",
	})
	for file, want := range map[string]bool{"primary.mjs": true, "cluster.cjs": true, "node.ts": true, "indirect.mjs": true, "worker.mjs": false, "plain.mts": false} {
		info, err := Inspect(filepath.Join(dir, file), filepath.Join(dir, ".cache"))
		if err != nil || info.Primary != want {
			t.Errorf("%s: %+v, %v; want Primary %v", file, info, err, want)
		}
	}
	if _, err := Inspect(filepath.Join(dir, "missing.mjs"), "off"); err == nil {
		t.Error("Inspect of a missing script: no error")
	}
}

// watchedBuffer is a syncBuffer a test can wait on.
type watchedBuffer struct {
	syncBuffer
	changed chan struct{}
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{changed: make(chan struct{}, 1)} }

func (w *watchedBuffer) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (w *watchedBuffer) wait(t *testing.T, text string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(w.String(), text) {
		select {
		case <-w.changed:
		case <-deadline:
			t.Fatalf("no %q in %q", text, w.String())
		}
	}
}
