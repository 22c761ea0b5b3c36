// node:url for isowasm: fileURLToPath, pathToFileURL, and a URL class for
// the common absolute URLs (goja has none).

const errors = require('isowasm:errors');

const defaultPorts = {
    'ftp:': '21',
    'http:': '80',
    'https:': '443',
    'ws:': '80',
    'wss:': '443'
};

class URLSearchParams {
    constructor (init = '') {
        this._list = [];

        if (typeof init === 'string') {
            for (const part of init.replace(/^\?/, '').split('&')) {
                if (part === '') {
                    continue;
                }

                const eq = part.indexOf('='),
                    decode = s => decodeURIComponent(s.replace(/\+/g, ' '));

                this._list.push(eq < 0 ? [
                    decode(part),
                    ''
                ] : [
                    decode(part.slice(0, eq)),
                    decode(part.slice(eq + 1))
                ]);
            }
        } else if (init && typeof init === 'object') {
            const entries = Symbol.iterator in init ? init : Object.entries(init);

            for (const [
                k,
                v
            ] of entries) {
                this._list.push([
                    String(k),
                    String(v)
                ]);
            }
        }
    }

    append (k, v) {
        this._list.push([
            String(k),
            String(v)
        ]);
        this._update();
    }

    delete (k) {
        this._list = this._list.filter(([
            key
        ]) => key !== k);
        this._update();
    }

    get (k) {
        const found = this._list.find(([
            key
        ]) => key === k);

        return found ? found[1] : null;
    }

    getAll (k) {
        return this._list.filter(([
            key
        ]) => key === k).map(([
            , v
        ]) => v);
    }

    has (k) {
        return this._list.some(([
            key
        ]) => key === k);
    }

    set (k, v) {
        const index = this._list.findIndex(([
            key
        ]) => key === k);

        if (index < 0) {
            this._list.push([
                String(k),
                String(v)
            ]);
        } else {
            this._list[index][1] = String(v);
            this._list = this._list.filter(([
                key
            ], i) => key !== k || i === index);
        }

        this._update();
    }

    forEach (fn, thisArg) {
        for (const [
            k,
            v
        ] of this._list) {
            fn.call(thisArg, v, k, this);
        }
    }

    keys () {
        return this._list.map(([
            k
        ]) => k)[Symbol.iterator]();
    }

    values () {
        return this._list.map(([
            , v
        ]) => v)[Symbol.iterator]();
    }

    entries () {
        return this._list.map(pair => pair.slice())[Symbol.iterator]();
    }

    [Symbol.iterator] () {
        return this.entries();
    }

    get size () {
        return this._list.length;
    }

    toString () {
        const encode = s => encodeURIComponent(s).replace(/%20/g, '+');

        return this._list.map(([
            k,
            v
        ]) => `${encode(k)}=${encode(v)}`).join('&');
    }

    _update () {
        if (this._url) {
            const s = this.toString();

            this._url._search = s ? `?${s}` : '';
        }
    }
}

const pattern = /^([a-zA-Z][a-zA-Z0-9+.-]*:)(\/\/(?:([^:@/?#]*)(?::([^@/?#]*))?@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;

function normalizePath (pathname) {
    const out = [];

    for (const segment of pathname.split('/').slice(1)) {
        if (segment === '..' || segment.toLowerCase() === '%2e%2e') {
            out.pop();
        } else if (segment !== '.' && segment.toLowerCase() !== '%2e') {
            out.push(segment);
        }
    }

    const last = pathname.split('/').pop();

    if (last === '.' || last === '..') {
        out.push('');
    }

    return `/${out.join('/')}`;
}

const encodePath = p => p.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, ch => encodeURIComponent(ch));

class URL {
    constructor (input, base) {
        input = String(input).trim();

        let m = pattern.exec(input);

        if (!m && base !== undefined) {
            const b = base instanceof URL ? base : new URL(base);

            if (input.startsWith('//')) {
                m = pattern.exec(b.protocol + input);
            } else if (input.startsWith('/')) {
                m = pattern.exec(`${b.protocol}//${b.host}${input}`);
            } else if (input.startsWith('?')) {
                m = pattern.exec(`${b.protocol}//${b.host}${b.pathname}${input}`);
            } else if (input.startsWith('#')) {
                m = pattern.exec(`${b.protocol}//${b.host}${b.pathname}${b.search}${input}`);
            } else {
                m = pattern.exec(`${b.protocol}//${b.host}${b.pathname.replace(/[^/]*$/, '')}${input}`);
            }
        }

        if (!m) {
            const error = new TypeError('Invalid URL');

            error.code = 'ERR_INVALID_URL';
            error.input = input;
            throw error;
        }

        this._protocol = m[1].toLowerCase();
        this._username = m[3] || '';
        this._password = m[4] || '';
        this._hostname = (m[5] || '').toLowerCase();
        this._port = m[6] && m[6] !== defaultPorts[this._protocol] ? m[6] : '';
        this._special = this._protocol in defaultPorts || this._protocol === 'file:';
        this._pathname = m[7] || '';

        if (this._special) {
            this._pathname = normalizePath(encodePath(this._pathname || '/'));
        }

        this._search = m[8] && m[8] !== '?' ? m[8] : '';
        this._hash = m[9] && m[9] !== '#' ? m[9] : '';
        this._hasAuthority = m[2] !== undefined;
    }

    get protocol () {
        return this._protocol;
    }

    get username () {
        return this._username;
    }

    get password () {
        return this._password;
    }

    get hostname () {
        return this._hostname;
    }

    get port () {
        return this._port;
    }

    get host () {
        return this._port ? `${this._hostname}:${this._port}` : this._hostname;
    }

    get origin () {
        return this._protocol in defaultPorts ? `${this._protocol}//${this.host}` : 'null';
    }

    get pathname () {
        return this._pathname;
    }

    set pathname (value) {
        this._pathname = normalizePath(encodePath(String(value).startsWith('/') ? String(value) : `/${value}`));
    }

    get search () {
        return this._search;
    }

    set search (value) {
        value = String(value);
        this._search = value === '' || value === '?' ? '' : value.startsWith('?') ? value : `?${value}`;
        this._params = undefined;
    }

    get searchParams () {
        if (!this._params) {
            this._params = new URLSearchParams(this._search);
            this._params._url = this;
        }

        return this._params;
    }

    get hash () {
        return this._hash;
    }

    set hash (value) {
        value = String(value);
        this._hash = value === '' || value === '#' ? '' : value.startsWith('#') ? value : `#${value}`;
    }

    get href () {
        const auth = this._username ? `${this._username}${this._password ? `:${this._password}` : ''}@` : '';

        return `${this._protocol}${this._hasAuthority ? `//${auth}${this.host}` : ''}${this._pathname}${this._search}${this._hash}`;
    }

    toString () {
        return this.href;
    }

    toJSON () {
        return this.href;
    }

    static canParse (input, base) {
        try {
            new URL(input, base); // eslint-disable-line no-new
            return true;
        } catch {
            return false;
        }
    }
}

function fileURLToPath (url) {
    if (typeof url === 'string') {
        url = new URL(url);
    } else if (!(url instanceof URL) && !(url && typeof url.href === 'string')) {
        throw errors.invalidArgType('path', [
            'string',
            'an instance of URL'
        ], url);
    }

    if (url.protocol !== 'file:') {
        throw errors.coded(TypeError, 'ERR_INVALID_URL_SCHEME', 'The URL must be of scheme file');
    }

    if (url.hostname !== '' && url.hostname !== 'localhost') {
        throw errors.coded(TypeError, 'ERR_INVALID_FILE_URL_HOST', `File URL host must be "localhost" or empty on ${require('node:process').platform}`);
    }

    if (/%2f/i.test(url.pathname)) {
        throw errors.coded(TypeError, 'ERR_INVALID_FILE_URL_PATH', 'File URL path must not include encoded / characters');
    }

    return decodeURIComponent(url.pathname);
}

function pathToFileURL (filepath) {
    const path = require('node:path');

    let resolved = path.resolve(filepath);

    if (filepath.endsWith('/') && !resolved.endsWith('/')) {
        resolved += '/';
    }

    return new URL(`file://${resolved.replace(/%/g, '%25').replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, ch => encodeURIComponent(ch))}`);
}

module.exports = {
    URL: typeof globalThis.URL === 'function' ? globalThis.URL : URL,
    URLSearchParams: typeof globalThis.URLSearchParams === 'function' ? globalThis.URLSearchParams : URLSearchParams,
    fileURLToPath,
    pathToFileURL
};
