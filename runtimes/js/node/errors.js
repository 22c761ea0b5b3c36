// Node's coded errors that isowasm's node modules throw, with Node's texts.

function describeReceived (value) {
    if (value === null || value === undefined) {
        return ` Received ${value}`;
    }

    if (typeof value === 'function') {
        return ` Received function ${value.name}`;
    }

    if (typeof value === 'object') {
        if (value.constructor && value.constructor.name) {
            return ` Received an instance of ${value.constructor.name}`;
        }

        return ' Received [object Object]';
    }

    let shown = typeof value === 'symbol' ? value.toString() : typeof value === 'bigint' ? `${value}n` : String(value);

    if (shown.length > 28) {
        shown = `${shown.slice(0, 25)}...`;
    }

    if (typeof value === 'string') {
        shown = `'${shown}'`;
    }

    return ` Received type ${typeof value} (${shown})`;
}

function coded (Base, code, message) {
    const error = new Base(message);

    Object.defineProperty(error, 'code', {
        configurable: true,
        enumerable: true,
        value: code,
        writable: true
    });
    return error;
}

function invalidArgType (name, expected, actual) {
    const types = Array.isArray(expected) ? expected : [
        expected
    ];

    let list = types.join(', ');

    if (types.length > 1) {
        list = `${types.slice(0, -1).join(', ')}, or ${types[types.length - 1]}`;
    }

    const kind = name.includes('.') ? 'property' : 'argument';

    return coded(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" ${kind} must be ${types.length > 1 ? 'one of type' : 'of type'} ${list}.${describeReceived(actual)}`);
}

function missingArgs (...names) {
    return coded(TypeError, 'ERR_MISSING_ARGS', `The "${names.join('", "')}" argument must be specified`);
}

function channelClosed () {
    return coded(Error, 'ERR_IPC_CHANNEL_CLOSED', 'Channel closed');
}

// checkMessage throws what Node's ChildProcess _send throws for a message it
// cannot send (both ends of the channel check alike).
function checkMessage (message) {
    if (message === undefined) {
        throw missingArgs('message');
    }

    if (typeof message !== 'string' && typeof message !== 'object' && typeof message !== 'number' && typeof message !== 'boolean') {
        throw invalidArgType('message', [
            'string',
            'object',
            'number',
            'boolean'
        ], message);
    }
}

function outOfRange (name, range, value) {
    return coded(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${value}`);
}

module.exports = {
    channelClosed,
    checkMessage,
    coded,
    invalidArgType,
    missingArgs,
    outOfRange
};
