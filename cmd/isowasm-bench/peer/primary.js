// The Node peer's primary: plain node:cluster, no dependencies. It runs one
// workload of isowasm-bench and prints its figures as one JSON line, the same
// protocol the isowasm side follows (see ../primary.go):
//
//   node primary.js WORKLOAD WORKERS COUNT SIZE SERIALIZATION SETTLE_MS
//
// Workloads: start (fork WORKERS, time until every one said 'ready'), mem
// (the same, then print {"measure": true, "pids": [...]} and wait for a
// line on stdin while the driver reads /proc), ping (COUNT sequential round
// trips with one worker), pipeline (COUNT messages spread over WORKERS,
// WINDOW in flight per worker, each answered), echo (COUNT sequential
// round trips of a SIZE-byte string). Every run ends with a graceful
// cluster.disconnect, so the driver's wall time is start + shutdown.
'use strict';

const cluster = require('node:cluster');
const path = require('node:path');

const [workload, workersText, countText, sizeText, serialization, settleText] = process.argv.slice(2);
const workers = Number(workersText);
const count = Number(countText);
const size = Number(sizeText);
const settle = Number(settleText);
const WINDOW = 1000;

cluster.setupPrimary({
    exec: path.join(__dirname, 'worker.js'),
    serialization
});

const result = {};
const ms = start => Number(process.hrtime.bigint() - start) / 1e6;

const finish = () => {
    cluster.disconnect(() => {
        process.stdout.write(JSON.stringify(result) + '\n');
    });
};

const ready = [];
const t0 = process.hrtime.bigint();

cluster.on('message', (worker, message) => {
    if (message === 'ready') {
        ready.push(worker);
        if (ready.length === workers) {
            result.readyMs = ms(t0);
            allReady();
        }
    }
});

for (let i = 0; i < workers; i++) {
    cluster.fork();
}

function allReady () {
    switch (workload) {
        case 'start':
            finish();
            break;
        case 'mem':
            setTimeout(() => {
                result.pids = [process.pid, ...ready.map(w => w.process.pid)];
                process.stdout.write(JSON.stringify({measure: true, pids: result.pids}) + '\n');
                process.stdin.once('data', () => {
                    process.stdin.destroy();
                    finish();
                });
            }, settle);
            break;
        case 'ping': {
            const worker = ready[0];
            let n = 0;
            const start = process.hrtime.bigint();
            worker.on('message', message => {
                if (message.type !== 'pong') {
                    return;
                }
                n++;
                if (n === count) {
                    result.elapsedMs = ms(start);
                    result.count = n;
                    finish();
                } else {
                    worker.send({n, type: 'ping'});
                }
            });
            worker.send({n, type: 'ping'});
            break;
        }
        case 'pipeline': {
            let answered = 0;
            const start = process.hrtime.bigint();
            for (const [index, worker] of ready.entries()) {
                const quota = Math.floor(count / workers) + (index < count % workers ? 1 : 0);
                let sent = 0;
                const sendOne = () => {
                    worker.send({n: sent, type: 'ping'});
                    sent++;
                };
                worker.on('message', message => {
                    if (message.type !== 'pong') {
                        return;
                    }
                    answered++;
                    if (sent < quota) {
                        sendOne();
                    }
                    if (answered === count) {
                        result.elapsedMs = ms(start);
                        result.count = answered;
                        finish();
                    }
                });
                while (sent < Math.min(WINDOW, quota)) {
                    sendOne();
                }
            }
            break;
        }
        case 'echo': {
            const worker = ready[0];
            const data = 'x'.repeat(size);
            let n = 0;
            const start = process.hrtime.bigint();
            worker.on('message', message => {
                if (message.type !== 'echo') {
                    return;
                }
                if (message.data.length !== size) {
                    throw new Error(`echo of ${message.data.length} bytes, not ${size}`);
                }
                n++;
                if (n === count) {
                    result.elapsedMs = ms(start);
                    result.count = n;
                    finish();
                } else {
                    worker.send({data, n, type: 'echo'});
                }
            });
            worker.send({data, n, type: 'echo'});
            break;
        }
        default:
            throw new Error(`unknown workload ${workload}`);
    }
}
