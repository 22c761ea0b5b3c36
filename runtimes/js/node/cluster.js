// node:cluster for isowasm. In a worker (a channel to the primary exists)
// this is Node's lib/internal/cluster/child.js: cluster.worker wraps the
// process; a disconnect asked for by the primary closes this worker's
// servers and then the channel; a channel lost otherwise makes the worker
// exit. Without a channel the script is the primary, and this is Node's
// lib/internal/cluster/primary.js: fork() starts a worker process through
// the host's Processes (isowasm run) and wraps it in a Worker whose
// `process` is a ChildProcess-like object.

const native = __isowasm;
const EventEmitter = require('node:events');
const process = require('node:process');

const cluster = new EventEmitter();
const stockEmit = EventEmitter.prototype.emit;

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
            this.process.on('error', (code, signal) => this.emit('error', code, signal));
            this.process.on('message', (message, handle) => {
                // EventEmitter's emit of an event nobody listens to does
                // nothing: skipped (a message costs goja less).
                if (this.emit !== stockEmit || this._events !== undefined && this._events.message !== undefined) {
                    this.emit('message', message, handle);
                }
            });
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
    // Node's child.js: the id travels in the environment and is removed.
    delete process.env.NODE_UNIQUE_ID;

    const worker = new Worker({
        id: native.workerId,
        process,
        state: 'online'
    });

    cluster.isWorker = true;
    cluster.isPrimary = false;
    cluster.isMaster = false;
    cluster.worker = worker;

    // The worker leaves of its own will: the primary is told (its
    // exitedAfterDisconnect becomes true), and the channel closes once that
    // is through, as it does when Node's primary acknowledges: until then
    // the worker is connected and its sends go through.
    const leave = () => {
        native.leaving(() => process.disconnect());
    };

    // Node's _disconnect: the primary asked (primaryInitiated), or the worker
    // itself leaves.
    const disconnect = function disconnect (primaryInitiated) {
        this.exitedAfterDisconnect = true;
        closeServers(primaryInitiated ? () => process.disconnect() : leave);
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
            leave();
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
    // The primary's half is compiled only here (runtimes/js/lazy.go).
    require('isowasm:cluster-primary')(cluster, Worker);
}

cluster.Worker = Worker;
cluster._handles = handles;

module.exports = cluster;
