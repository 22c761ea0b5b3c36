// node:fs for isowasm: the synchronous file functions a worker commonly
// uses, their callback forms, and fs.promises, over Go's os package.

const native = __isowasm;
const {
    Buffer
} = require('node:buffer');
const {
    fileURLToPath
} = require('node:url');
const errors = require('isowasm:errors');

function toPath (p, name = 'path') {
    if (typeof p === 'string') {
        return p;
    }

    if (p instanceof Uint8Array) {
        return Buffer.from(p).toString();
    }

    if (p && typeof p === 'object' && p.protocol === 'file:') {
        return fileURLToPath(p);
    }

    throw errors.invalidArgType(name, [
        'string',
        'an instance of Buffer or URL'
    ], p);
}

function encodingOf (options) {
    if (typeof options === 'string') {
        return options;
    }

    return options && options.encoding ? options.encoding : null;
}

function toData (data, options) {
    if (typeof data === 'string') {
        const encoding = encodingOf(options);

        return encoding && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(data, encoding).buffer : data;
    }

    if (ArrayBuffer.isView(data)) {
        return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    }

    throw errors.invalidArgType('data', [
        'string',
        'an instance of Buffer, TypedArray, or DataView'
    ], data);
}

class Stats {
    constructor (s) {
        Object.assign(this, {
            atimeMs: s.atimeMs,
            birthtimeMs: s.birthtimeMs,
            blksize: 4096,
            blocks: Math.ceil(s.size / 512),
            ctimeMs: s.ctimeMs,
            dev: s.dev,
            gid: s.gid,
            ino: s.ino,
            mode: s.mode,
            mtimeMs: s.mtimeMs,
            nlink: s.nlink,
            rdev: 0,
            size: s.size,
            uid: s.uid
        });
        this.atime = new Date(s.atimeMs);
        this.mtime = new Date(s.mtimeMs);
        this.ctime = new Date(s.ctimeMs);
        this.birthtime = new Date(s.birthtimeMs);
        Object.defineProperty(this, '_type', {
            value: s.type
        });
    }

    isFile () {
        return this._type === 'file';
    }

    isDirectory () {
        return this._type === 'dir';
    }

    isSymbolicLink () {
        return this._type === 'symlink';
    }

    isFIFO () {
        return this._type === 'fifo';
    }

    isSocket () {
        return this._type === 'socket';
    }

    isCharacterDevice () {
        return this._type === 'char';
    }

    isBlockDevice () {
        return this._type === 'block';
    }
}

class Dirent {
    constructor (name, type, path) {
        this.name = name;
        this.path = path;
        this.parentPath = path;
        Object.defineProperty(this, '_type', {
            value: type
        });
    }
}

for (const method of [
    'isFile',
    'isDirectory',
    'isSymbolicLink',
    'isFIFO',
    'isSocket',
    'isCharacterDevice',
    'isBlockDevice'
]) {
    Dirent.prototype[method] = Stats.prototype[method];
}

const fs = {
    Dirent,
    Stats,
    appendFileSync (path, data, options) {
        native.fsAppend(toPath(path), toData(data, options), options && options.mode || 0);
    },
    constants: {
        F_OK: 0,
        O_APPEND: 1024,
        O_CREAT: 64,
        O_EXCL: 128,
        O_RDONLY: 0,
        O_RDWR: 2,
        O_TRUNC: 512,
        O_WRONLY: 1,
        R_OK: 4,
        W_OK: 2,
        X_OK: 1
    },
    copyFileSync (src, dest) {
        native.fsCopy(toPath(src, 'src'), toPath(dest, 'dest'));
    },
    existsSync (path) {
        try {
            return native.fsExists(toPath(path));
        } catch {
            return false;
        }
    },
    accessSync (path) {
        native.fsStat(toPath(path), false, true);
    },
    lstatSync (path, options) {
        const s = native.fsStat(toPath(path), true, !options || options.throwIfNoEntry !== false);

        return s === undefined ? undefined : new Stats(s);
    },
    mkdirSync (path, options) {
        const recursive = Boolean(options && typeof options === 'object' && options.recursive),
            mode = typeof options === 'number' ? options : options && options.mode || 0;

        return native.fsMkdir(toPath(path), recursive, mode);
    },
    mkdtempSync (prefix) {
        return native.fsMkdtemp(toPath(prefix, 'prefix'));
    },
    readFileSync (path, options) {
        const encoding = encodingOf(options);

        if (typeof path === 'number') {
            throw errors.coded(Error, 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'isowasm: reading from a file descriptor is not supported');
        }

        if (encoding === 'utf8' || encoding === 'utf-8') {
            return native.fsReadText(toPath(path));
        }

        const buffer = Buffer.from(native.fsRead(toPath(path)));

        return encoding ? buffer.toString(encoding) : buffer;
    },
    readdirSync (path, options) {
        const p = toPath(path),
            entries = native.fsReaddir(p);

        if (options && options.withFileTypes) {
            return entries.map(e => new Dirent(e.name, e.type, p));
        }

        return entries.map(e => e.name);
    },
    realpathSync (path) {
        return native.fsRealpath(toPath(path));
    },
    renameSync (oldPath, newPath) {
        native.fsRename(toPath(oldPath, 'oldPath'), toPath(newPath, 'newPath'));
    },
    rmSync (path, options = {}) {
        native.fsRm(toPath(path), Boolean(options.recursive), Boolean(options.force));
    },
    rmdirSync (path, options = {}) {
        if (options.recursive) {
            native.fsRm(toPath(path), true, false);
        } else {
            native.fsRmdir(toPath(path));
        }
    },
    statSync (path, options) {
        const s = native.fsStat(toPath(path), false, !options || options.throwIfNoEntry !== false);

        return s === undefined ? undefined : new Stats(s);
    },
    unlinkSync (path) {
        native.fsUnlink(toPath(path));
    },
    writeFileSync (path, data, options) {
        if (options && typeof options === 'object' && options.flag && options.flag.startsWith('a')) {
            native.fsAppend(toPath(path), toData(data, options), options.mode || 0);
            return;
        }

        native.fsWrite(toPath(path), toData(data, options), options && options.mode || 0);
    }
};

// Callback and promise forms: the work is synchronous, the result async.
fs.promises = {};

for (const name of Object.keys(fs)) {
    if (!name.endsWith('Sync') || name === 'existsSync') {
        continue;
    }

    const sync = fs[name],
        base = name.slice(0, -4);

    fs[base] = (...args) => {
        const callback = args.pop();

        if (typeof callback !== 'function') {
            throw errors.invalidArgType('cb', 'function', callback);
        }

        let result,
            error = null;

        try {
            result = Reflect.apply(sync, fs, args);
        } catch (e) {
            error = e;
        }

        require('node:process').nextTick(() => error ? callback(error) : callback(null, result));
    };
    fs.promises[base] = async (...args) => Reflect.apply(sync, fs, args);
}

fs.exists = (path, callback) => {
    const result = fs.existsSync(path);

    require('node:process').nextTick(() => callback(result));
};

fs.promises.constants = fs.constants;

module.exports = fs;
