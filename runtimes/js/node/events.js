// node:events for isowasm (CommonJS, so require('events') is the class, as in Node): Node's EventEmitter (listener order, once,
// prepend, 'newListener'/'removeListener', an unhandled 'error' throws).

const kCapture = Symbol('kCapture');

let defaultMaxListeners = 10;

// A copy of a listener array: a literal for the usual few (cheaper in goja
// than slice, which looks up Array[Symbol.species]).
function copyListeners (list) {
    switch (list.length) {
        case 2:
            return [
                list[0],
                list[1]
            ];
        case 3:
            return [
                list[0],
                list[1],
                list[2]
            ];
        default:
            return Array.prototype.slice.call(list);
    }
}

function checkListener (listener) {
    if (typeof listener !== 'function') {
        const error = new TypeError(`The "listener" argument must be of type function. Received ${listener === null ? 'null' : typeof listener === 'object' ? 'an instance of ' + (listener.constructor && listener.constructor.name || 'Object') : `type ${typeof listener} (${String(listener)})`}`);

        error.code = 'ERR_INVALID_ARG_TYPE';
        throw error;
    }
}

function onceWrapper (...args) {
    if (!this.fired) {
        this.target.removeListener(this.type, this.wrapFn);
        this.fired = true;
        return Reflect.apply(this.listener, this.target, args);
    }
}

function wrapOnce (target, type, listener) {
    const state = {
            fired: false,
            listener,
            target,
            type,
            wrapFn: undefined
        },
        wrapped = onceWrapper.bind(state);

    wrapped.listener = listener;
    state.wrapFn = wrapped;
    return wrapped;
}

class EventEmitter {
    constructor (options) {
        EventEmitter.init.call(this, options);
    }

    static init () {
        if (this._events === undefined || this._events === Object.getPrototypeOf(this)._events) {
            this._events = Object.create(null);
            this._eventsCount = 0;
        }

        this._maxListeners = this._maxListeners || undefined;
    }

    static get defaultMaxListeners () {
        return defaultMaxListeners;
    }

    static set defaultMaxListeners (n) {
        defaultMaxListeners = n;
    }

    static listenerCount (emitter, type) {
        return emitter.listenerCount(type);
    }

    setMaxListeners (n) {
        this._maxListeners = n;
        return this;
    }

    getMaxListeners () {
        return this._maxListeners === undefined ? defaultMaxListeners : this._maxListeners;
    }

    emit (type, ...args) {
        const events = this._events;

        if (type === 'error' && (events === undefined || events.error === undefined)) {
            const error = args[0];

            if (error instanceof Error) {
                throw error;
            }

            const wrapped = new Error(`Unhandled error. (${error})`);

            wrapped.code = 'ERR_UNHANDLED_ERROR';
            wrapped.context = error;
            throw wrapped;
        }

        if (events === undefined) {
            return false;
        }

        const handler = events[type];

        if (handler === undefined) {
            return false;
        }

        if (typeof handler === 'function') {
            Reflect.apply(handler, this, args);
        } else {
            // A copy: listeners added or removed meanwhile do not change this
            // emit. Indexed, as an iterator costs goja more than the calls.
            const listeners = copyListeners(handler);

            for (let index = 0; index < listeners.length; index += 1) {
                Reflect.apply(listeners[index], this, args);
            }
        }

        return true;
    }

    _addListener (type, listener, prepend) {
        checkListener(listener);

        let events = this._events;

        if (events === undefined) {
            events = this._events = Object.create(null);
            this._eventsCount = 0;
        } else if (events.newListener !== undefined) {
            this.emit('newListener', type, listener.listener ? listener.listener : listener);
            events = this._events;
        }

        const existing = events[type];

        if (existing === undefined) {
            events[type] = listener;
            this._eventsCount += 1;
        } else if (typeof existing === 'function') {
            events[type] = prepend ? [
                listener,
                existing
            ] : [
                existing,
                listener
            ];
        } else if (prepend) {
            existing.unshift(listener);
        } else {
            existing.push(listener);
        }

        return this;
    }

    addListener (type, listener) {
        return this._addListener(type, listener, false);
    }

    on (type, listener) {
        return this._addListener(type, listener, false);
    }

    prependListener (type, listener) {
        return this._addListener(type, listener, true);
    }

    once (type, listener) {
        checkListener(listener);
        return this.on(type, wrapOnce(this, type, listener));
    }

    prependOnceListener (type, listener) {
        checkListener(listener);
        return this.prependListener(type, wrapOnce(this, type, listener));
    }

    removeListener (type, listener) {
        checkListener(listener);

        const events = this._events;

        if (events === undefined) {
            return this;
        }

        const list = events[type];

        if (list === undefined) {
            return this;
        }

        if (list === listener || list.listener === listener) {
            this._eventsCount -= 1;

            if (this._eventsCount === 0) {
                this._events = Object.create(null);
            } else {
                delete events[type];
            }

            if (events.removeListener) {
                this.emit('removeListener', type, list.listener || listener);
            }
        } else if (typeof list !== 'function') {
            let position = -1;

            for (let i = list.length - 1; i >= 0; i -= 1) {
                if (list[i] === listener || list[i].listener === listener) {
                    position = i;
                    break;
                }
            }

            if (position < 0) {
                return this;
            }

            const [
                removed
            ] = list.splice(position, 1);

            if (list.length === 1) {
                events[type] = list[0];
            }

            if (events.removeListener !== undefined) {
                this.emit('removeListener', type, removed.listener || listener);
            }
        }

        return this;
    }

    off (type, listener) {
        return this.removeListener(type, listener);
    }

    removeAllListeners (type) {
        const events = this._events;

        if (events === undefined) {
            return this;
        }

        if (events.removeListener === undefined) {
            if (arguments.length === 0) {
                this._events = Object.create(null);
                this._eventsCount = 0;
            } else if (events[type] !== undefined) {
                this._eventsCount -= 1;

                if (this._eventsCount === 0) {
                    this._events = Object.create(null);
                } else {
                    delete events[type];
                }
            }

            return this;
        }

        if (arguments.length === 0) {
            for (const key of Reflect.ownKeys(events)) {
                if (key !== 'removeListener') {
                    this.removeAllListeners(key);
                }
            }

            this.removeAllListeners('removeListener');
            this._events = Object.create(null);
            this._eventsCount = 0;
            return this;
        }

        const listeners = events[type];

        if (typeof listeners === 'function') {
            this.removeListener(type, listeners);
        } else if (listeners !== undefined) {
            for (let i = listeners.length - 1; i >= 0; i -= 1) {
                this.removeListener(type, listeners[i]);
            }
        }

        return this;
    }

    listeners (type) {
        const list = this._events === undefined ? undefined : this._events[type];

        if (list === undefined) {
            return [];
        }

        return typeof list === 'function' ? [
            list.listener || list
        ] : list.map(listener => listener.listener || listener);
    }

    rawListeners (type) {
        const list = this._events === undefined ? undefined : this._events[type];

        if (list === undefined) {
            return [];
        }

        return typeof list === 'function' ? [
            list
        ] : list.slice();
    }

    listenerCount (type) {
        const list = this._events === undefined ? undefined : this._events[type];

        if (list === undefined) {
            return 0;
        }

        return typeof list === 'function' ? 1 : list.length;
    }

    eventNames () {
        return this._eventsCount > 0 ? Reflect.ownKeys(this._events) : [];
    }
}

EventEmitter.prototype._events = undefined;
EventEmitter.prototype._eventsCount = 0;
EventEmitter.prototype._maxListeners = undefined;
EventEmitter.EventEmitter = EventEmitter;
EventEmitter.captureRejectionSymbol = Symbol.for('nodejs.rejection');
EventEmitter.errorMonitor = Symbol('events.errorMonitor');
// For node:process's message fast path.
__isowasm.copyListeners = copyListeners;
EventEmitter[kCapture] = false;

function once (emitter, name) {
    return new Promise((resolve, reject) => {
        const onError = error => {
            emitter.removeListener(name, onEvent);
            reject(error);
        };

        function onEvent (...args) {
            if (name !== 'error') {
                emitter.removeListener('error', onError);
            }

            resolve(args);
        }

        emitter.once(name, onEvent);

        if (name !== 'error') {
            emitter.once('error', onError);
        }
    });
}

EventEmitter.once = once;

module.exports = EventEmitter;
