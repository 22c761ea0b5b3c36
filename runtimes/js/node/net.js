// node:net for isowasm: servers that listen (a cluster worker reports them
// to the primary) and close. Connections are not served yet: they are
// accepted and closed.

const native = __isowasm;
const EventEmitter = require('node:events');
const process = require('node:process');
const cluster = require('node:cluster');

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
        this.listening = false;
    }

    listen (...args) {
        let callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined,
            port = 0,
            host = '';

        if (args[0] !== null && typeof args[0] === 'object') {
            port = args[0].port || 0;
            host = args[0].host || '';
        } else {
            port = args[0] === undefined ? 0 : Number(args[0]);
            host = typeof args[1] === 'string' ? args[1] : '';
        }

        if (callback) {
            this.once('listening', callback);
        }

        callback = undefined;

        try {
            const result = native.netListen(host, port | 0);

            this._handle = result.id;
            this._address = {
                address: result.address,
                family: result.family,
                port: result.port
            };
        } catch (error) {
            process.nextTick(() => this.emit('error', error));
            return this;
        }

        this.listening = true;
        cluster._handles.add(this);
        process.nextTick(() => this.emit('listening'));
        return this;
    }

    address () {
        return this._address;
    }

    close (callback) {
        if (typeof callback === 'function') {
            if (this._handle === null) {
                this.once('close', () => callback(Object.assign(new Error('Server is not running.'), {
                    code: 'ERR_SERVER_NOT_RUNNING'
                })));
            } else {
                this.once('close', callback);
            }
        }

        if (this._handle !== null) {
            native.netClose(this._handle);
            this._handle = null;
            this.listening = false;
            cluster._handles.delete(this);
        }

        process.nextTick(() => this.emit('close'));
        return this;
    }

    ref () {
        if (this._handle !== null) {
            native.netRef(this._handle, true);
        }

        return this;
    }

    unref () {
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

module.exports = {
    Server,
    createServer,
    isIP: input => /^(\d{1,3}\.){3}\d{1,3}$/.test(input) ? 4 : /:/.test(input) ? 6 : 0,
    isIPv4: input => /^(\d{1,3}\.){3}\d{1,3}$/.test(input),
    isIPv6: input => /:/.test(input)
};
