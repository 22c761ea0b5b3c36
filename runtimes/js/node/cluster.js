// node:cluster for isowasm. In a worker (a channel to the primary exists)
// this is Node's lib/internal/cluster/child.js: cluster.worker wraps the
// process; a disconnect asked for by the primary closes this worker's
// servers and then the channel; a channel lost otherwise makes the worker
// exit. Without a channel the script is the primary; forking from JS is not
// provided here.

const native = __isowasm;
const EventEmitter = require('node:events');
const process = require('node:process');

const cluster = new EventEmitter();

// Servers a worker has listening, closed on a disconnect (node:net adds to it).
const handles = new Set();

class Worker extends EventEmitter {
    constructor (options = {}) {
        super();
        this.exitedAfterDisconnect = undefined;
        this.state = options.state || 'none';
        this.id = options.id | 0;
        this.process = options.process;

        if (this.process) {
            this.process.on('message', (message, handle) => this.emit('message', message, handle));
        }
    }

    send (...args) {
        return this.process.send(...args);
    }

    isDead () {
        return this.process.exitCode != null || this.process.signalCode != null;
    }

    isConnected () {
        return this.process.connected;
    }

    kill (...args) {
        return this.destroy(...args);
    }
}

function closeServers (done) {
    let waiting = 1;

    const check = () => {
        waiting -= 1;

        if (waiting === 0) {
            done();
        }
    };

    for (const server of handles) {
        waiting += 1;
        server.close(check);
    }

    handles.clear();
    check();
}

if (native.hasChannel) {
    const worker = new Worker({
        id: native.workerId,
        process,
        state: 'online'
    });

    cluster.isWorker = true;
    cluster.isPrimary = false;
    cluster.isMaster = false;
    cluster.worker = worker;

    // Node's _disconnect: the primary asked (primaryInitiated), or the worker
    // itself leaves (the primary is told, so its exitedAfterDisconnect is true).
    const disconnect = function disconnect (primaryInitiated) {
        this.exitedAfterDisconnect = true;
        closeServers(() => {
            process._disconnect(!primaryInitiated);
        });
    };

    worker.disconnect = function () {
        if (this.state !== 'disconnecting' && this.state !== 'destroying') {
            this.state = 'disconnecting';
            Reflect.apply(disconnect, this, []);
        }

        return this;
    };

    worker.destroy = function () {
        if (this.state === 'destroying') {
            return;
        }

        this.exitedAfterDisconnect = true;

        if (!this.isConnected()) {
            process.exit(0);
        } else {
            this.state = 'destroying';
            process._disconnect(true);
            process.once('disconnect', () => process.exit(0));
        }
    };

    process.once('disconnect', () => {
        worker.emit('disconnect');

        if (!worker.exitedAfterDisconnect) {
            // The primary is gone: nothing is left to work for.
            process.exit(0);
        }
    });

    process._channel.disconnectRequest = () => {
        Reflect.apply(disconnect, worker, [
            true
        ]);
    };
} else {
    cluster.isWorker = false;
    cluster.isPrimary = true;
    cluster.isMaster = true;
    cluster.worker = undefined;
    cluster.workers = {};
    cluster.settings = {};
    cluster.SCHED_NONE = 1;
    cluster.SCHED_RR = 2;
    cluster.schedulingPolicy = 2;

    const unsupported = name => () => {
        throw new Error(`cluster.${name}() is not available in isowasm's JavaScript runtime yet: run the script with isowasm run, which forks the workers`);
    };

    cluster.fork = unsupported('fork');
    cluster.setupPrimary = unsupported('setupPrimary');
    cluster.setupMaster = cluster.setupPrimary;
    cluster.disconnect = callback => {
        if (typeof callback === 'function') {
            process.nextTick(callback);
        }
    };
}

cluster.Worker = Worker;
cluster._handles = handles;

module.exports = cluster;
