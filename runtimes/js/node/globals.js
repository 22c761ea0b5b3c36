// The globals every script sees, installed before its first module runs:
// process, console, the timers, queueMicrotask, Buffer, URL, TextEncoder…

const process = require('node:process');
const console = require('node:console');
const timers = require('node:timers');
const {
    URL,
    URLSearchParams
} = require('node:url');

require('node:cluster');

const define = (name, value) => {
    Object.defineProperty(globalThis, name, {
        configurable: true,
        enumerable: false,
        value,
        writable: true
    });
};

// A global whose module loads on first use, as Node defines Buffer,
// TextEncoder, TextDecoder and crypto: an accessor until assigned, and the
// module (lazy.go) compiled only when the getter first runs.
const defineLazy = (name, load, enumerable) => {
    Object.defineProperty(globalThis, name, {
        configurable: true,
        enumerable,
        get () {
            return load();
        },
        set (value) {
            Object.defineProperty(globalThis, name, {
                configurable: true,
                enumerable,
                value,
                writable: true
            });
        }
    });
};

define('global', globalThis);
define('process', process);
define('console', console);
defineLazy('Buffer', () => require('node:buffer').Buffer, false);

for (const name of [
    'setTimeout',
    'setInterval',
    'setImmediate',
    'clearTimeout',
    'clearInterval',
    'clearImmediate',
    'queueMicrotask'
]) {
    define(name, timers[name]);
}

if (typeof globalThis.URL === 'undefined') {
    define('URL', URL);
    define('URLSearchParams', URLSearchParams);
}

if (typeof globalThis.TextEncoder === 'undefined') {
    defineLazy('TextEncoder', () => require('node:util').TextEncoder, false);
    defineLazy('TextDecoder', () => require('node:util').TextDecoder, false);
}

if (typeof globalThis.structuredClone === 'undefined') {
    define('structuredClone', value => value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
}

// Weak collections refuse primitive keys with V8's messages (goja's say
// "Value is not an object").
const weakKey = value => value !== null && (typeof value === 'object' || typeof value === 'function');

for (const [
    Collection,
    method,
    message
] of [
    [
        WeakMap,
        'set',
        'Invalid value used as weak map key'
    ],
    [
        WeakSet,
        'add',
        'Invalid value used in weak set'
    ]
]) {
    const original = Collection.prototype[method];

    Object.defineProperty(Collection.prototype, method, {
        configurable: true,
        enumerable: false,
        value: {
            [method] (key, ...rest) {
                if (!weakKey(key)) {
                    throw new TypeError(message);
                }

                return Reflect.apply(original, this, [
                    key,
                    ...rest
                ]);
            }
        }[method],
        writable: true
    });
}

if (typeof globalThis.crypto === 'undefined') {
    defineLazy('crypto', () => require('node:crypto').webcrypto, true);
}

if (typeof globalThis.performance === 'undefined') {
    define('performance', {
        now: () => __isowasm.now(),
        timeOrigin: __isowasm.timeOrigin
    });
}
