// node:util for isowasm: format, inspect, promisify and friends, types,
// TextEncoder/TextDecoder.

const {
    format,
    formatWithOptions,
    inspect
} = require('isowasm:inspect');
const types = require('node:util/types');
const errors = require('isowasm:errors');
const {
    utf8Decode,
    utf8Encode
} = require('node:buffer');

const kCustomPromisify = Symbol.for('nodejs.util.promisify.custom');

function promisify (original) {
    if (typeof original !== 'function') {
        throw errors.invalidArgType('original', 'function', original);
    }

    if (original[kCustomPromisify]) {
        return original[kCustomPromisify];
    }

    function fn (...args) {
        return new Promise((resolve, reject) => {
            Reflect.apply(original, this, [
                ...args,
                (error, ...values) => {
                    if (error) {
                        reject(error);
                    } else {
                        resolve(values[0]);
                    }
                }
            ]);
        });
    }

    Object.setPrototypeOf(fn, Object.getPrototypeOf(original));
    Object.defineProperty(fn, kCustomPromisify, {
        configurable: true,
        value: fn
    });
    return Object.defineProperties(fn, Object.getOwnPropertyDescriptors(original));
}

promisify.custom = kCustomPromisify;

function callbackify (original) {
    return function (...args) {
        const callback = args.pop();

        Reflect.apply(original, this, args).then(value => process.nextTick(callback, null, value), reason => process.nextTick(callback, reason || Object.assign(new Error('Promise was rejected with a falsy value'), {
            reason
        })));
    };
}

function inherits (ctor, superCtor) {
    Object.defineProperty(ctor, 'super_', {
        configurable: true,
        value: superCtor,
        writable: true
    });
    Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
}

function deprecate (fn, message, code) {
    let warned = false;

    return function (...args) {
        if (!warned) {
            warned = true;
            process.emitWarning(message, 'DeprecationWarning', code);
        }

        return new.target ? Reflect.construct(fn, args, new.target) : Reflect.apply(fn, this, args);
    };
}

function isDeepStrictEqual (a, b) {
    if (Object.is(a, b)) {
        return true;
    }

    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) {
        return false;
    }

    if (a instanceof Date) {
        return a.getTime() === b.getTime();
    }

    if (a instanceof Map || a instanceof Set) {
        return a.size === b.size && isDeepStrictEqual([...a], [...b]);
    }

    const ka = Object.keys(a),
        kb = Object.keys(b);

    return ka.length === kb.length && ka.every(k => Object.prototype.hasOwnProperty.call(b, k) && isDeepStrictEqual(a[k], b[k]));
}

class TextEncoder {
    get encoding () {
        return 'utf-8';
    }

    encode (input = '') {
        return new Uint8Array(utf8Encode(String(input)));
    }
}

class TextDecoder {
    constructor (encoding = 'utf-8') {
        if (!/^utf-?8$/i.test(encoding)) {
            throw errors.coded(RangeError, 'ERR_ENCODING_NOT_SUPPORTED', `The "${encoding}" encoding is not supported`);
        }
    }

    get encoding () {
        return 'utf-8';
    }

    decode (input) {
        if (input === undefined) {
            return '';
        }

        const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);

        return utf8Decode(bytes, 0, bytes.length);
    }
}

const process = require('node:process');

module.exports = {
    TextDecoder,
    TextEncoder,
    callbackify,
    debuglog: () => Object.assign(() => {}, {
        enabled: false
    }),
    deprecate,
    format,
    formatWithOptions,
    inherits,
    inspect,
    isArray: Array.isArray,
    isDeepStrictEqual,
    promisify,
    types
};
