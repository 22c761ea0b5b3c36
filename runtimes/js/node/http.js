// node:http for isowasm: servers backed by Go (runtimes/js/http.go, on
// fasthttp). Go parses each request, keeps connections alive and frames the
// response (Content-Length, or chunked for a response written before its
// end without one); this module gives the script Node's objects:
// http.Server (a net.Server, so a cluster worker's servers are shared and
// reported to the primary), IncomingMessage (a readable: 'data'/'end',
// pause/resume, setEncoding, pipe, async iteration) and ServerResponse
// (setHeader…, writeHead, write, end). There is no HTTP client.

const native = __isowasm;
const EventEmitter = require('node:events');
const net = require('node:net');
const process = require('node:process');
const errors = require('isowasm:errors');
const {
    Buffer
} = require('node:buffer');

const STATUS_CODES = {
    100: 'Continue',
    101: 'Switching Protocols',
    102: 'Processing',
    103: 'Early Hints',
    200: 'OK',
    201: 'Created',
    202: 'Accepted',
    203: 'Non-Authoritative Information',
    204: 'No Content',
    205: 'Reset Content',
    206: 'Partial Content',
    207: 'Multi-Status',
    208: 'Already Reported',
    226: 'IM Used',
    300: 'Multiple Choices',
    301: 'Moved Permanently',
    302: 'Found',
    303: 'See Other',
    304: 'Not Modified',
    305: 'Use Proxy',
    307: 'Temporary Redirect',
    308: 'Permanent Redirect',
    400: 'Bad Request',
    401: 'Unauthorized',
    402: 'Payment Required',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    406: 'Not Acceptable',
    407: 'Proxy Authentication Required',
    408: 'Request Timeout',
    409: 'Conflict',
    410: 'Gone',
    411: 'Length Required',
    412: 'Precondition Failed',
    413: 'Payload Too Large',
    414: 'URI Too Long',
    415: 'Unsupported Media Type',
    416: 'Range Not Satisfiable',
    417: 'Expectation Failed',
    418: 'I\'m a Teapot',
    421: 'Misdirected Request',
    422: 'Unprocessable Entity',
    423: 'Locked',
    424: 'Failed Dependency',
    425: 'Too Early',
    426: 'Upgrade Required',
    428: 'Precondition Required',
    429: 'Too Many Requests',
    431: 'Request Header Fields Too Large',
    451: 'Unavailable For Legal Reasons',
    500: 'Internal Server Error',
    501: 'Not Implemented',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
    505: 'HTTP Version Not Supported',
    506: 'Variant Also Negotiates',
    507: 'Insufficient Storage',
    508: 'Loop Detected',
    509: 'Bandwidth Limit Exceeded',
    510: 'Not Extended',
    511: 'Network Authentication Required'
};

const METHODS = [
    'ACL', 'BIND', 'CHECKOUT', 'CONNECT', 'COPY', 'DELETE', 'GET', 'HEAD', 'LINK', 'LOCK', 'M-SEARCH', 'MERGE',
    'MKACTIVITY', 'MKCALENDAR', 'MKCOL', 'MOVE', 'NOTIFY', 'OPTIONS', 'PATCH', 'POST', 'PROPFIND', 'PROPPATCH',
    'PURGE', 'PUT', 'QUERY', 'REBIND', 'REPORT', 'SEARCH', 'SOURCE', 'SUBSCRIBE', 'TRACE', 'UNBIND', 'UNLINK',
    'UNLOCK', 'UNSUBSCRIBE'
];

const tokenRe = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const badValueRe = /[^\t\x20-\x7e\x80-\xff]/;

function checkName (name) {
    if (typeof name !== 'string' || !name || !tokenRe.test(name)) {
        throw errors.coded(TypeError, 'ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
    }
}

// Header values seen valid: a response's values mostly repeat from one
// request to the next, and goja's regular expressions are slow.
const validValues = new Set();

function checkValue (name, value) {
    if (value === undefined) {
        throw errors.coded(TypeError, 'ERR_HTTP_INVALID_HEADER_VALUE', `Invalid value "${value}" for header "${name}"`);
    }

    if (validValues.has(value)) {
        return;
    }

    if (badValueRe.test(String(value))) {
        throw errors.coded(TypeError, 'ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
    }

    if (typeof value === 'string' && validValues.size < 1000) {
        validValues.add(value);
    }
}

function headersSentError (action) {
    return errors.coded(Error, 'ERR_HTTP_HEADERS_SENT', `Cannot ${action} headers after they are sent to the client`);
}

// Headers whose duplicates Node drops (the first one wins).
const single = new Set([
    'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
    'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
    'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent'
]);

// utf8Cut is where the bytes stop being whole UTF-8 characters.
function utf8Cut (bytes) {
    const n = bytes.length;

    for (let back = 1; back <= 3 && back <= n; back += 1) {
        const c = bytes[n - back];

        if ((c & 0xc0) === 0x80) {
            continue;
        }

        const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

        return need > back ? n - back : n;
    }

    return n;
}

// A minimal socket: what handlers read from req.socket.
class Socket extends EventEmitter {
    constructor (remote, server) {
        super();

        const colon = remote.lastIndexOf(':');

        let address = remote.slice(0, colon);

        if (address.startsWith('[')) {
            address = address.slice(1, -1);
        }

        this.remoteAddress = address;
        this.remotePort = Number(remote.slice(colon + 1));
        this.remoteFamily = address.includes(':') ? 'IPv6' : 'IPv4';
        this.server = server;
        this.encrypted = undefined;
        this.readable = true;
        this.writable = true;
    }

    get localPort () {
        const a = this.server && this.server.address();

        return a && typeof a === 'object' ? a.port : undefined;
    }

    get localAddress () {
        const a = this.server && this.server.address();

        return a && typeof a === 'object' ? a.address : undefined;
    }

    address () {
        return this.server ? this.server.address() : null;
    }

    setTimeout () {
        return this;
    }

    setNoDelay () {
        return this;
    }

    setKeepAlive () {
        return this;
    }

    ref () {
        return this;
    }

    unref () {
        return this;
    }

    destroy () {
        if (this._res) {
            this._res.destroy();
        }

        return this;
    }
}

// goja has no Symbol.asyncIterator: esbuild's lowered for await looks for
// this one then.
const asyncIterator = Symbol.asyncIterator || Symbol.for('Symbol.asyncIterator');

const kFlowStarters = new Set([
    'data',
    'readable'
]);

// IncomingMessage and ServerResponse are made for every request: their
// constructors set few own properties (goja pays for each one), defaults
// live on the prototypes, and the EventEmitter state is made on the first
// listener. The methods are written as classes; the constructors are plain
// functions sharing their prototypes (so there is no super() to run).

// body is the state of a request body in flight.
function body () {
    return {
        buffer: [],
        ended: false, // Go has delivered the whole body
        flowing: null,
        partial: null,
        scheduled: false,
        waiting: true // Go waits for a resume before reading on
    };
}

class IncomingMessageMethods extends EventEmitter {
    get httpVersionMajor () {
        return this.httpVersion.charCodeAt(0) - 48;
    }

    get httpVersionMinor () {
        return this.httpVersion.charCodeAt(2) - 48;
    }

    get headers () {
        if (this._headers === null) {
            const headers = {},
                raw = this.rawHeaders;

            for (let i = 0; i + 1 < raw.length; i += 2) {
                const name = raw[i].toLowerCase(),
                    value = raw[i + 1],
                    existing = headers[name];

                if (existing === undefined) {
                    headers[name] = name === 'set-cookie' ? [
                        value
                    ] : value;
                } else if (name === 'set-cookie') {
                    existing.push(value);
                } else if (!single.has(name)) {
                    headers[name] = existing + (name === 'cookie' ? '; ' : ', ') + value;
                }
            }

            this._headers = headers;
        }

        return this._headers;
    }

    set headers (value) {
        this._headers = value;
    }

    get headersDistinct () {
        const out = {},
            raw = this.rawHeaders;

        for (let i = 0; i + 1 < raw.length; i += 2) {
            const name = raw[i].toLowerCase();

            (out[name] || (out[name] = [])).push(raw[i + 1]);
        }

        return out;
    }

    get rawHeaders () {
        if (typeof this._raw === 'string') {
            const raw = this._raw.split('\n');

            raw.pop();
            this._raw = raw;
        }

        return this._raw;
    }

    set rawHeaders (value) {
        this._raw = value;
    }

    get trailers () {
        return this._trailers || (this._trailers = {});
    }

    set trailers (value) {
        this._trailers = value;
    }

    get rawTrailers () {
        return this._rawTrailers || (this._rawTrailers = []);
    }

    set rawTrailers (value) {
        this._rawTrailers = value;
    }

    get socket () {
        if (this._socket === null) {
            this._socket = new Socket(this._remote, this._server);
            this._socket._res = this._res;
        }

        return this._socket;
    }

    set socket (value) {
        this._socket = value;
    }

    get connection () {
        return this.socket;
    }

    get complete () {
        return this._body === null || this._body.ended && this._endEmitted;
    }

    get readableEnded () {
        return this._endEmitted;
    }

    get readableFlowing () {
        return this._body === null ? this._flowing : this._body.flowing;
    }

    setEncoding (encoding) {
        this._encoding = encoding || 'utf8';
        return this;
    }

    setTimeout (ms, callback) {
        if (typeof callback === 'function') {
            this.on('timeout', callback);
        }

        return this;
    }

    on (type, listener) {
        super.on(type, listener);

        if (kFlowStarters.has(type) && this.readableFlowing !== false) {
            this.resume();
        }

        return this;
    }

    addListener (type, listener) {
        return this.on(type, listener);
    }

    prependListener (type, listener) {
        super.prependListener(type, listener);

        if (kFlowStarters.has(type) && this.readableFlowing !== false) {
            this.resume();
        }

        return this;
    }

    isPaused () {
        return this.readableFlowing === false;
    }

    pause () {
        if (this._body === null) {
            this._flowing = false;
        } else {
            this._body.flowing = false;
        }

        return this;
    }

    resume () {
        const b = this._body;

        if (b === null) {
            // No body: flowing only means 'end' is emitted.
            if (this._flowing !== true) {
                this._flowing = true;
                this._emitEnd();
            }

            return this;
        }

        if (b.flowing !== true) {
            b.flowing = true;

            if (!b.scheduled) {
                b.scheduled = true;
                process.nextTick(() => {
                    b.scheduled = false;
                    this._flow();
                });
            }
        }

        return this;
    }

    // _flow hands buffered chunks out while flowing, then asks Go for more.
    _flow () {
        const b = this._body;

        while (b.flowing && b.buffer.length > 0) {
            this._emitData(b.buffer.shift());
        }

        if (!b.flowing) {
            return;
        }

        if (b.ended) {
            this._emitEnd();
        } else if (b.waiting) {
            b.waiting = false;
            native.httpResume(this._id);
        }
    }

    _emitData (chunk) {
        if (this._encoding !== null) {
            const b = this._body;

            if (b.partial !== null) {
                chunk = Buffer.concat([
                    b.partial,
                    chunk
                ]);
                b.partial = null;
            }

            if (this._encoding === 'utf8' || this._encoding === 'utf-8') {
                const cut = utf8Cut(chunk);

                if (cut < chunk.length) {
                    b.partial = chunk.subarray(cut);
                    chunk = chunk.subarray(0, cut);
                }
            }

            chunk = chunk.toString(this._encoding);
        }

        this.emit('data', chunk);
    }

    _emitEnd () {
        if (this._endEmitted) {
            return;
        }

        this._endEmitted = true;
        this.readable = false;
        process.nextTick(() => {
            this.emit('end');
            this.emit('close');
        });
    }

    // _push is Go's delivery: a chunk, or null at the end. It returns true
    // when Go must wait for a resume before reading more.
    _push (chunk) {
        const b = this._body;

        if (chunk === null) {
            b.ended = true;

            if (b.flowing && b.buffer.length === 0) {
                this._emitEnd();
            }

            return false;
        }

        if (b.flowing && b.buffer.length === 0) {
            this._emitData(chunk);
        } else {
            b.buffer.push(chunk);
        }

        b.waiting = !b.flowing;
        return b.waiting;
    }

    read () {
        const b = this._body;

        if (b === null || b.buffer.length === 0) {
            if (b === null || b.ended) {
                this._emitEnd();
            } else if (b.waiting) {
                b.waiting = false;
                native.httpResume(this._id);
            }

            return null;
        }

        const chunk = b.buffer.length === 1 ? b.buffer[0] : Buffer.concat(b.buffer);

        b.buffer = [];
        return this._encoding === null ? chunk : chunk.toString(this._encoding);
    }

    pipe (destination, options) {
        this.on('data', chunk => {
            if (destination.write(chunk) === false && typeof destination.once === 'function') {
                this.pause();
                destination.once('drain', () => this.resume());
            }
        });

        if (!options || options.end !== false) {
            this.once('end', () => destination.end());
        }

        return destination;
    }

    unpipe () {
        this.removeAllListeners('data');
        return this;
    }

    destroy (error) {
        if (!this.destroyed) {
            this.destroyed = true;

            if (this._res) {
                this._res.destroy();
            }

            if (error) {
                process.nextTick(() => this.emit('error', error));
            }
        }

        return this;
    }

    _abort () {
        this.aborted = true;
        this.destroyed = true;

        if (!this._endEmitted) {
            const error = errors.coded(Error, 'ECONNRESET', 'aborted');

            process.nextTick(() => {
                this.emit('aborted');

                if (this.listenerCount('error') > 0) {
                    this.emit('error', error);
                }

                this.emit('close');
            });
        }
    }

    [asyncIterator] () {
        const queue = [],
            waiting = [];

        let done = false,
            failure = null;

        const settle = () => {
            while (waiting.length > 0 && (queue.length > 0 || done || failure)) {
                const next = waiting.shift();

                if (queue.length > 0) {
                    next.resolve({
                        done: false,
                        value: queue.shift()
                    });
                } else if (failure) {
                    next.reject(failure);
                } else {
                    next.resolve({
                        done: true,
                        value: undefined
                    });
                }
            }
        };

        this.on('data', chunk => {
            queue.push(chunk);
            settle();
        });
        this.once('end', () => {
            done = true;
            settle();
        });
        this.once('aborted', () => {
            failure = errors.coded(Error, 'ECONNRESET', 'aborted');
            settle();
        });

        return {
            next: () => new Promise((resolve, reject) => {
                waiting.push({
                    reject,
                    resolve
                });
                settle();
            }),
            return: () => {
                done = true;
                this.pause();
                return Promise.resolve({
                    done: true,
                    value: undefined
                });
            },
            [asyncIterator] () {
                return this;
            }
        };
    }
}

// rawHeaders may be an array (Node's shape) or, from Go, the string
// "Name\nvalue\n…", split when first read.
function IncomingMessage (id, method, url, httpVersion, rawHeaders, remote, hasBody, server) {
    this._id = id;
    this._remote = remote;
    this._server = server;

    if (hasBody) {
        this._body = body();
    }

    this._raw = rawHeaders;
    this.method = method;
    this.url = url;
    this.httpVersion = httpVersion;
}

IncomingMessage.prototype = IncomingMessageMethods.prototype;
Object.defineProperty(IncomingMessage.prototype, 'constructor', {
    configurable: true,
    value: IncomingMessage,
    writable: true
});
Object.setPrototypeOf(IncomingMessage, EventEmitter);
Object.assign(IncomingMessage.prototype, {
    _body: null, // the body's state, when there is one
    _encoding: null,
    _endEmitted: false,
    _flowing: null,
    _headers: null,
    _res: null,
    _socket: null,
    aborted: false,
    destroyed: false,
    readable: true,
    statusCode: null,
    statusMessage: null,
    upgrade: false
});

// ServerResponse._st bits.
const kHeadersSent = 1,
    kSent = 2, // the head went to Go
    kEnded = 4,
    kFinished = 8;

class ServerResponseMethods extends EventEmitter {
    get socket () {
        return this.req.socket;
    }

    get connection () {
        return this.req.socket;
    }

    get writable () {
        return (this._st & kEnded) === 0 && !this.destroyed;
    }

    get finished () {
        return this.writableEnded;
    }

    setHeader (name, value) {
        if ((this._st & kHeadersSent) !== 0) {
            throw headersSentError('set');
        }

        checkValue(name, value);
        this._store()[lowerName(name)] = [
            name,
            Array.isArray(value) ? value.map(String) : value
        ];
        return this;
    }

    // _store is the headers by lower-case name ([name, value] each),
    // made from the flat list writeHead may have kept.
    _store () {
        if (this._headers === null) {
            this._headers = Object.create(null);

            const flat = typeof this._flat === 'string' ? splitHead(this._flat) : this._flat;

            if (flat !== null) {
                this._flat = null;

                for (let i = 0; i < flat.length; i += 2) {
                    const key = flat[i].toLowerCase(),
                        entry = this._headers[key];

                    if (entry === undefined) {
                        this._headers[key] = [
                            flat[i],
                            flat[i + 1]
                        ];
                    } else {
                        entry[1] = [].concat(entry[1], flat[i + 1]);
                    }
                }
            }
        }

        return this._headers;
    }

    appendHeader (name, value) {
        if ((this._st & kHeadersSent) !== 0) {
            throw headersSentError('append');
        }

        const existing = this.getHeader(name);

        if (existing === undefined) {
            return this.setHeader(name, value);
        }

        return this.setHeader(name, [].concat(existing, value));
    }

    getHeader (name) {
        if (typeof name !== 'string') {
            throw errors.invalidArgType('name', 'string', name);
        }

        if (this._headers === null && this._flat === null) {
            return undefined;
        }

        const entry = this._store()[name.toLowerCase()];

        return entry === undefined ? undefined : entry[1];
    }

    getHeaders () {
        const out = Object.create(null);

        if (this._headers !== null || this._flat !== null) {
            const headers = this._store();

            for (const key of Object.keys(headers)) {
                out[key] = headers[key][1];
            }
        }

        return out;
    }

    getHeaderNames () {
        return this._headers === null && this._flat === null ? [] : Object.keys(this._store());
    }

    getRawHeaderNames () {
        if (this._headers === null && this._flat === null) {
            return [];
        }

        const headers = this._store();

        return Object.keys(headers).map(key => headers[key][0]);
    }

    hasHeader (name) {
        return this.getHeader(String(name)) !== undefined;
    }

    removeHeader (name) {
        if ((this._st & kHeadersSent) !== 0) {
            throw headersSentError('remove');
        }

        if (this._headers !== null || this._flat !== null) {
            delete this._store()[String(name).toLowerCase()];
        }
    }

    writeHead (statusCode, reason, headers) {
        if ((this._st & kHeadersSent) !== 0) {
            throw headersSentError('write');
        }

        if (typeof reason !== 'string') {
            headers = reason;
            reason = undefined;
        }

        statusCode |= 0;

        if (statusCode < 100 || statusCode > 999) {
            throw errors.coded(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${statusCode}`);
        }

        this.statusCode = statusCode;

        if (reason !== undefined) {
            this.statusMessage = reason;
        }

        if (Array.isArray(headers)) {
            if (headers.length % 2 !== 0) {
                throw errors.coded(TypeError, 'ERR_INVALID_ARG_VALUE', 'The argument \'headers\' is invalid.');
            }

            for (let i = 0; i < headers.length; i += 2) {
                this.appendHeader(headers[i], headers[i + 1]);
            }
        } else if (headers) {
            if (this._headers === null && this._flat === null) {
                // The common case: the head goes out as given, as the
                // string Go reads, without building the by-name store.
                const names = Object.keys(headers);

                let head = '';

                for (let n = 0; n < names.length; n += 1) {
                    const name = names[n],
                        value = headers[name];

                    if (value === undefined) {
                        continue;
                    }

                    lowerName(name);
                    checkValue(name, value);

                    if (typeof value === 'string') {
                        head += name + '\n' + value + '\n';
                    } else if (Array.isArray(value)) {
                        for (let i = 0; i < value.length; i += 1) {
                            head += name + '\n' + String(value[i]) + '\n';
                        }
                    } else {
                        head += name + '\n' + String(value) + '\n';
                    }
                }

                this._flat = head;
            } else {
                for (const name of Object.keys(headers)) {
                    if (headers[name] !== undefined) {
                        this.setHeader(name, headers[name]);
                    }
                }
            }
        }

        this._st |= kHeadersSent;
        return this;
    }

    flushHeaders () {
        if ((this._st & kSent) === 0) {
            this._send(undefined, false);
        }
    }

    writeContinue () {}

    writeProcessing () {}

    addTrailers () {}

    setTimeout (ms, callback) {
        if (typeof callback === 'function') {
            this.on('timeout', callback);
        }

        return this;
    }

    cork () {}

    uncork () {}

    // _head is the head for Go: "name\nvalue\n…".
    _head () {
        if (this._headers === null && typeof this._flat === 'string') {
            return this._flat;
        }

        const flat = this._flatHeaders();

        let head = '';

        for (let i = 0; i < flat.length; i += 1) {
            head += flat[i] + '\n';
        }

        return head;
    }

    _flatHeaders () {
        if (this._headers === null) {
            return this._flat === null ? [] : typeof this._flat === 'string' ? splitHead(this._flat) : this._flat;
        }

        const flat = [],
            headers = this._headers;

        for (const key in headers) {
            const entry = headers[key],
                name = entry[0],
                value = entry[1];

            if (Array.isArray(value)) {
                for (let i = 0; i < value.length; i += 1) {
                    flat.push(name, String(value[i]));
                }
            } else {
                flat.push(name, String(value));
            }
        }

        return flat;
    }

    _send (chunk, end) {
        if ((this._st & kSent) !== 0) {
            native.httpRespond(this.req._id, undefined, undefined, chunk, end);
            return;
        }

        if (this.statusCode < 100 || this.statusCode > 999) {
            throw errors.coded(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${this.statusCode}`);
        }

        this._st |= kSent | kHeadersSent;
        native.httpRespond(this.req._id, this.statusCode, this._head(), chunk, end);
    }

    write (chunk, encoding, callback) {
        if (typeof encoding === 'function') {
            callback = encoding;
            encoding = undefined;
        }

        if ((this._st & kEnded) !== 0) {
            const error = errors.coded(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');

            process.nextTick(() => {
                if (typeof callback === 'function') {
                    callback(error);
                }

                this.emit('error', error);
            });
            return false;
        }

        if (chunk === null) {
            throw errors.coded(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
        }

        this._send(toChunk(chunk, encoding), false);

        if (typeof callback === 'function') {
            process.nextTick(callback);
        }

        return true;
    }

    end (chunk, encoding, callback) {
        if (typeof chunk === 'function') {
            callback = chunk;
            chunk = undefined;
        } else if (typeof encoding === 'function') {
            callback = encoding;
            encoding = undefined;
        }

        if ((this._st & kEnded) !== 0) {
            if (typeof callback === 'function') {
                process.nextTick(callback);
            }

            return this;
        }

        this._st |= kEnded;
        this._send(chunk === undefined || chunk === null ? undefined : toChunk(chunk, encoding), true);

        const events = this._events;

        if (typeof callback === 'function' || events !== undefined && (events.finish !== undefined || events.close !== undefined)) {
            process.nextTick(() => {
                this._st |= kFinished;

                if (typeof callback === 'function') {
                    callback();
                }

                this.emit('finish');
                this.emit('close');
            });
        } else {
            this._st |= kFinished;
        }

        return this;
    }

    destroy (error) {
        if (!this.destroyed) {
            this.destroyed = true;

            if ((this._st & kEnded) === 0) {
                this._st |= kEnded;
                native.httpDestroy(this.req._id);
            }

            process.nextTick(() => {
                if (error && this.listenerCount('error') > 0) {
                    this.emit('error', error);
                }

                this.emit('close');
            });
        }

        return this;
    }
}

// The id is req._id; headersSent, writableEnded and writableFinished are
// bits of _st (Node's are getters too): fewer own properties to make.
function ServerResponse (req) {
    this.req = req;
    req._res = this;
}

ServerResponse.prototype = ServerResponseMethods.prototype;
Object.defineProperty(ServerResponse.prototype, 'constructor', {
    configurable: true,
    value: ServerResponse,
    writable: true
});
Object.setPrototypeOf(ServerResponse, EventEmitter);
Object.assign(ServerResponse.prototype, {
    _flat: null, // the head as writeHead got it: "name\nvalue\n…", or name, value, name, value…
    _headers: null,
    _st: 0, // kHeadersSent | kSent | kEnded | kFinished
    chunkedEncoding: false,
    destroyed: false,
    sendDate: true,
    statusCode: 200,
    statusMessage: undefined
});

for (const [name, bit] of [
    [
        'headersSent',
        kHeadersSent
    ],
    [
        'writableEnded',
        kEnded
    ],
    [
        'writableFinished',
        kFinished
    ]
]) {
    Object.defineProperty(ServerResponse.prototype, name, {
        configurable: true,
        get () {
            return (this._st & bit) !== 0;
        },
        set (value) {
            this._st = value ? this._st | bit : this._st & ~bit;
        }
    });
}

// splitHead reads a head string back as name, value, name, value….
function splitHead (head) {
    const flat = head.split('\n');

    flat.pop();
    return flat;
}

// lowerName checks a header name and returns it lower-cased; names seen
// before are not checked again.
const lowerNames = new Map();

function lowerName (name) {
    let lower = lowerNames.get(name);

    if (lower === undefined) {
        checkName(name);
        lower = name.toLowerCase();

        if (lowerNames.size < 1000) {
            lowerNames.set(name, lower);
        }
    }

    return lower;
}

function toChunk (chunk, encoding) {
    if (typeof chunk === 'string') {
        return encoding === undefined || encoding === 'utf8' || encoding === 'utf-8' ? chunk : Buffer.from(chunk, encoding);
    }

    if (chunk instanceof Uint8Array) {
        return chunk;
    }

    if (ArrayBuffer.isView(chunk)) {
        return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }

    throw errors.invalidArgType('chunk', [
        'string',
        'Buffer',
        'Uint8Array'
    ], chunk);
}

const servers = new Map(),
    functionCall = Function.prototype.call;

native.httpSetHooks({
    aborted (res) {
        res.req._abort();

        if (!res.destroyed) {
            res.destroyed = true;
            process.nextTick(() => res.emit('close'));
        }

        native.httpTicks();
    },
    body (res, chunk) {
        const paused = res.req._push(chunk === null ? null : Buffer.from(chunk));

        native.httpTicks();
        return paused;
    },
    request (serverId, id, method, url, httpVersion, rawHeaders, remote, hasBody) {
        const server = servers.get(serverId),
            req = new IncomingMessage(id, method, url, httpVersion, rawHeaders, remote, hasBody, server),
            res = new ServerResponse(req);

        if (server !== undefined) {
            const listener = server._events === undefined ? undefined : server._events.request;

            if (typeof listener === 'function') {
                if (listener.call === functionCall) {
                    listener.call(server, req, res);
                } else {
                    Reflect.apply(listener, server, [
                        req,
                        res
                    ]);
                }
            } else {
                server.emit('request', req, res);
            }
        } else {
            res.statusCode = 503;
            res.end();
        }

        native.httpTicks();
        return res;
    }
});

class Server extends net.Server {
    constructor (options, requestListener) {
        super();

        if (typeof options === 'function') {
            requestListener = options;
            options = {};
        }

        options = options || {};
        this.keepAliveTimeout = options.keepAliveTimeout === undefined ? 5000 : options.keepAliveTimeout;
        this.headersTimeout = options.headersTimeout === undefined ? 60000 : options.headersTimeout;
        this.requestTimeout = options.requestTimeout === undefined ? 300000 : options.requestTimeout;
        this.timeout = 0;
        this.maxHeadersCount = null;
        this.maxRequestsPerSocket = 0;

        if (typeof requestListener === 'function') {
            this.on('request', requestListener);
        }
    }

    _listenNative (host, port, path, exclusive) {
        const result = native.httpListen(host, port, path, exclusive, this.keepAliveTimeout | 0, this.headersTimeout | 0, this.requestTimeout | 0);

        servers.set(result.id, this);
        this.once('close', () => servers.delete(result.id));
        return result;
    }

    setTimeout (ms, callback) {
        this.timeout = ms;

        if (typeof callback === 'function') {
            this.on('timeout', callback);
        }

        return this;
    }

    closeAllConnections () {}

    closeIdleConnections () {}
}

function createServer (options, requestListener) {
    return new Server(options, requestListener);
}

function notSupported () {
    throw errors.coded(Error, 'ERR_NOT_SUPPORTED', 'isowasm\'s node:http has no client: http.request and http.get are not available');
}

module.exports = {
    Agent: class Agent {},
    IncomingMessage,
    METHODS,
    OutgoingMessage: ServerResponse,
    STATUS_CODES,
    Server,
    ServerResponse,
    createServer,
    get: notSupported,
    globalAgent: {},
    maxHeaderSize: 16384,
    request: notSupported,
    validateHeaderName: checkName,
    validateHeaderValue: checkValue
};
