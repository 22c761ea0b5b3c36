// node:process for isowasm: the process object of a worker (or of a script
// run on its own), its nextTick queue, and the hooks the Go event loop calls.

const native = __isowasm;
const EventEmitter = require('node:events');
const errors = require('isowasm:errors');

// isowasm:inspect is compiled on first use (runtimes/js/lazy.go).
function cleanStack (stack) {
    return require('isowasm:inspect').cleanStack(stack);
}

function inspect (value) {
    return require('isowasm:inspect').inspect(value);
}

const process = new EventEmitter();

Object.defineProperty(process, Symbol.toStringTag, {
    configurable: true,
    enumerable: false,
    value: 'process',
    writable: true
});

// nextTick: a queue with a moving head, drained by runTicks.
let tickQueue = [],
    tickHead = 0;

function nextTick (callback, ...args) {
    if (typeof callback !== 'function') {
        throw errors.invalidArgType('callback', 'function', callback);
    }

    if (process._exiting) {
        return;
    }

    tickQueue.push({
        args,
        callback
    });

    if (tickQueue.length - tickHead === 1) {
        native.tickQueued();
    }
}

function deliverMessage (value) {
    channel.message(value);
}

// process.emit('message', message, undefined) while emit is
// EventEmitter's: the same listeners, called the same way, without the
// rest arguments (a listener's own call is used only when it is
// Function.prototype.call, so Reflect.apply's behaviour is kept).
const stockEmit = EventEmitter.prototype.emit,
    functionCall = Function.prototype.call;

function callListener (listener, target, message) {
    if (listener.call === functionCall) {
        listener.call(target, message, undefined);
    } else {
        Reflect.apply(listener, target, [
            message,
            undefined
        ]);
    }
}

function emitMessage (target, message) {
    const events = target._events,
        handler = events === undefined ? undefined : events.message;

    if (handler === undefined) {
        return false;
    }

    if (typeof handler === 'function') {
        callListener(handler, target, message);
    } else {
        const listeners = native.copyListeners(handler);

        for (let index = 0; index < listeners.length; index += 1) {
            callListener(listeners[index], target, message);
        }
    }

    return true;
}

function runTicks () {
    try {
        while (tickHead < tickQueue.length) {
            const tick = tickQueue[tickHead];

            tickQueue[tickHead] = undefined;
            tickHead += 1;
            Reflect.apply(tick.callback, undefined, tick.args);
        }

        tickQueue = [];
        tickHead = 0;
    } finally {
        if (tickHead < tickQueue.length) {
            native.tickQueued();
        }
    }
}

// Node's process._fatalException, up to the decision (Go prints and
// exits): 'uncaughtExceptionMonitor' listeners see every uncaught error,
// then an 'uncaughtException' listener may take it (true).
function uncaught (error, origin) {
    process.emit('uncaughtExceptionMonitor', error, origin);

    if (process.listenerCount('uncaughtException') > 0) {
        process.emit('uncaughtException', error, origin);
        return true;
    }

    return false;
}

function unhandledRejectionError (reason) {
    const error = new Error(`This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "${inspect(reason)}".`);

    error.name = 'UnhandledPromiseRejection';
    error.code = 'ERR_UNHANDLED_REJECTION';
    return error;
}

let exitEmitted = false;

function emitExit (code) {
    if (code !== undefined) {
        process.exitCode = code;
    }

    if (!exitEmitted) {
        exitEmitted = true;
        process._exiting = true;
        process.emit('exit', process.exitCode === undefined ? 0 : process.exitCode | 0);
    }

    return process.exitCode === undefined ? 0 : process.exitCode | 0;
}

// An error nobody took ends the process: 'exit' listeners run with code 1
// unless they ran already (what they throw then is dropped, as in Node),
// and the code is process.exitCode, 1 unless a listener changed it.
function fatalExit () {
    try {
        if (!exitEmitted) {
            emitExit(1);
        }
    } catch {
        // Nothing to be done about it at this point.
    }

    return process.exitCode === undefined ? 1 : process.exitCode | 0;
}

native.setHooks({
    beforeExit () {
        process.emit('beforeExit', process.exitCode === undefined ? 0 : process.exitCode | 0);
    },
    callback (fn, thisArg, args) {
        Reflect.apply(fn, thisArg, args);
        runTicks();
    },
    channelClosed () {
        channel.closed();
    },
    describe (error) {
        if (error instanceof Error || Object.prototype.toString.call(error) === '[object Error]') {
            return '\n' + inspect(error) + '\n';
        }

        return typeof error === 'string' ? error : inspect(error);
    },
    disconnectRequest () {
        channel.disconnectRequest();
    },
    exit: emitExit,
    fatalExit,
    fireImmediate (immediate) {
        timers.fireImmediate(immediate);
        runTicks();
    },
    fireTimer (timer) {
        timers.fireTimer(timer);
        runTicks();
    },
    // Node's channel.onread: each message of one read is emitted on a
    // nextTick of its own, then the ticks they queue, then promise jobs.
    // The tick queue is empty here (every macrotask drains it), so the
    // messages are emitted in a row, and what their handlers queue runs
    // after the last, as it would behind their ticks. A throw leaves the
    // messages not yet emitted at the head of the queue, where their ticks
    // would be.
    message (value) {
        channel.message(value);
        runTicks();
    },
    messages (values) {
        let index = 0;

        try {
            for (; index < values.length; index += 1) {
                channel.message(values[index]);
            }
        } finally {
            if (index < values.length - 1) {
                const rest = [];

                for (let next = index + 1; next < values.length; next += 1) {
                    rest.push({
                        args: [
                            values[next]
                        ],
                        callback: deliverMessage
                    });
                }

                tickQueue = rest.concat(tickQueue.slice(tickHead));
                tickHead = 0;
                native.tickQueued();
            }
        }

        runTicks();
    },
    // Node's default unhandled-rejections mode ('throw'): the
    // 'unhandledRejection' listeners, or the error to report as uncaught.
    rejection (reason, promise) {
        if (process.listenerCount('unhandledRejection') > 0) {
            process.emit('unhandledRejection', reason, promise);
            return undefined;
        }

        return reason instanceof Error ? reason : unhandledRejectionError(reason);
    },
    runTicks,
    signal (name, number) {
        if (process.listenerCount(name) > 0) {
            process.emit(name, name, number);
            return true;
        }

        return false;
    },
    uncaught
});

// The signal watcher runs off the loop and must know whether a signal has
// a listener: without one, the signal ends the process at once, even while
// the script is busy (Node's default action). Node watches its signal
// listeners the same way.
process.on('newListener', type => {
    if (native.signals[type]) {
        native.listenSignal(type, true);
    }
});
process.on('removeListener', type => {
    if (native.signals[type] && process.listenerCount(type) === 0) {
        native.listenSignal(type, false);
    }
});

// The pieces other modules fill in: node:timers registers its firing
// functions, node:cluster the channel's events.
const timers = {
    fireImmediate () {},
    fireTimer () {}
};

const channel = {
    closed () {},
    disconnectRequest () {},
    message () {}
};

const execPath = native.execPath;

Object.assign(process, {
    _exiting: false,
    abort () {
        native.exit(134);
    },
    arch: native.arch,
    argv: [
        execPath,
        native.script,
        ...native.args
    ],
    argv0: 'node',
    chdir (directory) {
        native.chdir(String(directory));
    },
    config: {
        variables: {}
    },
    cwd () {
        return native.cwd();
    },
    emitWarning (warning, type, code) {
        if (typeof type === 'object' && type !== null) {
            ({
                code,
                type
            } = type);
        }

        const name = warning instanceof Error ? warning.name : type || 'Warning',
            message = warning instanceof Error ? warning.message : String(warning);

        process.nextTick(() => {
            process.emit('warning', warning instanceof Error ? warning : Object.assign(new Error(message), {
                code,
                name
            }));
        });
        native.writeErr(`(node:${process.pid}) ${code ? `[${code}] ` : ''}${name}: ${message}\n`);
    },
    env: native.env,
    execArgv: [],
    execPath,
    exit (code) {
        if (code !== undefined && code !== null) {
            process.exitCode = code;
        }

        native.exit(emitExit());
    },
    exitCode: undefined,
    features: {},
    getegid: () => 0,
    geteuid: () => 0,
    getgid: () => 0,
    getuid: () => 0,
    hrtime: Object.assign(previous => {
        const [
            seconds,
            nanoseconds
        ] = native.hrtime();

        if (previous) {
            let s = seconds - previous[0],
                ns = nanoseconds - previous[1];

            if (ns < 0) {
                s -= 1;
                ns += 1e9;
            }

            return [
                s,
                ns
            ];
        }

        return [
            seconds,
            nanoseconds
        ];
    }, {
        bigint: () => native.hrtimeBigint()
    }),
    kill (pid, signal) {
        // eslint-disable-next-line eqeqeq
        if (pid != (pid | 0)) {
            throw errors.invalidArgType('pid', 'number', pid);
        }

        let name;

        if (signal === (signal | 0)) {
            name = signal === 0 ? '0' : Object.keys(native.signals).find(key => native.signals[key] === signal);
        } else {
            name = signal || 'SIGTERM';

            if (!native.signals[name]) {
                name = undefined;
            }
        }

        if (name === undefined) {
            throw errors.coded(TypeError, 'ERR_UNKNOWN_SIGNAL', `Unknown signal: ${signal}`);
        }

        pid |= 0;

        if (pid === process.pid && name !== '0') {
            // A listener takes it on a later turn, as a real signal would
            // arrive; without one the default action ends this process.
            if (process.listenerCount(name) > 0) {
                native.postSignal(name);
            } else {
                native.selfSignal(name);
            }

            return true;
        }

        const code = native.kill(pid, name);

        if (code) {
            const error = new Error(`kill ${code}`);

            error.code = code;
            error.errno = code === 'ESRCH' ? -3 : code === 'EPERM' ? -1 : -22;
            error.syscall = 'kill';
            throw error;
        }

        return true;
    },
    memoryUsage: Object.assign(() => native.memoryUsage(), {
        rss: () => native.memoryUsage().rss
    }),
    nextTick,
    pid: native.pid,
    platform: native.platform,
    ppid: native.ppid,
    release: {
        name: 'node'
    },
    title: 'isowasm',
    umask: () => 0o22,
    uptime: () => native.uptime(),
    version: 'v20.20.2',
    versions: {
        isowasm: '0.1.0',
        node: '20.20.2'
    }
});

function stream (fd, write) {
    const s = new EventEmitter();

    Object.assign(s, {
        _isStdio: true,
        end (chunk, encoding, callback) {
            if (chunk !== undefined && typeof chunk !== 'function') {
                s.write(chunk, encoding);
            }

            if (typeof chunk === 'function') {
                process.nextTick(chunk);
            } else if (typeof callback === 'function') {
                process.nextTick(callback);
            }

            return s;
        },
        fd,
        isTTY: false,
        writable: true,
        write (chunk, encoding, callback) {
            if (typeof encoding === 'function') {
                callback = encoding;
            }

            if (typeof chunk === 'string') {
                write(chunk);
            } else if (chunk instanceof Uint8Array) {
                write(new TextDecoderLite().decode(chunk));
            } else {
                throw errors.invalidArgType('chunk', 'string or an instance of Buffer or Uint8Array', chunk);
            }

            if (typeof callback === 'function') {
                process.nextTick(callback, null);
            }

            return true;
        }
    });
    return s;
}

// UTF-8 decoding for byte chunks written to stdout/stderr.
class TextDecoderLite {
    decode (bytes) {
        let out = '';

        for (let i = 0; i < bytes.length;) {
            const c = bytes[i];

            let cp,
                n;

            if (c < 0x80) {
                cp = c;
                n = 1;
            } else if (c >= 0xc2 && c < 0xe0 && i + 1 < bytes.length) {
                cp = (c & 0x1f) << 6 | bytes[i + 1] & 0x3f;
                n = 2;
            } else if (c >= 0xe0 && c < 0xf0 && i + 2 < bytes.length) {
                cp = (c & 0x0f) << 12 | (bytes[i + 1] & 0x3f) << 6 | bytes[i + 2] & 0x3f;
                n = 3;
            } else if (c >= 0xf0 && c < 0xf5 && i + 3 < bytes.length) {
                cp = (c & 0x07) << 18 | (bytes[i + 1] & 0x3f) << 12 | (bytes[i + 2] & 0x3f) << 6 | bytes[i + 3] & 0x3f;
                n = 4;
            } else {
                cp = 0xfffd;
                n = 1;
            }

            out += String.fromCodePoint(cp);
            i += n;
        }

        return out;
    }
}

process.stdout = stream(1, native.writeOut);
process.stderr = stream(2, native.writeErr);
process.stdin = Object.assign(new EventEmitter(), {
    fd: 0,
    isTTY: false
});

// JSON.stringify gets V8's message for a circular structure (goja's names
// no path); process.send serializes with it.
const jsonStringify = JSON.stringify;

Object.defineProperty(JSON, 'stringify', {
    configurable: true,
    enumerable: false,
    value: function stringify (value, replacer, space) {
        try {
            return Reflect.apply(jsonStringify, JSON, [
                value,
                replacer,
                space
            ]);
        } catch (error) {
            if (error instanceof TypeError && error.message === 'Converting circular structure to JSON') {
                throw new TypeError(circularMessage(value) || error.message);
            }

            throw error;
        }
    },
    writable: true
});

// JSON.parse keeps lone surrogates written as escapes ("\\ud800"), which
// goja's turns into U+FFFD: such texts are parsed on the Go side.
const jsonParse = JSON.parse,
    surrogateEscape = /\\u[dD][89a-fA-F]/u;

function internalize (holder, key, reviver) {
    const value = holder[key];

    if (value !== null && typeof value === 'object') {
        for (const k of Array.isArray(value) ? value.keys() : Object.keys(value)) {
            const v = internalize(value, String(k), reviver);

            if (v === undefined) {
                delete value[k];
            } else {
                value[k] = v;
            }
        }
    }

    return Reflect.apply(reviver, holder, [
        key,
        value
    ]);
}

Object.defineProperty(JSON, 'parse', {
    configurable: true,
    enumerable: false,
    value: function parse (text, reviver) {
        const string = String(text);

        if (surrogateEscape.test(string)) {
            const value = native.jsonParse(string);

            if (value !== undefined) {
                return typeof reviver === 'function' ? internalize({
                    '': value
                }, '', reviver) : value;
            }
        }

        return Reflect.apply(jsonParse, JSON, [
            text,
            reviver
        ]);
    },
    writable: true
});

function serialize (value) {
    return JSON.stringify(value);
}

// circularMessage walks value as JSON.stringify does and describes the
// first cycle as V8 does.
function circularMessage (root) {
    const stack = [],
        keys = [],
        ctor = object => {
            const c = object.constructor;

            return `object with constructor '${typeof c === 'function' && c.name ? c.name : 'Object'}'`;
        },
        describeKey = key => typeof key === 'number' ? `index ${key}` : `property '${key}'`;

    let found = null;

    const walk = (holder, key, value) => {
        if (found) {
            return;
        }

        if (value !== null && typeof value === 'object' && typeof value.toJSON === 'function') {
            value = value.toJSON(String(key));
        }

        if (value === null || typeof value !== 'object') {
            return;
        }

        const at = stack.indexOf(value);

        if (at !== -1) {
            found = {
                at,
                key
            };
            return;
        }

        stack.push(value);

        if (Array.isArray(value)) {
            for (let i = 0; i < value.length && !found; i += 1) {
                keys.push(i);
                walk(value, i, value[i]);

                if (!found) {
                    keys.pop();
                }
            }
        } else {
            for (const k of Object.keys(value)) {
                if (found) {
                    break;
                }

                keys.push(k);
                walk(value, k, value[k]);

                if (!found) {
                    keys.pop();
                }
            }
        }

        if (!found) {
            stack.pop();
        }
    };

    walk({
        '': root
    }, '', root);

    if (!found) {
        return '';
    }

    const chain = stack.slice(found.at),
        chainKeys = keys.slice(found.at, keys.length - 1),
        lines = [
            'Converting circular structure to JSON',
            `    --> starting at ${ctor(chain[0])}`
        ],
        middle = chainKeys.map((key, i) => `    |     ${describeKey(key)} -> ${ctor(chain[i + 1])}`);

    if (middle.length > 3) {
        lines.push(middle[0], middle[1], '    |     ...', middle[middle.length - 1]);
    } else {
        lines.push(...middle);
    }

    lines.push(`    --- ${describeKey(found.key)} closes the circle`);
    return lines.join('\n');
}

// The channel to the primary exists only in a worker, as in Node.
if (native.hasChannel) {
    Object.defineProperty(process, 'connected', {
        configurable: true,
        enumerable: true,
        get: () => native.connected()
    });
    // Node's Control: an unref'd channel lets an otherwise idle worker
    // exit (ref() undoes it).
    class Control extends EventEmitter {
        ref () {
            native.channelRef(true);
        }

        unref () {
            native.channelRef(false);
        }
    }

    process.channel = new Control();

    process.send = function send (message, handle, options, callback) {
        if (typeof handle === 'function') {
            callback = handle;
        } else if (typeof options === 'function') {
            callback = options;
        }

        if (!native.connected()) {
            const error = errors.channelClosed();

            if (typeof callback === 'function') {
                process.nextTick(callback, error);
            } else {
                process.nextTick(() => process.emit('error', error));
            }

            return false;
        }

        // As Node's ChildProcess _send: checked only on a connected channel.
        errors.checkMessage(message);

        // Node's internal messages are never delivered.
        if (message !== null && typeof message === 'object' && typeof message.cmd === 'string' && message.cmd.startsWith('NODE_')) {
            if (typeof callback === 'function') {
                process.nextTick(callback, null);
            }

            return true;
        }

        // Encoded in Go straight from the value, as JSON.stringify then
        // JSON.parse would give it (runtimes/js/payload.go valueToCBOR).
        return native.sendValue(message, typeof callback === 'function' ? callback : undefined);
    };

    // For isotropic-cluster's ClusterWorker.send while process.send is
    // this one: process.send(message, callback) with the callback's promise
    // made and settled by the host (no closure per message). A message
    // process.send would not simply encode and queue (not an object, an
    // internal one, a closed channel) gives undefined: the caller takes
    // the general way, which runs everything as process.send does.
    native.processSend = process.send;
    native.sendPromise = function sendPromise (message, onError) {
        if (message === null || typeof message !== 'object' || !native.connected()) {
            return undefined;
        }

        if (typeof message.cmd === 'string' && message.cmd.startsWith('NODE_')) {
            // As process.send: never delivered, the callback on a tick.
            return new Promise(resolve => {
                process.nextTick(() => {
                    resolve();
                });
            });
        }

        return native.sendSettled(message, onError);
    };

    // process.connected is false at once; 'disconnect' follows on a tick.
    process.disconnect = function disconnect () {
        if (!native.disconnect()) {
            const error = new Error('IPC channel is already disconnected');

            error.code = 'ERR_IPC_DISCONNECTED';
            process.emit('error', error);
            return;
        }

        process.nextTick(() => {
            process.emit('disconnect');
        });
    };

    channel.message = message => {
        if (process.emit === stockEmit) {
            emitMessage(process, message);
        } else {
            process.emit('message', message, undefined);
        }
    };
    channel.closed = () => {
        process.nextTick(() => {
            process.emit('disconnect');
        });
    };
}

process._serialize = serialize;
// For native.sendValue's circular-structure message.
native.circularMessage = circularMessage;
process._timers = timers;
process._channel = channel;
process._cleanStack = cleanStack;

module.exports = process;
