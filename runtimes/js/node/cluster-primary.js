// The primary's half of node:cluster for isowasm (Node's
// lib/internal/cluster/primary.js): node/cluster.js hands over its cluster
// object and Worker class when the script has no channel, so a worker
// never compiles this. fork() starts a worker process through the host's
// Processes (isowasm run) and wraps it in a Worker whose `process` is a
// ChildProcess-like object.

const native = __isowasm;
const EventEmitter = require('node:events');
const process = require('node:process');
const errors = require('isowasm:errors');
const {
    Buffer
} = require('node:buffer');

module.exports = setUpPrimary;

function setUpPrimary (cluster, Worker) {
    const intercom = new EventEmitter();

    let ids = 0,
        initialized = false;

    cluster.isWorker = false;
    cluster.isMaster = true;
    cluster.isPrimary = true;
    cluster.worker = undefined;
    cluster.workers = {};
    cluster.settings = {};
    cluster.SCHED_NONE = 1;
    cluster.SCHED_RR = 2;
    cluster.schedulingPolicy = process.env.NODE_CLUSTER_SCHED_POLICY === 'none' ? 1 : 2;

    const setupSettingsNT = settings => {
        cluster.emit('setup', settings);
    };

    cluster.setupPrimary = function setupPrimary (options) {
        const settings = {
            args: process.argv.slice(2),
            exec: process.argv[1],
            execArgv: process.execArgv,
            silent: false,
            ...cluster.settings,
            ...options
        };

        cluster.settings = settings;

        if (initialized === true) {
            return process.nextTick(setupSettingsNT, settings);
        }

        initialized = true;
        process.nextTick(setupSettingsNT, settings);
    };

    cluster.setupMaster = cluster.setupPrimary;

    const removeWorker = worker => {
        delete cluster.workers[worker.id];

        if (Object.keys(cluster.workers).length === 0) {
            intercom.emit('disconnect');
        }
    };

    // What a worker tells the primary on the side (Node's internal messages).
    const internalHandlers = {
        listening (worker, info) {
            worker.state = 'listening';
            worker.emit('listening', info);
            cluster.emit('listening', worker, info);
        },
        online (worker) {
            worker.state = 'online';
            worker.emit('online');
            cluster.emit('online', worker);
        }
    };

    cluster.fork = function fork (env) {
        cluster.setupPrimary();

        const id = ++ids,
            workerProcess = createWorkerProcess(id, env),
            worker = new Worker({
                id,
                process: workerProcess
            });

        worker.on('message', function (message, handle) {
            cluster.emit('message', this, message, handle);
        });

        worker.process.once('exit', (exitCode, signalCode) => {
            // Removed only once disconnected too: until then it may still be used.
            if (!worker.isConnected()) {
                removeWorker(worker);
            }

            worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
            worker.state = 'dead';
            worker.emit('exit', exitCode, signalCode);
            cluster.emit('exit', worker, exitCode, signalCode);
        });

        worker.process.once('disconnect', () => {
            if (worker.isDead()) {
                removeWorker(worker);
            }

            worker.exitedAfterDisconnect = !!worker.exitedAfterDisconnect;
            worker.state = 'disconnected';
            worker.emit('disconnect');
            cluster.emit('disconnect', worker);
        });

        workerProcess._internal = (act, info) => {
            if (act === 'exitedAfterDisconnect') {
                worker.exitedAfterDisconnect = true;
            } else if (internalHandlers[act]) {
                internalHandlers[act](worker, info);
            }
        };

        process.nextTick(() => {
            cluster.emit('fork', worker);
        });
        cluster.workers[worker.id] = worker;
        workerProcess._start();
        return worker;
    };

    // The conformance suite's hook (isowasm conformance, conformance/README.md):
    // with ISOWASM_CONFORMANCE_WORKER set, a fork of a scenario's worker.js runs
    // that script (a compiled worker) instead, so the unmodified primary.js
    // drives Wasm workers. Nothing else reads the variable.
    const conformanceWorker = exec => {
        const substitute = process.env.ISOWASM_CONFORMANCE_WORKER;

        return substitute && /(^|\/)worker\.js$/u.test(exec) ? substitute : exec;
    };

    const createWorkerProcess = (id, env) => {
        const workerEnv = {
                ...process.env,
                ...env,
                NODE_UNIQUE_ID: `${id}`
            },
            settings = cluster.settings;

        return new ChildProcess({
            args: Array.isArray(settings.args) ? settings.args.map(String) : [],
            cwd: settings.cwd,
            env: Object.entries(workerEnv).filter(([
                , value
            ]) => value !== undefined).map(([
                key,
                value
            ]) => `${key}=${value}`),
            exec: conformanceWorker(String(settings.exec)),
            id,
            silent: !!settings.silent
        });
    };

    cluster.disconnect = function disconnect (callback) {
        const workers = Object.keys(cluster.workers);

        if (workers.length === 0) {
            process.nextTick(() => intercom.emit('disconnect'));
        } else {
            for (const worker of Object.values(cluster.workers)) {
                if (worker.isConnected()) {
                    worker.disconnect();
                }
            }
        }

        if (typeof callback === 'function') {
            intercom.once('disconnect', callback);
        }
    };

    // The primary's side of a Worker (Node's primary.js extends it so).
    Worker.prototype.disconnect = function disconnect () {
        this.exitedAfterDisconnect = true;

        if (this.process.connected) {
            native.childDisconnect(this.id);
        }

        removeWorker(this);
        return this;
    };

    Worker.prototype.destroy = function destroy (signo) {
        this.process.kill(signo || 'SIGTERM');
    };
}

// A worker process as the primary sees it: Node's ChildProcess, as far as a
// cluster primary uses one (pid, connected, exitCode/signalCode, kill, send,
// disconnect, stdout/stderr when silent, 'exit', 'disconnect', 'message').
class ChildProcess extends EventEmitter {
    constructor (spec) {
        super();
        this._spec = spec;
        this._id = spec.id;
        this._exited = false;
        this._internal = () => {};
        this.pid = undefined;
        this.connected = false;
        this.exitCode = null;
        this.signalCode = null;
        this.killed = false;
        this.spawnfile = process.execPath;
        this.spawnargs = [
            process.execPath,
            ...process.execArgv,
            spec.exec,
            ...spec.args
        ];
        this.stdin = null;
        this.stdout = spec.silent ? new ChildOutput() : null;
        this.stderr = spec.silent ? new ChildOutput() : null;
        this.stdio = [
            this.stdin,
            this.stdout,
            this.stderr,
            null
        ];
        this.channel = undefined;
    }

    _start () {
        try {
            this.pid = native.fork(this._spec, (type, a, b) => this._event(type, a, b));
        } catch (error) {
            if (!native.canFork) {
                throw error;
            }

            // Node reports a process that cannot start as an 'error' event.
            this._exited = true;
            this.exitCode = -2;
            process.nextTick(() => this.emit('error', error));
            return;
        }

        this.connected = true;
        this.channel = {
            ref: () => this.ref(),
            unref: () => this.unref()
        };
    }

    _event (type, a, b) {
        switch (type) {
            case 'online':
                this._internal('online');
                break;
            case 'listening':
                this._internal('listening', a);
                break;
            case 'exitedAfterDisconnect':
                this._internal('exitedAfterDisconnect');
                break;
            case 'message':
                if (a !== null && typeof a === 'object' && typeof a.cmd === 'string' && a.cmd.startsWith('NODE_')) {
                    this.emit('internalMessage', a);
                } else {
                    this.emit('message', a, undefined);
                }

                break;
            case 'error':
                this.emit('error', a);
                break;
            case 'disconnect':
                this._closeChannel();
                break;
            case 'exit':
                this._closeChannel();
                this._exited = true;

                if (b !== null) {
                    this.signalCode = b;
                } else {
                    this.exitCode = a;
                }

                this.emit('exit', this.exitCode, this.signalCode);
                process.nextTick(() => {
                    if (this.stdout) {
                        this.stdout._end();
                    }

                    if (this.stderr) {
                        this.stderr._end();
                    }

                    this.emit('close', this.exitCode, this.signalCode);
                });
                break;
            case 'stdout':
            case 'stderr':
                if (this[type]) {
                    this[type]._push(Buffer.from(a));
                }

                break;
        }
    }

    _closeChannel () {
        if (!this.connected) {
            return;
        }

        this.connected = false;
        this.channel = undefined;
        process.nextTick(() => {
            this.emit('disconnect');
        });
    }

    kill (sig) {
        let name = sig === undefined ? 'SIGTERM' : sig;

        if (typeof name === 'number') {
            name = name === 0 ? 0 : Object.keys(native.signals).find(key => native.signals[key] === name);
        }

        if (name !== 0 && (typeof name !== 'string' || !native.signals[name])) {
            throw errors.coded(TypeError, 'ERR_UNKNOWN_SIGNAL', `Unknown signal: ${sig}`);
        }

        if (this._exited || this.pid === undefined) {
            return false;
        }

        if (name === 0) {
            return true;
        }

        const code = native.childKill(this._id, name);

        if (code === '') {
            this.killed = true;
            return true;
        }

        if (code !== 'ESRCH') {
            this.emit('error', Object.assign(new Error(`kill ${code}`), {
                code,
                syscall: 'kill'
            }));
        }

        return false;
    }

    send (message, handle, options, callback) {
        if (typeof handle === 'function') {
            callback = handle;
            handle = undefined;
            options = undefined;
        } else if (typeof options === 'function') {
            callback = options;
            options = undefined;
        }

        if (this.connected) {
            return this._send(message, callback);
        }

        const error = errors.channelClosed();

        if (typeof callback === 'function') {
            process.nextTick(callback, error);
        } else {
            process.nextTick(() => this.emit('error', error));
        }

        return false;
    }

    _send (message, callback) {
        errors.checkMessage(message);

        // Node's internal messages reach the child's internal handlers only.
        const internal = message !== null && typeof message === 'object' && typeof message.cmd === 'string' && message.cmd.startsWith('NODE_'),
            text = process._serialize(message);

        if (!internal) {
            const refused = native.childSend(this._id, text);

            if (refused) { // too much waits for this worker: reported as Node reports a send on a closed channel
                const error = Object.assign(new Error(refused), {
                    code: 'ERR_ISOWASM_QUEUE_FULL'
                });

                if (typeof callback === 'function') {
                    process.nextTick(callback, error);
                } else {
                    process.nextTick(() => this.emit('error', error));
                }

                return false;
            }
        }

        if (typeof callback === 'function') {
            process.nextTick(callback, null);
        }

        return true;
    }

    disconnect () {
        if (!this.connected) {
            this.emit('error', errors.coded(Error, 'ERR_IPC_DISCONNECTED', 'IPC channel is already disconnected'));
            return;
        }

        native.childDisconnect(this._id);
        this._closeChannel();
    }

    ref () {
        native.childRef(this._id, true);
    }

    unref () {
        native.childRef(this._id, false);
    }

    get [Symbol.toStringTag] () {
        return 'ChildProcess';
    }
}

// A silent worker's stdout or stderr: a paused Readable that flows once a
// 'data' listener is added (or resume() is called), with setEncoding.
class ChildOutput extends EventEmitter {
    constructor () {
        super();
        this._buffered = [];
        this._flowing = false;
        this._ended = false;
        this._endEmitted = false;
        this._encoding = null;
        this._partial = null;
        this.readable = true;
        this.on('newListener', event => {
            if (event === 'data' && this._flowing === false) {
                this.resume();
            }
        });
    }

    setEncoding (encoding) {
        this._encoding = encoding;
        return this;
    }

    resume () {
        if (!this._flowing) {
            this._flowing = true;
            process.nextTick(() => this._flow());
        }

        return this;
    }

    pause () {
        this._flowing = false;
        return this;
    }

    isPaused () {
        return !this._flowing;
    }

    pipe (destination) {
        this.on('data', chunk => destination.write(chunk));
        return destination;
    }

    destroy () {
        this._buffered = [];
        this._ended = true;
        this.readable = false;
        return this;
    }

    _push (buffer) {
        this._buffered.push(buffer);

        if (this._flowing) {
            this._flow();
        }
    }

    _end () {
        this._ended = true;

        if (this._flowing) {
            this._flow();
        }
    }

    _flow () {
        while (this._flowing && this._buffered.length > 0) {
            this.emit('data', this._decode(this._buffered.shift()));
        }

        if (this._flowing && this._ended && !this._endEmitted) {
            this._endEmitted = true;
            this.readable = false;
            this.emit('end');
            process.nextTick(() => this.emit('close'));
        }
    }

    // Text chunks never split a UTF-8 sequence: an incomplete tail waits.
    _decode (buffer) {
        if (this._encoding === null) {
            return buffer;
        }

        let bytes = buffer;

        if (this._partial) {
            bytes = Buffer.concat([
                this._partial,
                buffer
            ]);
            this._partial = null;
        }

        if (/^utf-?8$/iu.test(this._encoding)) {
            let cut = bytes.length;

            for (let i = bytes.length - 1; i >= 0 && i >= bytes.length - 3; i -= 1) {
                const c = bytes[i];

                if ((c & 0xc0) !== 0x80) {
                    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

                    if (bytes.length - i < need) {
                        cut = i;
                    }

                    break;
                }
            }

            if (cut < bytes.length) {
                this._partial = bytes.subarray(cut);
                bytes = bytes.subarray(0, cut);
            }
        }

        return bytes.toString(this._encoding);
    }
}
