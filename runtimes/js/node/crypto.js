// node:crypto for isowasm: randomness (randomBytes, randomUUID, randomInt,
// getRandomValues, randomFillSync) and digests (createHash, createHmac) from
// Go's crypto packages. Ciphers, keys and signatures are not provided.

const native = __isowasm;
const {
    Buffer
} = require('node:buffer');
const errors = require('isowasm:errors');
const process = require('node:process');

function randomFillSync (view, offset = 0, size) {
    if (!ArrayBuffer.isView(view) && !(view instanceof ArrayBuffer)) {
        throw errors.invalidArgType('buf', [
            'ArrayBuffer',
            'ArrayBufferView'
        ], view);
    }

    const bytes = view instanceof ArrayBuffer ?
            new Uint8Array(view) :
            new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
        end = size === undefined ? bytes.length : offset + size,
        scratch = new ArrayBuffer(Math.max(end - offset, 0));

    native.randomFill(scratch);
    bytes.set(new Uint8Array(scratch), offset);
    return view;
}

function randomBytes (size, callback) {
    if (typeof size !== 'number' || !(size >= 0) || size > 2 ** 31 - 1 || !Number.isInteger(size)) {
        if (typeof size !== 'number') {
            throw errors.invalidArgType('size', 'number', size);
        }

        throw errors.outOfRange('size', '>= 0 && <= 2147483647', size);
    }

    const buffer = Buffer.alloc(size);

    randomFillSync(buffer);

    if (typeof callback === 'function') {
        process.nextTick(callback, null, buffer);
        return undefined;
    }

    return buffer;
}

function randomInt (min, max, callback) {
    if (max === undefined || typeof max === 'function') {
        callback = max;
        max = min;
        min = 0;
    }

    if (!Number.isSafeInteger(min)) {
        throw errors.invalidArgType('min', 'a safe integer', min);
    }

    if (!Number.isSafeInteger(max)) {
        throw errors.invalidArgType('max', 'a safe integer', max);
    }

    if (max <= min) {
        throw errors.outOfRange('max', `greater than the value of "min" (${min})`, max);
    }

    const range = max - min,
        words = new Uint32Array(2);

    let value;

    // Rejection sampling over 48 random bits, as Node does.
    do {
        randomFillSync(words);
        value = (words[0] & 0xffff) * 2 ** 32 + words[1];
    } while (value >= 2 ** 48 - 2 ** 48 % range);

    const result = min + value % range;

    if (typeof callback === 'function') {
        process.nextTick(callback, null, result);
        return undefined;
    }

    return result;
}

function toBytes (data, encoding) {
    if (typeof data === 'string') {
        return Buffer.from(data, encoding);
    }

    if (ArrayBuffer.isView(data)) {
        return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }

    if (data instanceof ArrayBuffer) {
        return new Uint8Array(data);
    }

    throw errors.invalidArgType('data', [
        'string',
        'an instance of Buffer, TypedArray, or DataView'
    ], data);
}

function copyOut (bytes) {
    const copy = new ArrayBuffer(bytes.length);

    new Uint8Array(copy).set(bytes);
    return copy;
}

class Hash {
    constructor (algorithm, key) {
        if (!native.hashAlgorithms().includes(String(algorithm).toLowerCase())) {
            throw new Error('Digest method not supported');
        }

        this._algorithm = algorithm;
        this._key = key === undefined ? null : copyOut(toBytes(key));
        this._chunks = [];
        this._done = false;
    }

    update (data, encoding) {
        if (this._done) {
            throw errors.coded(Error, 'ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
        }

        this._chunks.push(copyOut(toBytes(data, encoding)));
        return this;
    }

    digest (encoding) {
        if (this._done) {
            throw errors.coded(Error, 'ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
        }

        this._done = true;

        const result = Buffer.from(native.hash(this._algorithm, this._key, this._chunks));

        return encoding === undefined || encoding === 'buffer' ? result : result.toString(encoding);
    }

    copy () {
        const hash = new Hash(this._algorithm, this._key === null ? undefined : new Uint8Array(this._key));

        hash._chunks = this._chunks.slice();
        return hash;
    }
}

const webcrypto = {
    getRandomValues (view) {
        return randomFillSync(view);
    },
    randomUUID: () => native.randomUUID()
};

module.exports = {
    createHash: algorithm => new Hash(algorithm),
    createHmac: (algorithm, key) => new Hash(algorithm, key),
    getHashes: () => native.hashAlgorithms().sort(),
    getRandomValues: view => randomFillSync(view),
    randomBytes,
    randomFillSync,
    randomInt,
    randomUUID: () => native.randomUUID(),
    webcrypto
};
