import _assert from 'node:assert/strict';
import _process from 'node:process';
import {
    describe,
    it
} from 'node:test';
import {
    importBuiltin
} from './builtins.mjs';

const _Error = await importBuiltin('isotropic-error'),
    _Initializable = await importBuiltin('isotropic-initializable'),
    _make = await importBuiltin('isotropic-make');

// Resolves with the next uncaught exception, keeping the test runner's own handlers out of
// the way meanwhile.
const nextUncaughtException = () => new Promise(resolve => {
    const saved = _process.rawListeners('uncaughtException');

    _process.removeAllListeners('uncaughtException');
    _process.once('uncaughtException', error => {
        for (const listener of saved) {
            _process.on('uncaughtException', listener);
        }

        resolve(error);
    });
});

const traceOf = (initializable, names = [
    'initialize',
    'initializeComplete',
    'initializeError'
]) => {
    const trace = [];

    for (const name of names) {
        initializable.on(name, () => trace.push(`on ${name}`));
        initializable.after(name, () => trace.push(`after ${name}`));
    }

    return trace;
};

describe('isotropic-initializable', () => {
    it('initializes synchronously on construction, with and without new', () => {
        for (const initializable of [
            new _Initializable(),
            _Initializable()
        ]) {
            _assert.ok(initializable instanceof _Initializable);
            _assert.equal(initializable.initialized, true);
            initializable.destroy();
            _assert.equal(initializable.initialized, undefined);
            _assert.equal(initializable.destroyed, true);
        }
    });

    it('nests initializeComplete inside initialize and passes the arguments along', () => {
        const calls = [],
            Custom = _make(_Initializable, {
                _initialize (...args) {
                    calls.push([
                        '_initialize',
                        ...args
                    ]);
                },
                _initializeComplete (...args) {
                    calls.push([
                        '_initializeComplete',
                        ...args
                    ]);
                }
            }),
            custom = Custom({
                initialize: false
            }),
            trace = traceOf(custom);

        _assert.equal(custom.initialized, false);
        custom.initialize('a', 'b');
        custom.initialize('again');

        _assert.deepEqual(trace, [
            'on initialize',
            'on initializeComplete',
            'after initializeComplete',
            'after initialize'
        ]);
        _assert.deepEqual(calls, [
            [
                '_initialize',
                'a',
                'b'
            ],
            [
                '_initializeComplete',
                'a',
                'b'
            ]
        ]);
    });

    it('calls late subscribers to initialize and initializeComplete at once', () => {
        const initializable = _Initializable(),
            late = [];

        initializable.on('initialize', event => late.push(`on ${event.name}`));
        initializable.after('initializeComplete', event => late.push(`after ${event.name}`));
        late.push('returned');

        _assert.deepEqual(late, [
            'on initialize',
            'after initializeComplete',
            'returned'
        ]);
    });

    it('runs every _initialize along parents and mixins once, outermost first', () => {
        const order = [],
            named = label => _make({
                _initialize () {
                    order.push(label);
                }
            }),
            A = named('A'),
            B = named('B'),
            X = _make(_Initializable, [
                A
            ], {
                _initialize () {
                    order.push('X');
                }
            }),
            Y = _make(X, [
                B
            ], {
                _doNotInitialize: A,
                _initialize () {
                    order.push('Y');
                }
            }),
            y = Y({
                initialize: false
            });

        y._initialize = () => {
            order.push('own');
        };
        y.initialize();

        _assert.deepEqual(order, [
            'X',
            'B',
            'Y',
            'own'
        ]);
    });

    it('awaits asynchronous _initialize methods before completing', async () => {
        const Slow = _make(_Initializable, {
                async _initialize () {
                    await new Promise(resolve => {
                        setTimeout(resolve, 5);
                    });
                    this.ready = true;
                }
            }),
            slow = Slow(),
            trace = traceOf(slow);

        _assert.equal(slow.initialized, false);
        _assert.deepEqual(trace, [
            'on initialize',
            'after initialize'
        ], 'replayed: initialize completed, initializeComplete not yet published');

        await new Promise(resolve => {
            slow.on('initializeComplete', resolve);
        });

        _assert.equal(slow.initialized, true);
        _assert.equal(slow.ready, true);
        _assert.deepEqual(trace.slice(2), [
            'on initializeComplete',
            'after initializeComplete'
        ]);
    });

    it('publishes a prevented initializeError and lives on', async () => {
        const Failing = _make(_Initializable, {
                _initialize () {
                    throw _Error({
                        message: 'cause'
                    });
                }
            }),
            failing = Failing({
                initialize: false
            }),
            trace = traceOf(failing);

        failing.on('initializeError', event => {
            event.prevent();
        });
        failing.initialize();

        _assert.equal(failing.initialized, false);

        const error = await new Promise(resolve => {
            failing.on('initializeError', ({
                data
            }) => resolve(data.error));
        });

        _assert.deepEqual(trace, [
            'on initialize',
            'after initialize',
            'on initializeError'
        ]);
        _assert.ok(error instanceof _Error);
        _assert.equal(error.message, 'Initialize error');
        _assert.equal(error.error.message, 'cause');
        _assert.equal(failing.initialized, false);

        const late = [];

        failing.after('initializeError', () => late.push('called'));
        _assert.deepEqual(late, [], 'a prevented once-event is not replayed');
    });

    it('rethrows an unprevented initializeError asynchronously', async () => {
        const uncaught = nextUncaughtException(),
            Failing = _make(_Initializable, {
                async _initialize () {
                    throw new Error('async cause');
                }
            }),
            failing = Failing(),
            trace = traceOf(failing),
            error = await uncaught;

        _assert.ok(error instanceof _Error);
        _assert.equal(error.message, 'Initialize error');
        _assert.ok(error.error instanceof _Error);
        _assert.equal(error.error.message, 'Initialize error');
        _assert.equal(error.error.error.message, 'async cause');
        _assert.deepEqual(trace, [
            'on initialize',
            'after initialize',
            'on initializeError',
            'after initializeError'
        ], 'the replayed initialize, then initializeError as it happened');
    });

    it('works as a mixin', () => {
        const order = [],
            Mixed = _make([
                _Initializable
            ], {
                _init (...args) {
                    return Reflect.apply(_Initializable.prototype._init, this, args);
                },
                _initialize () {
                    order.push('mixed');
                }
            }),
            mixed = Mixed();

        _assert.equal(mixed instanceof _Initializable, false);
        _assert.equal(mixed.initialized, true);
        _assert.deepEqual(order, [
            'mixed'
        ]);
    });
});
