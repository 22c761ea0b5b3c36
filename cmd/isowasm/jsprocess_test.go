package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// processSemantics is a primary script whose workers, one after the
// other, leave of their own will (and report what process.connected and
// worker.isConnected() said meanwhile), unref their channel and go idle,
// and recurse without end; the primary's own 'exit' listener then throws.
const processSemantics = `const cluster = require('node:cluster');
const roles = ['leave', 'destroy', 'unref', 'recurse'];
if (cluster.isPrimary) {
    const next = () => {
        const role = roles.shift();
        if (role === undefined) {
            process.on('uncaughtExceptionMonitor', (e, origin) => console.log('monitor', e.message, origin));
            process.on('exit', () => { throw new Error('in exit'); });
            return;
        }
        const w = cluster.fork({ROLE: role});
        w.on('message', m => console.log(role, JSON.stringify(m)));
        w.on('disconnect', () => console.log(role, 'disconnect', w.isConnected()));
        w.on('exit', (code, signal) => {
            console.log(role, 'exit', code, signal, w.exitedAfterDisconnect);
            next();
        });
    };
    next();
} else {
    const role = process.env.ROLE;
    const w = cluster.worker;
    const report = at => process.send({at, worker: w.isConnected(), process: process.connected});
    if (role === 'leave' || role === 'destroy') {
        w[role === 'leave' ? 'disconnect' : 'destroy']();
        report('sync');
        process.nextTick(() => report('tick'));
        Promise.resolve().then(() => report('promise'));
    } else if (role === 'unref') {
        process.channel.unref();
        process.send('idle');
    } else {
        function f (n) {
            return f(n + 1) + 1;
        }
        f(0);
    }
}
`

// A primary script and its workers keep Node's process semantics: a
// worker that leaves stays connected until its disconnect is through, an
// unref'd channel lets an idle worker exit, recursion without end is a
// RangeError that ends the worker with code 1, and an 'exit' listener that
// throws is an uncaught exception (printed, exit code 1).
func TestPrimaryScriptProcessSemantics(t *testing.T) {
	primary := writeScript(t, "primary.js", processSemantics)
	c := start(t, "run", primary)
	code := c.Wait()
	want := `leave {"at":"sync","worker":true,"process":true}
leave {"at":"tick","worker":true,"process":true}
leave {"at":"promise","worker":true,"process":true}
leave disconnect false
leave exit 0 null true
destroy {"at":"sync","worker":true,"process":true}
destroy {"at":"tick","worker":true,"process":true}
destroy {"at":"promise","worker":true,"process":true}
destroy disconnect false
destroy exit 0 null true
unref "idle"
unref disconnect false
unref exit 0 null false
recurse disconnect false
recurse exit 1 null false
monitor in exit uncaughtException
`
	if code != 1 || c.Stdout.String() != want {
		t.Errorf("exit code %d (want 1)\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, c.Stdout.String(), want, c.Stderr.String())
	}
	stderr := c.Stderr.String()
	for _, s := range []string{"RangeError: Maximum call stack size exceeded\n    at ", "Error: in exit\n"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return
	}
	cmd := exec.Command(node, filepath.Base(primary))
	cmd.Dir = filepath.Dir(primary)
	var out bytes.Buffer
	cmd.Stdout = &out
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code || out.String() != c.Stdout.String() {
		t.Errorf("node: %v\n%s", err, out.String())
	}
}
