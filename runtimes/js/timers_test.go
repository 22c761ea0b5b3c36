package js

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// idle is how long a test leaves a script with nothing to do before it
// arms a timer: the scenario under test (a loop that slept), not a wait for
// an event.
const idle = 300 * time.Millisecond

// timerReport is what the scripts below send for each timer that fires:
// the time since it was armed, by performance.now().
type timerReport struct {
	Kind    string  `json:"kind"`
	Delay   float64 `json:"delay"`
	N       int     `json:"n"`
	Elapsed float64 `json:"elapsed"`
}

// armTimers is a handler body that arms a timeout or a 3-tick interval as
// m asks and reports each firing with report(r).
const armTimers = `
const armTimers = (m, report) => {
    const t0 = performance.now();
    if (m.kind === 'timeout') {
        setTimeout(() => report({kind: m.kind, delay: m.delay, n: 1, elapsed: performance.now() - t0}), m.delay);
        return;
    }
    let n = 0;
    const interval = setInterval(() => {
        n += 1;
        report({kind: m.kind, delay: m.delay, n, elapsed: performance.now() - t0});
        if (n === 3) {
            clearInterval(interval);
        }
    }, m.delay);
};
`

// checkTimer fails unless the n-th firing came at least n delays after
// the timer was armed.
func checkTimer(t *testing.T, text string) timerReport {
	t.Helper()
	var r timerReport
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		t.Fatalf("report %s: %v", text, err)
	}
	if want := float64(r.N) * r.Delay; r.Elapsed < want {
		t.Errorf("%s of %v ms: firing %d came %.3f ms after it was armed, before %v ms", r.Kind, r.Delay, r.N, r.Elapsed, want)
	}
	return r
}

// A worker that sat idle arms timers from a message handler: none fires
// before its delay has passed.
func TestTimersAfterIdleWorker(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"worker.js": `require('node:cluster');` + armTimers + `
process.on('message', m => armTimers(m, r => process.send(r)));
process.send('ready');
`})
	p, done := startWorker(t, dir, "worker.js")
	if got := p.message(); got != `"ready"` {
		t.Fatalf("first message %s", got)
	}
	time.Sleep(idle) // the scenario: the worker idles
	p.send(`{"kind":"timeout","delay":150}`)
	checkTimer(t, p.message())
	time.Sleep(idle)
	p.send(`{"kind":"interval","delay":20}`)
	for range 3 {
		checkTimer(t, p.message())
	}
	if err := p.w.Write(frame.Frame{Type: frame.TypeDisconnect}); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, done); r.code != 0 || r.err != nil {
		t.Errorf("code %d err %v stderr %s", r.code, r.err, r.stderr)
	}
}

// The same from a node:http request handler (a script on its own: the
// loop of a primary script and of a worker is the same).
func TestTimersAfterIdleHTTP(t *testing.T) {
	s := serve(t, armTimers+`
import http from 'node:http';
const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const reports = [];
    const kind = url.searchParams.get('kind');
    armTimers({kind, delay: Number(url.searchParams.get('delay'))}, r => {
        reports.push(r);
        if (kind === 'timeout' || r.n === 3) {
            res.end(JSON.stringify(reports));
        }
    });
});
server.listen(0, '127.0.0.1', () => console.log('listening', server.address().port));
`)
	for _, q := range []string{"kind=timeout&delay=150", "kind=interval&delay=20"} {
		time.Sleep(idle) // the scenario: the server idles
		_, body := s.do(t, "GET", "/?"+q, "")
		var reports []json.RawMessage
		if err := json.Unmarshal([]byte(body), &reports); err != nil || len(reports) == 0 {
			t.Fatalf("%s: body %q: %v", q, body, err)
		}
		for _, r := range reports {
			checkTimer(t, string(r))
		}
	}
}

// A primary script whose loop slept while its worker was quiet arms a
// timer from the worker's message.
func TestTimersAfterIdlePrimary(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.js": `const cluster = require('node:cluster');` + armTimers + `
if (cluster.isPrimary) {
    const w = cluster.fork();
    w.on('message', m => armTimers(m, r => {
        console.log(JSON.stringify(r));
        if (r.kind === 'timeout' || r.n === 3) {
            w.send('next');
        }
    }));
} else {
    const steps = [{kind: 'timeout', delay: 150}, {kind: 'interval', delay: 20}];
    const next = () => {
        const m = steps.shift();
        if (m === undefined) {
            process.disconnect();
            return;
        }
        // The primary idles meanwhile.
        setTimeout(() => process.send(m), ` + strconv.Itoa(int(idle/time.Millisecond)) + `);
    };
    process.on('message', next);
    next();
}
`})
	r := runPrimary(t, dir, "main.js")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || r.err != nil || len(lines) != 4 {
		t.Fatalf("code %d err %v\nstdout:\n%s\nstderr:\n%s", r.code, r.err, r.stdout, r.stderr)
	}
	for _, l := range lines {
		checkTimer(t, l)
	}
}
