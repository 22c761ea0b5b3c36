// isotropic-initializable: an observable initialize lifecycle on top of isotropic-pubsub.
//
// isowasm's own implementation of the isotropic-initializable API (the behaviour
// isotropic-cluster 0.5.0 relies on).
//
// - Constructing calls initialize(...constructorArgs) unless the first argument has
//   `initialize: false`.
// - initialize(...args) publishes 'initialize' (completeOnce). Its complete stage calls every
//   own `_initialize` found along the instance's chain, each function once: the outermost
//   ancestor's first, a class's mixins before the class, the instance's own last. Objects
//   named by an own `_doNotInitialize` (one, an array or a Set) nearer the instance are
//   skipped. Async `_initialize`s are awaited one after the other.
// - When every `_initialize` returned synchronously, `initialized` is true and
//   'initializeComplete' (publishOnce) is published inside the complete stage of 'initialize',
//   so it nests before 'after initialize'. Otherwise it is published when they have settled.
//   Its complete stage calls `_initializeComplete(...args)`.
// - A failure publishes 'initializeError' (publishOnce) with data.error an isotropic-error
//   'Initialize error' wrapping the cause, and `initialized` stays false. Unless that event is
//   prevented, its complete stage rethrows it from a microtask (wrapped once more), which is an
//   uncaught exception.
// - A subscriber added after initialize/initializeComplete/initializeError happened is called
//   at once with the past event (pubsub's once-event replay), unless it was prevented.
// - destroy() (from pubsub) sets `initialized` to undefined.
import _Error from 'isotropic-error';
import _later from 'isotropic-later';
import _make from 'isotropic-make';
import {
    mixinPrototypeChain
} from 'isotropic-property-chainer';
import _Pubsub from 'isotropic-pubsub';

// Adds what a `_doNotInitialize` value names (classes by their prototype) to the set.
const addDoNotInitialize = (set, value) => {
    const add = item => {
        set.add(item.prototype || item);
    };

    if (Array.isArray(value) || value instanceof Set) {
        value.forEach(add);
    } else {
        add(value);
    }
};

const _Initializable = _make([
    _Pubsub
], {
    initialize (...args) {
        return this._publish('initialize', {
            args
        });
    },
    get initialized () {
        return this._initialized;
    },
    _destroy (...args) {
        this._initialized = undefined;

        Reflect.apply(_Pubsub.prototype._destroy, this, args);
    },
    _eventInitialize ({
        data: {
            args
        }
    }) {
        const initializing = this._executeInitializeMethods(...args);

        if (this._initialized) {
            this._publish('initializeComplete', {
                args
            });
            return;
        }

        initializing.then(() => {
            this._initialized = true;

            this._publish('initializeComplete', {
                args
            });
        }).catch(error => {
            this._initialized = false;

            this._publish('initializeError', {
                error: _Error({
                    error,
                    message: 'Initialize error'
                })
            });
        });
    },
    _eventInitializeComplete ({
        data: {
            args
        }
    }) {
        this._initializeComplete(...args);
    },
    _eventInitializeError ({
        data: {
            error
        }
    }) {
        _later.asap(() => {
            throw _Error({
                error
            });
        });
    },
    // Runs synchronously up to the first `_initialize` that returns a thenable, so a fully
    // synchronous initialization has set `_initialized` by the time this returns.
    async _executeInitializeMethods (...args) {
        for (const object of this._getInitializationObjects()) {
            const result = Reflect.apply(object._initialize, this, args);

            if (result && typeof result.then === 'function') {
                await result;
            }
        }

        this._initialized = true;

        return this;
    },
    // The objects whose own `_initialize` runs, in running order.
    _getInitializationObjects () {
        const doNotInitialize = new Set(),
            objects = [],
            seenMethods = new Set();

        // Walk from the instance outwards; the result is reversed so the outermost runs first.
        for (const object of mixinPrototypeChain.fromInstanceObject(this)) {
            if (Object.hasOwn(object, '_doNotInitialize')) {
                addDoNotInitialize(doNotInitialize, object._doNotInitialize);
            }

            if (Object.hasOwn(object, '_initialize') && !doNotInitialize.has(object) && !seenMethods.has(object._initialize)) {
                objects.unshift(object);
                seenMethods.add(object._initialize);
            }
        }

        return objects;
    },
    _init (...args) {
        const [{
            initialize = true
        } = {}] = args;

        Reflect.apply(_Pubsub.prototype._init, this, args);

        this._initialized = false;

        return initialize ? this.initialize(...args) : this;
    },
    _initializeComplete () {
        // For subclasses: runs in the complete stage of initializeComplete.
    }
}, {
    _pubsub: {
        initialize: {
            allowPublicPublish: false,
            completeFunction: '_eventInitialize',
            completeOnce: true
        },
        initializeComplete: {
            allowPublicPublish: false,
            completeFunction: '_eventInitializeComplete',
            publishOnce: true
        },
        initializeError: {
            allowPublicPublish: false,
            completeFunction: '_eventInitializeError',
            publishOnce: true
        }
    }
});

export default _Initializable;
