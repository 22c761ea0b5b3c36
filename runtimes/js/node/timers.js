// node:timers for isowasm: Timeout and Immediate objects as in Node (ref,
// unref, hasRef, refresh, a numeric id through Symbol.toPrimitive); the Go
// loop owns the heap and the order.

const native = __isowasm;
const process = require('node:process');
const errors = require('isowasm:errors');

const TIMEOUT_MAX = 2 ** 31 - 1;

const knownById = new Map();

let nextId = 1;

function validateCallback (callback) {
    if (typeof callback !== 'function') {
        throw errors.invalidArgType('callback', 'function', callback);
    }
}

function coerceDelay (after) {
    after *= 1;

    if (!(after >= 1 && after <= TIMEOUT_MAX)) {
        if (after > TIMEOUT_MAX) {
            process.emitWarning(`${after} does not fit into a 32-bit signed integer.\nTimeout duration was set to 1.`, 'TimeoutOverflowWarning');
        }

        after = 1;
    }

    return Math.trunc(after);
}

class Timeout {
    constructor (callback, after, args, isRepeat, isRefed) {
        after = coerceDelay(after);
        this._idleTimeout = after;
        this._onTimeout = callback;
        this._timerArgs = args;
        this._repeat = isRepeat ? after : null;
        this._destroyed = false;
        this._refed = isRefed;
        this._key = 0;
        this._id = 0;
    }

    _arm () {
        this._key = native.timerArm(this, this._idleTimeout, this._refed);
    }

    _disarm () {
        if (this._key !== 0) {
            native.timerCancel(this._key);
            this._key = 0;
        }
    }

    refresh () {
        if (!this._destroyed) {
            this._disarm();
            this._arm();
        }

        return this;
    }

    unref () {
        this._refed = false;

        if (this._key !== 0) {
            native.timerRef(this._key, false);
        }

        return this;
    }

    ref () {
        this._refed = true;

        if (this._key !== 0) {
            native.timerRef(this._key, true);
        }

        return this;
    }

    hasRef () {
        return this._refed;
    }

    close () {
        clearTimeout(this);
        return this;
    }

    [Symbol.toPrimitive] () {
        if (this._id === 0) {
            this._id = nextId;
            nextId += 1;
        }

        knownById.set(this._id, this);
        return this._id;
    }
}

class Immediate {
    constructor (callback, args) {
        this._onImmediate = callback;
        this._argv = args;
        this._destroyed = false;
        this._refed = true;
        this._key = native.immediate(this, true);
    }

    ref () {
        this._refed = true;

        if (this._key !== 0) {
            native.timerRef(this._key, true);
        }

        return this;
    }

    unref () {
        this._refed = false;

        if (this._key !== 0) {
            native.timerRef(this._key, false);
        }

        return this;
    }

    hasRef () {
        return this._refed;
    }
}

process._timers.fireTimer = timer => {
    timer._key = 0;

    if (timer._destroyed) {
        return;
    }

    if (timer._repeat === null) {
        timer._destroyed = true;

        if (timer._id !== 0) {
            knownById.delete(timer._id);
        }
    }

    try {
        const args = timer._timerArgs;

        if (args === undefined) {
            timer._onTimeout();
        } else {
            Reflect.apply(timer._onTimeout, timer, args);
        }
    } finally {
        if (timer._repeat !== null && !timer._destroyed && timer._key === 0) {
            timer._idleTimeout = timer._repeat;
            timer._arm();
        }
    }
};

process._timers.fireImmediate = immediate => {
    immediate._key = 0;

    if (immediate._destroyed) {
        return;
    }

    immediate._destroyed = true;

    const args = immediate._argv;

    if (args === undefined) {
        immediate._onImmediate();
    } else {
        Reflect.apply(immediate._onImmediate, immediate, args);
    }
};

function setTimeout (callback, after, ...args) {
    validateCallback(callback);

    const timeout = new Timeout(callback, after, args.length ? args : undefined, false, true);

    timeout._arm();
    return timeout;
}

function setInterval (callback, repeat, ...args) {
    validateCallback(callback);

    const timeout = new Timeout(callback, repeat, args.length ? args : undefined, true, true);

    timeout._arm();
    return timeout;
}

function clearTimeout (timer) {
    if (timer && timer._onTimeout) {
        timer._destroyed = true;
        timer._disarm();

        if (timer._id !== 0) {
            knownById.delete(timer._id);
        }

        return;
    }

    if (typeof timer === 'number' || typeof timer === 'string') {
        const known = knownById.get(Number(timer));

        if (known !== undefined) {
            clearTimeout(known);
        }
    }
}

function setImmediate (callback, ...args) {
    validateCallback(callback);
    return new Immediate(callback, args.length ? args : undefined);
}

function clearImmediate (immediate) {
    if (!immediate || immediate._destroyed || !immediate._onImmediate) {
        return;
    }

    immediate._destroyed = true;

    if (immediate._key !== 0) {
        native.timerCancel(immediate._key);
        immediate._key = 0;
    }
}

// queueMicrotask: goja has none; a promise job that reports a throw as an
// uncaught exception (Node's behaviour), not as a rejection.
function queueMicrotask (callback) {
    validateCallback(callback);
    Promise.resolve().then(() => {
        try {
            callback();
        } catch (error) {
            native.uncaught(error);
        }
    });
}

module.exports = {
    Immediate,
    Timeout,
    clearImmediate,
    clearInterval: clearTimeout,
    clearTimeout,
    queueMicrotask,
    setImmediate,
    setInterval,
    setTimeout
};
