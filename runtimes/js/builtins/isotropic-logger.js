// isotropic-logger: the library's logger, silent unless asked for.
//
// isowasm's stand-in for isotropic-logger (a bunyan logger named 'isotropic'). isowasm keeps
// stdout for the user's program, so by default nothing is written at all. Setting the
// environment variable ISOWASM_LOG_LIBRARY turns on bunyan-style JSON lines on stderr:
//     {"name":"isotropic","pid":123,"module":"cluster-primary","level":30,"msg":"...","time":"...","v":0}
// Its value picks the lowest level written: trace, debug, info, warn, error, fatal or a bunyan
// level number; any other value means info.
//
// The API is the part of bunyan's the isotropic libraries use:
//     logger.info(fields?, message?, ...formatArgs)   likewise trace, debug, warn, error, fatal;
//                                                     with no arguments: whether that level is on
//     logger.child(fields, simple?)                   a logger adding fields to every record
//     logger.level(), logger.level(newLevel), logger.levels()
//     logger.addStream({stream, level, type}), logger.streams
//     logger.task(fields?, description?) -> {complete(fields?, message?), error(fields?, message?)}
// An `error` or `err` field (or an Error as first argument, logged as `err`) is written as
// {code, details, message, name, signal, stack: [lines]}.

const LEVEL_BY_NAME = {
    debug: 20,
    error: 50,
    fatal: 60,
    info: 30,
    trace: 10,
    warn: 40
};

const OFF = Infinity;

const levelFromValue = value => {
    if (typeof value === 'number') {
        return value;
    }

    if (typeof value === 'string') {
        const lower = value.trim().toLowerCase();

        if (Object.hasOwn(LEVEL_BY_NAME, lower)) {
            return LEVEL_BY_NAME[lower];
        }

        const number = Number(lower);

        if (lower !== '' && Number.isFinite(number)) {
            return number;
        }
    }

    return LEVEL_BY_NAME.info;
};

const getProcess = () => typeof globalThis.process === 'object' && globalThis.process ? globalThis.process : null;

const stderrStream = {
    write (text) {
        const process = getProcess();

        if (process && process.stderr && typeof process.stderr.write === 'function') {
            process.stderr.write(text);
        } else if (typeof globalThis.console === 'object') {
            globalThis.console.error(text.replace(/\n$/u, ''));
        }
    }
};

const serializeError = error => error && error.stack ?
    {
        code: error.code,
        details: error.details,
        message: error.message,
        name: error.name,
        signal: error.signal,
        stack: typeof error.stack === 'string' ? error.stack.split('\n') : error.stack
    } :
    error;

const serializers = {
    err: serializeError,
    error: serializeError
};

// JSON that survives cycles and BigInts (a log line must never throw).
const safeStringify = record => {
    const ancestors = [];

    return JSON.stringify(record, function (key, value) {
        if (typeof value === 'bigint') {
            return value.toString();
        }

        if (typeof value !== 'object' || value === null) {
            return value;
        }

        while (ancestors.length && ancestors[ancestors.length - 1] !== this) {
            ancestors.pop();
        }

        if (ancestors.includes(value)) {
            return '[Circular]';
        }

        ancestors.push(value);

        return value;
    });
};

const inspectValue = value => {
    if (typeof value === 'string') {
        return value;
    }

    try {
        return safeStringify(value) ?? String(value);
    } catch {
        return String(value);
    }
};

// The %s %d %i %f %j %o %O %% subset of util.format; extra arguments are appended.
const format = (message, args) => {
    if (typeof message !== 'string') {
        return [
            message,
            ...args
        ].map(inspectValue).join(' ');
    }

    let index = 0;

    const text = message.replace(/%[sdifjoO%]/gu, token => {
        if (token === '%%') {
            return '%';
        }

        if (index >= args.length) {
            return token;
        }

        const value = args[index];

        index += 1;

        switch (token) {
            case '%s':
                return typeof value === 'string' ? value : inspectValue(value);
            case '%d':
            case '%f':
                return String(Number(value));
            case '%i':
                return String(parseInt(value, 10));
            default:
                return inspectValue(value);
        }
    });

    return [
        text,
        ...args.slice(index).map(inspectValue)
    ].join(' ');
};

// State shared by a logger and all its children.
const createRoot = () => {
    const process = getProcess(),
        setting = process && process.env ? process.env.ISOWASM_LOG_LIBRARY : undefined,
        enabled = typeof setting === 'string' && setting !== '';

    return {
        level: enabled ? levelFromValue(setting) : OFF,
        streams: enabled ?
            [
                {
                    level: levelFromValue(setting),
                    stream: stderrStream,
                    type: 'stream'
                }
            ] :
            []
    };
};

class Logger {
    constructor (root, fields) {
        this._root = root;
        this._fields = fields;
    }

    get streams () {
        return this._root.streams;
    }

    set streams (streams) {
        this._root.streams = streams;
        this._root.level = streams.reduce((level, stream) => Math.min(level, stream.level), OFF);
    }

    addStream ({
        level = LEVEL_BY_NAME.info,
        stream,
        type = 'stream'
    } = {}) {
        const numericLevel = levelFromValue(level);

        this._root.streams.push({
            level: numericLevel,
            stream,
            type
        });
        this._root.level = Math.min(this._root.level, numericLevel);
    }

    child (fields = {}) {
        return new Logger(this._root, {
            ...this._fields,
            ...fields
        });
    }

    level (value) {
        if (value === undefined) {
            return this._root.level;
        }

        this._root.level = levelFromValue(value);

        for (const stream of this._root.streams) {
            stream.level = this._root.level;
        }

        return undefined;
    }

    levels () {
        return this._root.streams.map(stream => stream.level);
    }

    task (data, description) {
        const begin = Date.now();

        if (typeof data === 'string') {
            description = data;
            data = {};
        }

        if (data || description) {
            this.info(data, description);
        }

        const lowerFirst = text => `${text.charAt(0).toLowerCase()}${text.slice(1)}`,
            finish = (method, prefix) => (fields = {}, message = null) => {
                const duration = Date.now() - begin;

                if (typeof fields === 'string') {
                    message = fields;
                    fields = {};
                }

                this[method]({
                    duration,
                    durationString: `${duration}ms`,
                    ...fields
                }, message || (description ? `${prefix} ${lowerFirst(description)}` : prefix));
            };

        return {
            complete: finish('info', 'Done'),
            error: finish('error', 'Error')
        };
    }

    _write (level, args) {
        if (!args.length) {
            return level >= this._root.level;
        }

        if (level < this._root.level) {
            return undefined;
        }

        let fields = {},
            rest = args;

        if (args[0] instanceof Error) {
            fields = {
                err: args[0]
            };
            rest = args.length > 1 ? args.slice(1) : [
                args[0].message
            ];
        } else if (typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
            fields = args[0];
            rest = args.slice(1);
        }

        const record = {
            name: 'isotropic'
        };

        const process = getProcess();

        if (process && process.pid !== undefined) {
            record.pid = process.pid;
        }

        Object.assign(record, this._fields);
        record.level = level;

        for (const key of Object.keys(fields)) {
            record[key] = Object.hasOwn(serializers, key) ? serializers[key](fields[key]) : fields[key];
        }

        record.msg = rest.length ? format(rest[0], rest.slice(1)) : '';
        record.time = new Date().toISOString();
        record.v = 0;

        let line;

        for (const stream of this._root.streams) {
            if (level < stream.level) {
                continue;
            }

            try {
                if (stream.type === 'raw') {
                    stream.stream.write(record);
                } else {
                    line ??= `${safeStringify(record)}\n`;
                    stream.stream.write(line);
                }
            } catch {
                // Logging must never break the program.
            }
        }

        return undefined;
    }
}

for (const [
    name,
    level
] of Object.entries(LEVEL_BY_NAME)) {
    Logger.prototype[name] = function (...args) {
        return this._write(level, args);
    };
}

const logger = new Logger(createRoot(), {});

export default logger;
