// The Node peer of isowasm-httpbench: a plain node:cluster primary (no
// dependencies) forking WORKERS copies of worker.js, each serving hello world
// on PORT. It prints "listening" once every worker listens, and disconnects
// the workers on SIGTERM.
//
//   node primary.js WORKERS PORT
'use strict';

const cluster = require('node:cluster');
const path = require('node:path');

const [workersText, port] = process.argv.slice(2);
const workers = Number(workersText);

cluster.setupPrimary({
    exec: path.join(__dirname, 'worker.js')
});

let listening = 0;

cluster.on('listening', () => {
    listening += 1;

    if (listening === workers) {
        process.stdout.write('listening\n');
    }
});

for (let i = 0; i < workers; i += 1) {
    cluster.fork({
        PORT: port
    });
}

process.on('SIGTERM', () => {
    cluster.disconnect(() => process.exit(0));
});
