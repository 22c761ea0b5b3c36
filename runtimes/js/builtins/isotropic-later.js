// isotropic-later: run a function some time from now, cancellably.
//
// isowasm's own implementation of the isotropic-later API (v0.14 behaviour):
//
//     _later(milliseconds, fn) -> handle {cancel(), cancelled, completed, hasRef(), ref(), unref()}
//     _later(milliseconds)     -> the same handle on a Promise that resolves when the time is up
//     _later.asap(fn)          =  _later(-1, fn): a microtask
//     _later.soon(fn)          =  _later(0, fn):  an immediate (setImmediate)
//
// A negative delay runs as a microtask, zero as an immediate, anything else as a timeout.
// An exception thrown by fn is an uncaught exception, as with the timers themselves.

// The engine's own microtask queue when it has one; otherwise a promise job that hands any
// exception on to a timer, so it still surfaces as an uncaught exception, not a rejection.
const enqueueMicrotask = typeof globalThis.queueMicrotask === 'function' ?
    fn => {
        globalThis.queueMicrotask(fn);
    } :
    fn => {
        Promise.resolve().then(() => {
            try {
                fn();
            } catch (error) {
                globalThis.setTimeout(() => {
                    throw error;
                }, 0);
            }
        });
    };

const startImmediate = typeof globalThis.setImmediate === 'function' ?
    fn => globalThis.setImmediate(fn) :
    fn => globalThis.setTimeout(fn, 0);

const stopImmediate = typeof globalThis.clearImmediate === 'function' ?
    timer => globalThis.clearImmediate(timer) :
    timer => globalThis.clearTimeout(timer);

const later = (milliseconds, callbackFunction) => {
    let cancelled = false,
        completed = false,
        stopTimer = null,
        timer = null;

    const fire = () => {
        if (!cancelled) {
            completed = true;
            callbackFunction();
        }
    };

    if (milliseconds < 0) {
        enqueueMicrotask(fire);
    } else if (milliseconds === 0) {
        stopTimer = stopImmediate;
        timer = startImmediate(fire);
    } else {
        stopTimer = timer => globalThis.clearTimeout(timer);
        timer = globalThis.setTimeout(fire, milliseconds);
    }

    // Without a callback the handle is a promise that the timer resolves.
    const handle = typeof callbackFunction === 'function' ?
        {} :
        new Promise(resolve => {
            callbackFunction = resolve;
        });

    const property = value => ({
        configurable: true,
        enumerable: true,
        value
    });

    return Object.defineProperties(handle, {
        cancel: property(function () {
            if (!cancelled) {
                cancelled = true;

                if (stopTimer && timer) {
                    stopTimer(timer);
                    stopTimer = null;
                    timer = null;
                }
            }

            return this;
        }),
        cancelled: {
            configurable: true,
            enumerable: true,
            get: () => cancelled
        },
        completed: {
            configurable: true,
            enumerable: true,
            get: () => completed
        },
        hasRef: property(() => {
            if (cancelled || completed) {
                return false;
            }

            return timer && typeof timer.hasRef === 'function' ?
                timer.hasRef() :
                true;
        }),
        ref: property(function () {
            if (timer && typeof timer.ref === 'function') {
                timer.ref();
            }

            return this;
        }),
        unref: property(function () {
            if (timer && typeof timer.unref === 'function') {
                timer.unref();
            }

            return this;
        })
    });
};

later.asap = callbackFunction => later(-1, callbackFunction);
later.soon = callbackFunction => later(0, callbackFunction);

export default later;
