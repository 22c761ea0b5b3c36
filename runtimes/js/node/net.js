// node:net for isowasm: servers that listen (a cluster worker reports them
// to the primary and shares the port with the other workers), close and
// report their address. node:http's Server is built on this one. Plain
// net connections are not served yet: they are accepted and closed.

const native = __isowasm;
const EventEmitter = require('node:events');
const process = require('node:process');
const cluster = require('node:cluster');
const errors = require('isowasm:errors');

function badPort (port) {
    return errors.coded(RangeError, 'ERR_SOCKET_BAD_PORT', `options.port should be >= 0 and < 65536. Received ${typeof port === 'string' ? `type string ('${port}')` : `type ${typeof port} (${String(port)})`}.`);
}

function toPort (port) {
    if (port === undefined || port === null) {
        return 0;
    }

    if (typeof port !== 'number' && (typeof port !== 'string' || !/^\s*\d+\s*$/.test(port))) {
        throw badPort(port);
    }

    const n = Number(port);

    if (!Number.isInteger(n) || n < 0 || n > 65535) {
        throw badPort(port);
    }

    return n;
}

class Server extends EventEmitter {
    constructor (options, connectionListener) {
        super();

        if (typeof options === 'function') {
            connectionListener = options;
        }

        if (typeof connectionListener === 'function') {
            this.on('connection', connectionListener);
        }

        this._handle = null;
        this._address = null;
        this._closing = false;
        this.listening = false;
    }

    // listen(port[, host][, backlog][, cb]), listen(path[, backlog][, cb]),
    // listen({port, host, path, backlog, exclusive}[, cb]), listen([cb]).
    listen (...args) {
        const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;

        let exclusive = false,
            host = '',
            path = '',
            port = 0;

        const first = args[0];

        if (first !== null && typeof first === 'object') {
            if (first.path !== undefined) {
                path = String(first.path);
            } else {
                port = toPort(first.port);
            }

            host = first.host || '';
            exclusive = !!first.exclusive;
        } else if (typeof first === 'string' && !/^\s*\d+\s*$/.test(first)) {
            path = first;
        } else {
            port = toPort(first);
            host = typeof args[1] === 'string' ? args[1] : '';
        }

        if (this._handle !== null) {
            throw errors.coded(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
        }

        if (callback) {
            this.once('listening', callback);
        }

        let result;

        try {
            result = this._listenNative(host, port, path, exclusive);
        } catch (error) {
            process.nextTick(() => this.emit('error', error));
            return this;
        }

        this._handle = result.id;
        this._address = result.path === undefined ? {
            address: result.address,
            family: result.family,
            port: result.port
        } : result.path;
        this.listening = true;
        cluster._handles.add(this);

        if (this._unref) {
            native.netRef(this._handle, false);
        }

        process.nextTick(() => this.emit('listening'));
        return this;
    }

    _listenNative (host, port, path, exclusive) {
        return native.netListen(host, port, path, exclusive);
    }

    address () {
        return this._address;
    }

    // close stops listening; 'close' follows once the connections in
    // progress are done.
    close (callback) {
        if (typeof callback === 'function') {
            if (this._handle === null) {
                this.once('close', () => callback(errors.coded(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
            } else {
                this.once('close', callback);
            }
        }

        if (this._handle !== null) {
            const handle = this._handle;

            this._handle = null;
            this._closing = true;
            this.listening = false;
            cluster._handles.delete(this);
            native.netClose(handle, () => {
                this._closing = false;
                this.emit('close');
            });
        } else if (!this._closing) {
            process.nextTick(() => this.emit('close'));
        }

        return this;
    }

    ref () {
        this._unref = false;

        if (this._handle !== null) {
            native.netRef(this._handle, true);
        }

        return this;
    }

    unref () {
        this._unref = true;

        if (this._handle !== null) {
            native.netRef(this._handle, false);
        }

        return this;
    }

    getConnections (callback) {
        process.nextTick(callback, null, 0);
        return this;
    }
}

function createServer (options, connectionListener) {
    return new Server(options, connectionListener);
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv4 (input) {
    return ipv4.test(String(input));
}

function isIPv6 (input) {
    const s = String(input);

    return s.includes(':') && /^[0-9a-fA-F:.]+(%.+)?$/.test(s) && (s.match(/::/g) || []).length <= 1;
}

module.exports = {
    Server,
    createServer,
    isIP: input => isIPv4(input) ? 4 : isIPv6(input) ? 6 : 0,
    isIPv4,
    isIPv6
};
