// isotropic-error: an error that wraps a cause and carries details.
//
// isowasm's own implementation of the isotropic-error API (v0.13 behaviour, the one
// isotropic-cluster 0.5.0 uses):
//
//     _Error({message, details, error, name})   with or without `new`
//
// - Instances inherit from Error.prototype (so `instanceof Error` and `instanceof _Error`
//   hold) and their constructor is anonymous (constructor.name === '').
// - `details` and `error` (the wrapped cause) are read-only; `cause` reads `error`.
// - `message` and `name` are read-only too and fall back to the cause's when not given;
//   with neither they are undefined.
// - `stack` is built on first read and cached: "name: message", the details as JSON,
//   the stack where the error was made, then "-> " + each cause's stack down the chain
//   (native errors through their `cause`, stopping at the first isotropic error, whose own
//   stack already continues the chain).
import _make from 'isotropic-make';

// V8's Error.captureStackTrace where there is one (looked up on each use, as it can be
// swapped out); elsewhere the stack of a thrown Error.
const captureStackTrace = (target, below) => {
    if (typeof Error.captureStackTrace === 'function') {
        Error.captureStackTrace(target, below);
        return target;
    }

    try {
        throw new Error();
    } catch (error) {
        return error;
    }
};

const _Error = _make(Error, {
    toString () {
        let string = this.name || 'Error';

        if (this.message) {
            string += `: ${this.message}`;
        }

        return string;
    },
    _getCause () {
        return this.error;
    },
    _getMessage () {
        return this._message || this.error && this.error.message || undefined;
    },
    _getName () {
        return this._name || this.error && this.error.name || undefined;
    },
    _getStack () {
        if (this._stack) {
            return this._stack;
        }

        const lines = [
            this.toString()
        ];

        if (this.details) {
            lines.push(`Details: ${JSON.stringify(this.details, null, 4)}`);
        }

        {
            // Read the creation stack with our formatter so it is only the "at" lines.
            const savedPrepareStackTrace = Error.prepareStackTrace;

            Error.prepareStackTrace = _Error._prepareStackTrace;

            try {
                lines.push(this._getInternalStack());
            } finally {
                Error.prepareStackTrace = savedPrepareStackTrace;
            }
        }

        for (let cause = this.error; cause;) {
            if (!(cause instanceof Error)) {
                lines.push(`-> ${cause}`);
                break;
            }

            lines.push(`-> ${cause.stack}`);

            if (cause instanceof _Error) {
                break;
            }

            cause = cause.cause;
        }

        this._stack = lines.join('\n');

        return this._stack;
    },
    _init ({
        details,
        error,
        message,
        name
    } = {}) {
        const creationStack = captureStackTrace({}, _Error);

        Object.defineProperties(this, {
            cause: {
                get: this._getCause
            },
            details: {
                enumerable: true,
                value: details
            },
            error: {
                enumerable: true,
                value: error
            },
            message: {
                enumerable: true,
                get: this._getMessage
            },
            name: {
                enumerable: true,
                get: this._getName
            },
            stack: {
                get: this._getStack
            },
            _getInternalStack: {
                value: () => creationStack.stack
            },
            _message: {
                value: message
            },
            _name: {
                value: name
            },
            _stack: {
                writable: true
            }
        });

        return this;
    }
}, {
    // Error.prepareStackTrace formatter (V8): one "    at <frame>" line per call site.
    _prepareStackTrace (errorObject, callSites) {
        return callSites.map(callSite => {
            let text;

            try {
                text = callSite.toString();
            } catch (error) {
                try {
                    text = `<error: ${error}>`;
                } catch {
                    text = '<error>';
                }
            }

            return `    at ${text}`;
        }).join('\n');
    }
});

export default _Error;
