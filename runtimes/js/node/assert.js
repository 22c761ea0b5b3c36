// node:assert for isowasm: the common assertions.

const {
    inspect,
    isDeepStrictEqual
} = require('node:util');

class AssertionError extends Error {
    constructor (options) {
        super(options.message);
        this.name = 'AssertionError';
        this.code = 'ERR_ASSERTION';
        this.actual = options.actual;
        this.expected = options.expected;
        this.operator = options.operator;
        this.generatedMessage = !options.userMessage;
    }
}

function fail (actual, expected, message, operator, defaultMessage) {
    if (message instanceof Error) {
        throw message;
    }

    throw new AssertionError({
        actual,
        expected,
        message: message === undefined ? defaultMessage : message,
        operator,
        userMessage: message !== undefined
    });
}

function assert (value, message) {
    if (!value) {
        fail(value, true, message, '==', 'The expression evaluated to a falsy value');
    }
}

Object.assign(assert, {
    AssertionError,
    deepEqual: (a, b, message) => isDeepStrictEqual(a, b) || fail(a, b, message, 'deepEqual', `Expected values to be loosely deep-equal:\n\n${inspect(a)}\n\nshould loosely deep-equal\n\n${inspect(b)}`),
    deepStrictEqual: (a, b, message) => isDeepStrictEqual(a, b) || fail(a, b, message, 'deepStrictEqual', `Expected values to be strictly deep-equal:\n${inspect(a)} !== ${inspect(b)}`),
    equal: (a, b, message) => a == b || fail(a, b, message, '==', `${inspect(a)} == ${inspect(b)}`), // eslint-disable-line eqeqeq
    fail: message => fail(undefined, undefined, message, 'fail', 'Failed'),
    notDeepStrictEqual: (a, b, message) => !isDeepStrictEqual(a, b) || fail(a, b, message, 'notDeepStrictEqual', 'Expected "actual" not to be strictly deep-equal to "expected"'),
    notEqual: (a, b, message) => a != b || fail(a, b, message, '!=', `${inspect(a)} != ${inspect(b)}`), // eslint-disable-line eqeqeq
    notStrictEqual: (a, b, message) => !Object.is(a, b) || fail(a, b, message, 'notStrictEqual', `Expected "actual" to be strictly unequal to: ${inspect(b)}`),
    ok: assert,
    async rejects (promise, expected, message) {
        try {
            await (typeof promise === 'function' ? promise() : promise);
        } catch {
            return;
        }

        fail(undefined, expected, message, 'rejects', 'Missing expected rejection.');
    },
    strictEqual: (a, b, message) => Object.is(a, b) || fail(a, b, message, 'strictEqual', `Expected values to be strictly equal:\n\n${inspect(a)} !== ${inspect(b)}\n`),
    throws (fn, expected, message) {
        try {
            fn();
        } catch {
            return;
        }

        fail(undefined, expected, message, 'throws', 'Missing expected exception.');
    }
});

assert.strict = assert;

module.exports = assert;
