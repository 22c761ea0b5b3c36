// node:buffer for isowasm: a small Buffer (a Uint8Array subclass) with the
// common constructors, utf8/hex/base64/latin1 encodings and Node's toJSON.

const errors = require('isowasm:errors');

function utf8Encode (str) {
    const out = [];

    for (let i = 0; i < str.length; i += 1) {
        let cp = str.charCodeAt(i);

        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < str.length) {
            const next = str.charCodeAt(i + 1);

            if (next >= 0xdc00 && next <= 0xdfff) {
                cp = 0x10000 + (cp - 0xd800 << 10) + (next - 0xdc00);
                i += 1;
            } else {
                cp = 0xfffd;
            }
        } else if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = 0xfffd;
        }

        if (cp < 0x80) {
            out.push(cp);
        } else if (cp < 0x800) {
            out.push(0xc0 | cp >> 6, 0x80 | cp & 0x3f);
        } else if (cp < 0x10000) {
            out.push(0xe0 | cp >> 12, 0x80 | cp >> 6 & 0x3f, 0x80 | cp & 0x3f);
        } else {
            out.push(0xf0 | cp >> 18, 0x80 | cp >> 12 & 0x3f, 0x80 | cp >> 6 & 0x3f, 0x80 | cp & 0x3f);
        }
    }

    return out;
}

function utf8Decode (bytes, start, end) {
    let out = '';

    for (let i = start; i < end;) {
        const c = bytes[i];

        let cp = 0xfffd,
            n = 1;

        if (c < 0x80) {
            cp = c;
        } else if (c >= 0xc2 && c < 0xe0 && i + 1 < end && (bytes[i + 1] & 0xc0) === 0x80) {
            cp = (c & 0x1f) << 6 | bytes[i + 1] & 0x3f;
            n = 2;
        } else if (c >= 0xe0 && c < 0xf0 && i + 2 < end && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) {
            cp = (c & 0x0f) << 12 | (bytes[i + 1] & 0x3f) << 6 | bytes[i + 2] & 0x3f;
            n = 3;

            if (cp < 0x800 || cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd;
                n = 1;
            }
        } else if (c >= 0xf0 && c < 0xf5 && i + 3 < end && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80 && (bytes[i + 3] & 0xc0) === 0x80) {
            cp = (c & 0x07) << 18 | (bytes[i + 1] & 0x3f) << 12 | (bytes[i + 2] & 0x3f) << 6 | bytes[i + 3] & 0x3f;
            n = 4;

            if (cp < 0x10000 || cp > 0x10ffff) {
                cp = 0xfffd;
                n = 1;
            }
        }

        out += String.fromCodePoint(cp);
        i += n;
    }

    return out;
}

const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64Encode (bytes, start, end, url) {
    let out = '';

    for (let i = start; i < end; i += 3) {
        const a = bytes[i],
            b = i + 1 < end ? bytes[i + 1] : 0,
            c = i + 2 < end ? bytes[i + 2] : 0;

        out += b64[a >> 2] + b64[(a & 3) << 4 | b >> 4];
        out += i + 1 < end ? b64[(b & 15) << 2 | c >> 6] : url ? '' : '=';
        out += i + 2 < end ? b64[c & 63] : url ? '' : '=';
    }

    return url ? out.replace(/\+/g, '-').replace(/\//g, '_') : out;
}

function base64Decode (str) {
    const out = [];

    let bits = 0,
        value = 0;

    for (const ch of str) {
        let v = b64.indexOf(ch);

        if (ch === '-') {
            v = 62;
        } else if (ch === '_') {
            v = 63;
        }

        if (v < 0) {
            continue;
        }

        value = value << 6 | v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out.push(value >> bits & 0xff);
        }
    }

    return out;
}

function normalizeEncoding (encoding) {
    const e = String(encoding || 'utf8').toLowerCase();

    switch (e) {
        case 'utf8':
        case 'utf-8':
            return 'utf8';
        case 'hex':
        case 'base64':
        case 'base64url':
        case 'ascii':
            return e;
        case 'latin1':
        case 'binary':
            return 'latin1';
        case 'ucs2':
        case 'ucs-2':
        case 'utf16le':
        case 'utf-16le':
            return 'utf16le';
    }

    throw errors.coded(TypeError, 'ERR_UNKNOWN_ENCODING', `Unknown encoding: ${encoding}`);
}

function bytesOf (string, encoding) {
    switch (normalizeEncoding(encoding)) {
        case 'utf8':
            return utf8Encode(string);
        case 'hex': {
            const out = [];

            for (let i = 0; i + 1 < string.length; i += 2) {
                const v = parseInt(string.slice(i, i + 2), 16);

                if (Number.isNaN(v)) {
                    break;
                }

                out.push(v);
            }

            return out;
        }
        case 'base64':
        case 'base64url':
            return base64Decode(string);
        case 'utf16le': {
            const out = [];

            for (let i = 0; i < string.length; i += 1) {
                const c = string.charCodeAt(i);

                out.push(c & 0xff, c >> 8);
            }

            return out;
        }
    }

    return Array.from(string, ch => ch.charCodeAt(0) & 0xff);
}

class Buffer extends Uint8Array {
    static from (value, encodingOrOffset, length) {
        if (typeof value === 'string') {
            return new Buffer(bytesOf(value, encodingOrOffset));
        }

        if (value instanceof ArrayBuffer) {
            const offset = encodingOrOffset === undefined ? 0 : encodingOrOffset;

            return new Buffer(value, offset, length === undefined ? value.byteLength - offset : length);
        }

        if (ArrayBuffer.isView(value)) {
            return new Buffer(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
        }

        if (value && value.type === 'Buffer' && Array.isArray(value.data)) {
            return new Buffer(value.data);
        }

        if (Array.isArray(value) || value && typeof value.length === 'number') {
            return new Buffer(Array.from(value, v => v & 0xff));
        }

        throw errors.invalidArgType('first argument', [
            'string',
            'Buffer',
            'ArrayBuffer',
            'Array',
            'Array-like Object'
        ], value);
    }

    static alloc (size, fill) {
        const buffer = new Buffer(size);

        if (fill !== undefined) {
            buffer.fill(typeof fill === 'string' ? bytesOf(fill)[0] : fill);
        }

        return buffer;
    }

    static allocUnsafe (size) {
        return new Buffer(size);
    }

    static isBuffer (value) {
        return value instanceof Buffer;
    }

    static isEncoding (encoding) {
        try {
            normalizeEncoding(encoding);
            return typeof encoding === 'string';
        } catch {
            return false;
        }
    }

    static byteLength (value, encoding) {
        if (typeof value !== 'string') {
            return value.byteLength;
        }

        return bytesOf(value, encoding).length;
    }

    static concat (list, totalLength) {
        if (totalLength === undefined) {
            totalLength = list.reduce((sum, b) => sum + b.length, 0);
        }

        const out = Buffer.alloc(totalLength);

        let offset = 0;

        for (const b of list) {
            if (offset >= totalLength) {
                break;
            }

            out.set(b.subarray(0, totalLength - offset), offset);
            offset += b.length;
        }

        return out;
    }

    static compare (a, b) {
        return a.compare(b);
    }

    toString (encoding, start = 0, end = this.length) {
        start = Math.max(0, start | 0);
        end = Math.min(this.length, end === undefined ? this.length : end | 0);

        switch (normalizeEncoding(encoding)) {
            case 'utf8':
                return utf8Decode(this, start, end);
            case 'hex': {
                let out = '';

                for (let i = start; i < end; i += 1) {
                    out += this[i].toString(16).padStart(2, '0');
                }

                return out;
            }
            case 'base64':
                return base64Encode(this, start, end, false);
            case 'base64url':
                return base64Encode(this, start, end, true);
            case 'ascii': {
                let out = '';

                for (let i = start; i < end; i += 1) {
                    out += String.fromCharCode(this[i] & 0x7f);
                }

                return out;
            }
            case 'utf16le': {
                let out = '';

                for (let i = start; i + 1 < end; i += 2) {
                    out += String.fromCharCode(this[i] | this[i + 1] << 8);
                }

                return out;
            }
        }

        let out = '';

        for (let i = start; i < end; i += 1) {
            out += String.fromCharCode(this[i]);
        }

        return out;
    }

    toJSON () {
        // Node's key order: type first.
        // eslint-disable-next-line sort-keys
        return {
            type: 'Buffer',
            data: Array.from(this)
        };
    }

    equals (other) {
        return this.compare(other) === 0;
    }

    compare (other) {
        const n = Math.min(this.length, other.length);

        for (let i = 0; i < n; i += 1) {
            if (this[i] !== other[i]) {
                return this[i] < other[i] ? -1 : 1;
            }
        }

        return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
    }

    write (string, offset = 0, length, encoding) {
        if (typeof offset === 'string') {
            encoding = offset;
            offset = 0;
        }

        const bytes = bytesOf(string, encoding),
            n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length);

        for (let i = 0; i < n; i += 1) {
            this[offset + i] = bytes[i];
        }

        return n;
    }

    slice (start, end) {
        return this.subarray(start, end);
    }

    subarray (start, end) {
        const view = Uint8Array.prototype.subarray.call(this, start, end);

        return new Buffer(view.buffer, view.byteOffset, view.length);
    }

    copy (target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
        const part = Uint8Array.prototype.subarray.call(this, sourceStart, sourceEnd),
            n = Math.min(part.length, target.length - targetStart);

        target.set(part.subarray(0, n), targetStart);
        return n;
    }

    readUInt8 (offset = 0) {
        return this[offset];
    }

    readUInt32BE (offset = 0) {
        return new DataView(this.buffer, this.byteOffset).getUint32(offset);
    }

    writeUInt32BE (value, offset = 0) {
        new DataView(this.buffer, this.byteOffset).setUint32(offset, value);
        return offset + 4;
    }
}

Buffer.poolSize = 8192;

module.exports = {
    Buffer,
    constants: {
        MAX_LENGTH: 2 ** 32,
        MAX_STRING_LENGTH: 2 ** 29 - 24
    },
    kMaxLength: 2 ** 32,
    utf8Decode,
    utf8Encode
};
