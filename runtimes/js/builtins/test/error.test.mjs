import _assert from 'node:assert/strict';
import {
    describe,
    it
} from 'node:test';
import {
    importBuiltin
} from './builtins.mjs';

const _Error = await importBuiltin('isotropic-error');

describe('isotropic-error', () => {
    it('is callable with and without new and is an Error', () => {
        for (const error of [
            new _Error({
                message: 'm'
            }),
            _Error({
                message: 'm'
            })
        ]) {
            _assert.ok(error instanceof _Error);
            _assert.ok(error instanceof Error);
            _assert.equal(error.constructor, _Error);
            _assert.equal(error.constructor.name, '');
            _assert.equal(error.message, 'm');
        }
    });

    it('has read-only message, name, details and error, with cause reading error', () => {
        const inner = new TypeError('inner message'),
            error = _Error({
                details: {
                    a: 1
                },
                error: inner
            });

        _assert.deepEqual(error.details, {
            a: 1
        });
        _assert.equal(error.error, inner);
        _assert.equal(error.cause, inner);
        _assert.equal(error.message, 'inner message', 'message falls back to the cause');
        _assert.equal(error.name, 'TypeError', 'name falls back to the cause');
        _assert.throws(() => {
            error.message = 'x';
        }, TypeError);
        _assert.throws(() => {
            error.details = 'x';
        }, TypeError);
        _assert.deepEqual(Object.keys(error), [
            'details',
            'error',
            'message',
            'name'
        ]);
    });

    it('leaves name and message undefined without a cause', () => {
        const error = _Error();

        _assert.equal(error.name, undefined);
        _assert.equal(error.message, undefined);
        _assert.equal(error.toString(), 'Error');
        _assert.equal(_Error({
            message: 'm',
            name: 'N'
        }).toString(), 'N: m');
        _assert.equal(_Error({
            name: 'N'
        }).toString(), 'N');
    });

    it('builds a cached stack with details and the cause chain', () => {
        const root = new Error('root'),
            middle = new Error('middle', {
                cause: root
            }),
            error = _Error({
                details: {
                    workerId: 3
                },
                error: middle,
                message: 'outer'
            }),
            {
                stack
            } = error;

        _assert.equal(typeof stack, 'string');
        _assert.equal(error.stack, stack, 'cached');
        _assert.match(stack, /^Error: outer\nDetails: \{\n {4}"workerId": 3\n\}\n/u);
        _assert.match(stack, /\n {4}at /u);
        _assert.match(stack, /\n-> Error: middle\n/u);
        _assert.match(stack, /\n-> Error: root\n/u);
        _assert.match(_Error({
            error: 'a string cause'
        }).stack, /\n-> a string cause$/u);
    });

    it('stops the chain at a nested isotropic error, whose stack continues it', () => {
        const inner = _Error({
                error: new Error('deepest'),
                message: 'inner'
            }),
            stack = _Error({
                error: inner,
                message: 'outer'
            }).stack;

        _assert.equal(stack.split('-> Error: deepest').length, 2, 'deepest appears once');
        _assert.match(stack, /-> Error: inner/u);
    });

    it('works without Error.captureStackTrace', () => {
        const saved = Error.captureStackTrace;

        Error.captureStackTrace = undefined;

        try {
            _assert.equal(typeof _Error({
                message: 'x'
            }).stack, 'string');
        } finally {
            Error.captureStackTrace = saved;
        }
    });
});
