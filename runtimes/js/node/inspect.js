// util.inspect and util.format for isowasm, after Node 20's
// lib/internal/util/inspect.js: the same defaults (depth 2, breakLength 128,
// compact 3), line breaking, array grouping, circular markers and error
// stacks; no colors.

const native = __isowasm;

const customInspect = Symbol.for('nodejs.util.inspect.custom');

const defaultOptions = {
    breakLength: 128,
    colors: false,
    compact: 3,
    customInspect: true,
    depth: 2,
    getters: false,
    maxArrayLength: 100,
    maxStringLength: 10000,
    showHidden: false,
    showProxy: false,
    sorted: false
};

const identifier = /^[a-zA-Z_][a-zA-Z_0-9]*$/;

function quote (str) {
    let q = '\'';

    if (str.includes('\'')) {
        if (!str.includes('"')) {
            q = '"';
        } else if (!str.includes('`') && !str.includes('${')) {
            q = '`';
        }
    }

    let out = '';

    for (let i = 0; i < str.length; i += 1) {
        const c = str[i],
            code = str.charCodeAt(i);

        if (c === q || c === '\\') {
            out += '\\' + c;
        } else if (c === '\n') {
            out += '\\n';
        } else if (c === '\t') {
            out += '\\t';
        } else if (c === '\r') {
            out += '\\r';
        } else if (c === '\b') {
            out += '\\b';
        } else if (c === '\f') {
            out += '\\f';
        } else if (c === '\v') {
            out += '\\v';
        } else if (code < 0x20 || code === 0x7f) {
            out += '\\x' + code.toString(16).toUpperCase().padStart(2, '0');
        } else if (code >= 0xd800 && code <= 0xdfff) {
            const next = str.charCodeAt(i + 1);

            if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
                out += c + str[i + 1];
                i += 1;
            } else {
                out += '\\u' + code.toString(16).toUpperCase();
            }
        } else {
            out += c;
        }
    }

    return q + out + q;
}

function formatNumber (n) {
    return Object.is(n, -0) ? '-0' : `${n}`;
}

function formatPrimitive (ctx, value) {
    switch (typeof value) {
        case 'string': {
            let trailer = '';

            if (value.length > ctx.maxStringLength) {
                const remaining = value.length - ctx.maxStringLength;

                value = value.slice(0, ctx.maxStringLength);
                trailer = `... ${remaining} more character${remaining > 1 ? 's' : ''}`;
            }

            if (ctx.compact !== true && value.length > 16 && value.length > ctx.breakLength - ctx.indentationLvl - 4) {
                const lines = value.split('\n').map((line, i, all) => i < all.length - 1 ? `${line}\n` : line).filter(line => line !== '');

                return lines.map(line => quote(line)).join(` +\n${' '.repeat(ctx.indentationLvl + 2)}`) + trailer;
            }

            return quote(value) + trailer;
        }
        case 'number':
            return formatNumber(value);
        case 'bigint':
            return `${value}n`;
        case 'boolean':
            return `${value}`;
        case 'undefined':
            return 'undefined';
        case 'symbol':
            return value.toString();
    }

    return String(value);
}

// A try statement's body runs as an arrow function called by the host's
// isowasm:tryGuard (runtimes/js/v8errors.go): in V8 the arrow's frame, the
// host's and the enclosing function's are one, named as the enclosing
// function, at the arrow's position.
function foldTryGuards (lines) {
    const out = [];

    for (let i = 0; i < lines.length; i += 1) {
        if (!/^\s*at isowasm:tryGuard \(native\)$/u.test(lines[i])) {
            out.push(lines[i]);
            continue;
        }

        const arrow = /^(\s*at )(\S+)$/u.exec(out[out.length - 1] || ''),
            enclosing = /^\s*at (.+) \((.*)\)$/u.exec(lines[i + 1] || '');

        if (arrow && enclosing) {
            out[out.length - 1] = `${arrow[1]}${enclosing[1]} (${arrow[2]})`;
        }

        i += 1;
    }

    return out;
}

function cleanStack (stack) {
    const lines = foldTryGuards(String(stack).replace(/\n+$/, '').split('\n')),
        out = [];

    for (const line of lines) {
        const frame = /^\s*at (.*)$/.exec(line);

        if (!frame) {
            out.push(line);
            continue;
        }

        // goja's frames end in (pc); columns mapped through the source map
        // are 0-based.
        const text = frame[1].replace(/([^\s(]+):(\d+):(\d+)\(\d+\)/g, (all, file, line, column) => `${file}:${line}:${file === '/isowasm-bundle.js' ? column : Number(column) + 1}`);

        if (text === 'native' || /\(native\)$/.test(text) || /isowasm:|isowasm-entry|isowasm-bundle\.js|<eval>/.test(text)) {
            continue;
        }

        out.push(`    at ${text}`);
    }

    return out.join('\n');
}

function getConstructorName (obj) {
    let proto = obj;

    while (proto !== null && proto !== undefined) {
        const desc = Object.getOwnPropertyDescriptor(proto, 'constructor');

        if (desc !== undefined && typeof desc.value === 'function' && desc.value.name !== '') {
            return desc.value.name;
        }

        proto = Object.getPrototypeOf(proto);
    }

    return null;
}

function getPrefix (constructor, tag, fallback, size = '') {
    if (constructor === null) {
        if (tag !== '' && fallback !== tag) {
            return `[${fallback}${size}: null prototype] [${tag}] `;
        }

        return `[${fallback}${size}: null prototype] `;
    }

    if (tag !== '' && constructor !== tag) {
        return `${constructor}${size} [${tag}] `;
    }

    return `${constructor}${size} `;
}

function formatKey (key, array) {
    if (typeof key === 'symbol') {
        return `[${key.toString()}]`;
    }

    if (array) {
        return key;
    }

    return identifier.test(key) ? key : quote(key);
}

function formatProperty (ctx, value, recurseTimes, key, type) {
    let name, str;

    const desc = Object.getOwnPropertyDescriptor(value, key) || {
        enumerable: true,
        value: value[key]
    };

    if (desc.value !== undefined) {
        const diff = ctx.compact !== true ? 2 : 3;

        ctx.indentationLvl += diff;
        str = formatValue(ctx, desc.value, recurseTimes);
        ctx.indentationLvl -= diff;
    } else if (desc.get !== undefined) {
        str = desc.set === undefined ? '[Getter]' : '[Getter/Setter]';
    } else if (desc.set !== undefined) {
        str = '[Setter]';
    } else {
        str = 'undefined';
    }

    if (type === 'arrayValue') {
        return str;
    }

    name = formatKey(key, false);

    if (desc.enumerable === false) {
        name = `[${name}]`;
    }

    return `${name}: ${str}`;
}

function isBelowBreakLength (ctx, output, start, base) {
    let totalLength = output.length + start;

    if (totalLength + output.length > ctx.breakLength) {
        return false;
    }

    for (const entry of output) {
        totalLength += entry.length;

        if (totalLength > ctx.breakLength) {
            return false;
        }
    }

    return base === '' || !base.includes('\n');
}

function groupArrayElements (ctx, output, value) {
    let totalLength = 0,
        maxLength = 0,
        outputLength = output.length;

    if (ctx.maxArrayLength < output.length) {
        outputLength -= 1;
    }

    const separatorSpace = 2,
        dataLen = new Array(outputLength);

    for (let i = 0; i < outputLength; i += 1) {
        const len = output[i].length;

        dataLen[i] = len;
        totalLength += len + separatorSpace;

        if (maxLength < len) {
            maxLength = len;
        }
    }

    const actualMax = maxLength + separatorSpace;

    if (actualMax * 3 + ctx.indentationLvl < ctx.breakLength && (totalLength / actualMax > 5 || maxLength <= 6)) {
        const averageBias = Math.sqrt(actualMax - totalLength / output.length),
            biasedMax = Math.max(actualMax - 3 - averageBias, 1),
            columns = Math.min(Math.round(Math.sqrt(2.5 * biasedMax * outputLength) / biasedMax), Math.floor((ctx.breakLength - ctx.indentationLvl) / actualMax), ctx.compact * 4, 15);

        if (columns <= 1) {
            return output;
        }

        const maxLineLength = [],
            tmp = [];

        for (let i = 0; i < columns; i += 1) {
            let lineLength = 0;

            for (let j = i; j < output.length; j += columns) {
                if (dataLen[j] > lineLength) {
                    lineLength = dataLen[j];
                }
            }

            maxLineLength.push(lineLength + separatorSpace);
        }

        let padStart = true;

        if (value !== undefined) {
            for (let i = 0; i < output.length; i += 1) {
                if (typeof value[i] !== 'number' && typeof value[i] !== 'bigint') {
                    padStart = false;
                    break;
                }
            }
        }

        for (let i = 0; i < outputLength; i += columns) {
            const max = Math.min(i + columns, outputLength);

            let j = i,
                str = '';

            for (; j < max - 1; j += 1) {
                const padding = maxLineLength[j - i];

                str += padStart ? `${output[j]}, `.padStart(padding, ' ') : `${output[j]}, `.padEnd(padding, ' ');
            }

            if (padStart) {
                str += output[j].padStart(maxLineLength[j - i] - separatorSpace, ' ');
            } else {
                str += output[j];
            }

            tmp.push(str);
        }

        if (ctx.maxArrayLength < output.length) {
            tmp.push(output[outputLength]);
        }

        output = tmp;
    }

    return output;
}

function reduceToSingleString (ctx, output, base, braces, extrasType, recurseTimes, value) {
    if (ctx.compact !== true) {
        if (typeof ctx.compact === 'number' && ctx.compact >= 1) {
            const entries = output.length;

            if (extrasType === 'array' && entries > 6) {
                output = groupArrayElements(ctx, output, value);
            }

            if (ctx.currentDepth - recurseTimes < ctx.compact && entries === output.length) {
                const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;

                if (isBelowBreakLength(ctx, output, start, base)) {
                    const joined = output.join(', ');

                    if (!joined.includes('\n')) {
                        return `${base ? `${base} ` : ''}${braces[0]} ${joined} ${braces[1]}`;
                    }
                }
            }
        }

        const indentation = `\n${' '.repeat(ctx.indentationLvl)}`;

        return `${base ? `${base} ` : ''}${braces[0]}${indentation}  ${output.join(`,${indentation}  `)}${indentation}${braces[1]}`;
    }

    if (isBelowBreakLength(ctx, output, 0, base)) {
        return `${braces[0]}${base ? ` ${base}` : ''} ${output.join(', ')} ${braces[1]}`;
    }

    const indentation = ' '.repeat(ctx.indentationLvl),
        ln = base === '' && braces[0].length === 1 ? ' ' : `${base ? ` ${base}` : ''}\n${indentation}  `;

    return `${braces[0]}${ln}${output.join(`,\n${indentation}  `)} ${braces[1]}`;
}

function functionBase (value, constructor, tag) {
    const source = Function.prototype.toString.call(value);

    if (source.startsWith('class') && source.endsWith('}')) {
        let base = `[class ${value.name || '(anonymous)'}`;
        const superName = Object.getPrototypeOf(value).name;

        if (constructor !== 'Function' && constructor !== null) {
            base += ` [${constructor}]`;
        }

        if (superName) {
            base += ` extends ${superName}`;
        }

        return base + ']';
    }

    let type = 'Function';

    if (/^async\s+function\s*\*|^async\s*\*/.test(source)) {
        type = 'AsyncGeneratorFunction';
    } else if (/^async[\s(]/.test(source)) {
        type = 'AsyncFunction';
    } else if (/^function\s*\*|^\*/.test(source)) {
        type = 'GeneratorFunction';
    }

    let base = `[${type}`;

    if (constructor === null) {
        base += ' (null prototype)';
    }

    base += value.name === '' ? ' (anonymous)' : `: ${value.name}`;
    base += ']';

    if (constructor !== type && constructor !== null) {
        base += ` ${constructor}`;
    }

    if (tag !== '' && constructor !== tag) {
        base += ` [${tag}]`;
    }

    return base;
}

function formatError (err, constructor, tag, ctx, keys) {
    const name = err.name != null ? String(err.name) : 'Error',
        message = err.message != null ? String(err.message) : '';

    let stack = err.stack ? cleanStack(err.stack) : `${name}${message ? `: ${message}` : ''}`;

    // Keep name/message in the output when they were changed afterwards.
    for (const key of [
        'name',
        'message',
        'stack'
    ]) {
        const index = keys.indexOf(key);

        if (index !== -1 && stack.includes(err[key])) {
            keys.splice(index, 1);
        }
    }

    if (constructor === null || name.endsWith('Error') && stack.startsWith(name) && (stack.length === name.length || stack[name.length] === ':' || stack[name.length] === '\n')) {
        let fallback = 'Error';

        if (constructor === null) {
            const start = /^([A-Z][a-z_ A-Z0-9[\]()-]+)(?::|\n\s+at)/.exec(stack) || /^([a-z_A-Z0-9-]*Error)$/.exec(stack);

            fallback = start && start[1] || '';
            stack = `[${fallback}: null prototype]${stack.slice(fallback.length)}`;
        } else if (constructor !== name && !name.includes(constructor) && constructor !== '') {
            stack = `${constructor} [${name}]${stack.slice(name.length)}`;
        }
    }

    if (err.cause !== undefined && (keys.length === 0 || !keys.includes('cause'))) {
        keys.push('cause');
    }

    const lines = stack.indexOf('\n    at');

    if (lines === -1) {
        stack = `[${stack}]`;
    }

    if (ctx.indentationLvl !== 0) {
        const indentation = ' '.repeat(ctx.indentationLvl);

        stack = stack.split('\n').join(`\n${indentation}`);
    }

    return stack;
}

function isError (value) {
    return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
}

function formatValue (ctx, value, recurseTimes, typedArray) {
    if (typeof value !== 'object' && typeof value !== 'function') {
        return formatPrimitive(ctx, value);
    }

    if (value === null) {
        return 'null';
    }

    if (ctx.customInspect) {
        const maybeCustom = value[customInspect];

        if (typeof maybeCustom === 'function' && maybeCustom !== inspect) {
            const depth = ctx.depth === null ? null : ctx.depth - recurseTimes,
                ret = maybeCustom.call(value, depth, {
                    ...ctx,
                    stylize: s => s
                }, inspect);

            if (ret !== value) {
                if (typeof ret !== 'string') {
                    return formatValue(ctx, ret, recurseTimes);
                }

                return ret.split('\n').join(`\n${' '.repeat(ctx.indentationLvl)}`);
            }
        }
    }

    if (ctx.seen.includes(value)) {
        let index = 1;

        if (ctx.circular === undefined) {
            ctx.circular = new Map();
            ctx.circular.set(value, index);
        } else {
            index = ctx.circular.get(value);

            if (index === undefined) {
                index = ctx.circular.size + 1;
                ctx.circular.set(value, index);
            }
        }

        return `[Circular *${index}]`;
    }

    return formatRaw(ctx, value, recurseTimes, typedArray);
}

const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype),
    typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag).get;

function formatRaw (ctx, value, recurseTimes, typedArray) {
    let keys,
        protoProps;

    const constructor = getConstructorName(value);

    let tag = value[Symbol.toStringTag];

    if (typeof tag !== 'string' || tag !== '' && (ctx.showHidden ? Object.prototype.hasOwnProperty : Object.prototype.propertyIsEnumerable).call(value, Symbol.toStringTag)) {
        tag = '';
    }

    let base = '',
        braces,
        extrasType = 'object',
        formatter = () => [],
        noIterator = true,
        i = 0;

    const filter = ctx.showHidden ? key => true : key => Object.prototype.propertyIsEnumerable.call(value, key),
        getKeys = () => {
            const own = ctx.showHidden ? Reflect.ownKeys(value) : Object.keys(value).concat(Object.getOwnPropertySymbols(value).filter(filter));

            return own;
        };

    if (Symbol.iterator in value || constructor === null) {
        noIterator = false;

        if (Array.isArray(value)) {
            const prefix = constructor !== 'Array' || tag !== '' ? getPrefix(constructor, tag, 'Array', `(${value.length})`) : '';

            keys = getKeys().filter(key => typeof key === 'symbol' || !/^(0|[1-9][0-9]*)$/.test(key) || Number(key) >= value.length);

            braces = [
                `${prefix}[`,
                ']'
            ];

            if (value.length === 0 && keys.length === 0 && protoProps === undefined) {
                return `${braces[0]}]`;
            }

            extrasType = 'array';
            formatter = formatArray;
        } else if (value instanceof Set) {
            const size = value.size,
                prefix = getPrefix(constructor, tag, 'Set', `(${size})`);

            keys = getKeys();
            formatter = formatSet;

            if (size === 0 && keys.length === 0 && protoProps === undefined) {
                return `${prefix}{}`;
            }

            braces = [
                `${prefix}{`,
                '}'
            ];
        } else if (value instanceof Map) {
            const size = value.size,
                prefix = getPrefix(constructor, tag, 'Map', `(${size})`);

            keys = getKeys();
            formatter = formatMap;

            if (size === 0 && keys.length === 0 && protoProps === undefined) {
                return `${prefix}{}`;
            }

            braces = [
                `${prefix}{`,
                '}'
            ];
        } else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
            keys = getKeys().filter(key => typeof key === 'symbol' || !/^(0|[1-9][0-9]*)$/.test(key));

            const fallback = typedArrayTag.call(value);

            if (constructor === 'Buffer' && !ctx.showHidden) {
                const bytes = [];

                for (let j = 0; j < Math.min(value.length, 50); j += 1) {
                    bytes.push(value[j].toString(16).padStart(2, '0'));
                }

                return `<Buffer${bytes.length ? ' ' + bytes.join(' ') : ''}${value.length > 50 ? ` ... ${value.length - 50} more bytes` : ''}>`;
            }

            const prefix = getPrefix(constructor, tag, fallback, `(${value.length})`);

            braces = [
                `${prefix}[`,
                ']'
            ];

            if (value.length === 0 && keys.length === 0 && !ctx.showHidden) {
                return `${braces[0]}]`;
            }

            formatter = formatTypedArray;
            extrasType = 'array';
        } else {
            noIterator = true;
        }
    }

    if (noIterator) {
        keys = getKeys();
        braces = [
            '{',
            '}'
        ];

        if (typeof value === 'function') {
            base = functionBase(value, constructor, tag);

            if (keys.length === 0 && protoProps === undefined) {
                return base;
            }
        } else if (constructor === 'Object' && !(value instanceof Error)) {
            if (Object.prototype.toString.call(value) === '[object Arguments]') {
                braces[0] = '[Arguments] [';
                braces[1] = ']';
                extrasType = 'array';
                formatter = formatArray;
            } else if (tag !== '') {
                braces[0] = `${getPrefix(constructor, tag, 'Object')}{`;
            }

            if (keys.length === 0 && protoProps === undefined && formatter !== formatArray) {
                return `${braces[0]}}`;
            }
        } else if (value instanceof RegExp) {
            base = RegExp.prototype.toString.call(value);

            const prefix = getPrefix(constructor, tag, 'RegExp');

            if (prefix !== 'RegExp ') {
                base = `${prefix}${base}`;
            }

            if (keys.length === 0 && protoProps === undefined || recurseTimes > ctx.depth && ctx.depth !== null) {
                return base;
            }
        } else if (value instanceof Date) {
            base = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();

            const prefix = getPrefix(constructor, tag, 'Date');

            if (prefix !== 'Date ') {
                base = `${prefix}${base}`;
            }

            if (keys.length === 0 && protoProps === undefined) {
                return base;
            }
        } else if (isError(value)) {
            base = formatError(value, constructor, tag, ctx, keys);

            if (keys.length === 0 && protoProps === undefined) {
                return base;
            }
        } else if (value instanceof Promise) {
            braces[0] = `${getPrefix(constructor, tag, 'Promise')}{`;
            formatter = formatPromise;
        } else if (value instanceof WeakSet) {
            braces[0] = `${getPrefix(constructor, tag, 'WeakSet')}{`;
            formatter = () => [
                '<items unknown>'
            ];
        } else if (value instanceof WeakMap) {
            braces[0] = `${getPrefix(constructor, tag, 'WeakMap')}{`;
            formatter = () => [
                '<items unknown>'
            ];
        } else if (value instanceof ArrayBuffer) {
            const bytes = new Uint8Array(value),
                hex = [];

            for (let j = 0; j < Math.min(bytes.length, 50); j += 1) {
                hex.push(bytes[j].toString(16).padStart(2, '0'));
            }

            braces[0] = `${getPrefix(constructor, tag, 'ArrayBuffer')}{`;
            formatter = () => [
                `[Uint8Contents]: <${hex.join(' ')}${bytes.length > 50 ? ` ... ${bytes.length - 50} more bytes` : ''}>`,
                `byteLength: ${value.byteLength}`
            ];
        } else if (value instanceof Number || value instanceof String || value instanceof Boolean || typeof value.valueOf === 'function' && typeof value.valueOf() === 'symbol' && value instanceof Symbol || typeof BigInt === 'function' && value instanceof BigInt) {
            const primitive = value.valueOf(),
                type = value instanceof Number ? 'Number' : value instanceof String ? 'String' : value instanceof Boolean ? 'Boolean' : typeof primitive === 'symbol' ? 'Symbol' : 'BigInt';

            base = `[${type}${type !== constructor ? constructor === null ? ' (null prototype)' : ` (${constructor})` : ''}: ${formatPrimitive({
                ...ctx,
                compact: true
            }, primitive)}]`;

            if (type === 'String') {
                keys = keys.filter(key => !/^(0|[1-9][0-9]*)$/.test(key) || Number(key) >= primitive.length);
            }

            if (keys.length === 0 && protoProps === undefined) {
                return base;
            }
        } else {
            braces[0] = `${getPrefix(constructor, tag, 'Object')}{`;

            if (keys.length === 0 && protoProps === undefined) {
                return `${braces[0]}}`;
            }
        }
    }

    if (recurseTimes > ctx.depth && ctx.depth !== null) {
        let constructorName = getPrefix(constructor, tag, 'Object').slice(0, -1);

        if (constructor !== null) {
            constructorName = `[${constructorName}]`;
        }

        return constructorName;
    }

    recurseTimes += 1;
    ctx.seen.push(value);
    ctx.currentDepth = recurseTimes;

    let output;

    try {
        output = formatter(ctx, value, recurseTimes);

        for (i = 0; i < keys.length; i += 1) {
            output.push(formatProperty(ctx, value, recurseTimes, keys[i], extrasType));
        }
    } finally {
        ctx.seen.pop();
    }

    if (ctx.circular !== undefined) {
        const index = ctx.circular.get(value);

        if (index !== undefined) {
            const reference = `<ref *${index}>`;

            if (ctx.compact !== true) {
                base = base === '' ? reference : `${reference} ${base}`;
            } else {
                braces[0] = `${reference} ${braces[0]}`;
            }
        }
    }

    if (ctx.sorted) {
        output.sort();
    }

    const res = reduceToSingleString(ctx, output, base, braces, extrasType, recurseTimes, value),
        newLength = ctx.indentationLvl + res.length;

    if (newLength > 2 ** 27) {
        ctx.depth = -1;
    }

    return res;
}

function formatArray (ctx, value, recurseTimes) {
    const length = value.length,
        len = Math.min(Math.max(0, ctx.maxArrayLength), length),
        remaining = length - len,
        output = [];

    let holes = 0;

    const flushHoles = () => {
        if (holes > 0) {
            output.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
            holes = 0;
        }
    };

    for (let i = 0; i < len; i += 1) {
        if (!Object.prototype.hasOwnProperty.call(value, i)) {
            holes += 1;
            continue;
        }

        flushHoles();
        output.push(formatProperty(ctx, value, recurseTimes, i, 'arrayValue'));
    }

    flushHoles();

    if (remaining > 0) {
        output.push(`... ${remaining} more item${remaining > 1 ? 's' : ''}`);
    }

    return output;
}

function formatTypedArray (ctx, value, recurseTimes) {
    const length = value.length,
        maxLength = Math.min(Math.max(0, ctx.maxArrayLength), length),
        remaining = length - maxLength,
        output = new Array(maxLength);

    for (let i = 0; i < maxLength; i += 1) {
        output[i] = formatPrimitive(ctx, value[i]);
    }

    if (remaining > 0) {
        output[maxLength] = `... ${remaining} more item${remaining > 1 ? 's' : ''}`;
    }

    if (ctx.showHidden) {
        ctx.indentationLvl += 2;

        for (const key of [
            'BYTES_PER_ELEMENT',
            'length',
            'byteLength',
            'byteOffset',
            'buffer'
        ]) {
            output.push(`[${key}]: ${formatValue(ctx, value[key], recurseTimes, true)}`);
        }

        ctx.indentationLvl -= 2;
    }

    return output;
}

function formatSet (ctx, value, recurseTimes) {
    const output = [];

    ctx.indentationLvl += 2;

    for (const v of value) {
        output.push(formatValue(ctx, v, recurseTimes));
    }

    ctx.indentationLvl -= 2;
    return output;
}

function formatMap (ctx, value, recurseTimes) {
    const output = [];

    ctx.indentationLvl += 2;

    for (const [
        k,
        v
    ] of value) {
        output.push(`${formatValue(ctx, k, recurseTimes)} => ${formatValue(ctx, v, recurseTimes)}`);
    }

    ctx.indentationLvl -= 2;
    return output;
}

function formatPromise (ctx, value, recurseTimes) {
    const state = native.promiseState(value);

    if (state === 'pending') {
        return [
            '<pending>'
        ];
    }

    ctx.indentationLvl += 2;

    const str = formatValue(ctx, native.promiseResult(value), recurseTimes);

    ctx.indentationLvl -= 2;
    return [
        state === 'rejected' ? `<rejected> ${str}` : str
    ];
}

function inspect (value, opts) {
    const ctx = {
        ...defaultOptions,
        ...inspect.defaultOptions === defaultOptions ? {} : inspect.defaultOptions,
        currentDepth: 0,
        indentationLvl: 0,
        seen: []
    };

    if (arguments.length > 2) {
        if (arguments[2] !== undefined) {
            ctx.depth = arguments[2];
        }

        if (arguments.length > 3 && arguments[3] !== undefined) {
            ctx.colors = arguments[3];
        }
    }

    if (typeof opts === 'boolean') {
        ctx.showHidden = opts;
    } else if (opts) {
        for (const key of Object.keys(opts)) {
            ctx[key] = opts[key];
        }
    }

    if (ctx.depth === Infinity) {
        ctx.depth = null;
    }

    if (ctx.maxArrayLength === null) {
        ctx.maxArrayLength = Infinity;
    }

    if (ctx.maxStringLength === null) {
        ctx.maxStringLength = Infinity;
    }

    return formatValue(ctx, value, 0);
}

inspect.custom = customInspect;
inspect.defaultOptions = defaultOptions;

function formatWithOptions (inspectOptions, ...args) {
    const first = args[0];

    let a = 0,
        str = '',
        join = '';

    if (typeof first === 'string') {
        if (args.length === 1) {
            return first;
        }

        let tempStr,
            lastPos = 0;

        for (let i = 0; i < first.length - 1; i += 1) {
            if (first.charCodeAt(i) === 37) { // '%'
                i += 1;

                const nextChar = first.charCodeAt(i);

                if (a + 1 !== args.length) {
                    switch (nextChar) {
                        case 115: { // 's'
                            const tempArg = args[++a];

                            if (typeof tempArg === 'number') {
                                tempStr = formatNumber(tempArg);
                            } else if (typeof tempArg === 'bigint') {
                                tempStr = `${tempArg}n`;
                            } else if (typeof tempArg !== 'object' || tempArg === null || !hasBuiltInToString(tempArg)) {
                                tempStr = String(tempArg);
                            } else {
                                tempStr = inspect(tempArg, {
                                    ...inspectOptions,
                                    colors: false,
                                    compact: 3,
                                    depth: 0
                                });
                            }

                            break;
                        }
                        case 106: // 'j'
                            tempStr = tryStringify(args[++a]);
                            break;
                        case 100: { // 'd'
                            const tempNum = args[++a];

                            if (typeof tempNum === 'bigint') {
                                tempStr = `${tempNum}n`;
                            } else if (typeof tempNum === 'symbol') {
                                tempStr = 'NaN';
                            } else {
                                tempStr = formatNumber(Number(tempNum));
                            }

                            break;
                        }
                        case 79: // 'O'
                            tempStr = inspect(args[++a], inspectOptions);
                            break;
                        case 111: // 'o'
                            tempStr = inspect(args[++a], {
                                ...inspectOptions,
                                depth: 4,
                                showHidden: true,
                                showProxy: true
                            });
                            break;
                        case 105: { // 'i'
                            const tempInteger = args[++a];

                            if (typeof tempInteger === 'bigint') {
                                tempStr = `${tempInteger}n`;
                            } else if (typeof tempInteger === 'symbol') {
                                tempStr = 'NaN';
                            } else {
                                tempStr = formatNumber(Number.parseInt(tempInteger));
                            }

                            break;
                        }
                        case 102: { // 'f'
                            const tempFloat = args[++a];

                            tempStr = typeof tempFloat === 'symbol' ? 'NaN' : formatNumber(Number.parseFloat(tempFloat));
                            break;
                        }
                        case 99: // 'c'
                            a += 1;
                            tempStr = '';
                            break;
                        case 37: // '%'
                            str += first.slice(lastPos, i);
                            lastPos = i + 1;
                            continue;
                        default:
                            continue;
                    }

                    if (lastPos !== i - 1) {
                        str += first.slice(lastPos, i - 1);
                    }

                    str += tempStr;
                    lastPos = i + 1;
                } else if (nextChar === 37) {
                    str += first.slice(lastPos, i);
                    lastPos = i + 1;
                }
            }
        }

        if (lastPos !== 0) {
            a += 1;
            join = ' ';

            if (lastPos < first.length) {
                str += first.slice(lastPos);
            }
        }
    }

    while (a < args.length) {
        const value = args[a];

        str += join;
        str += typeof value !== 'string' ? inspect(value, inspectOptions) : value;
        join = ' ';
        a += 1;
    }

    return str;
}

function hasBuiltInToString (value) {
    let proto = value;

    while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, 'toString')) {
        proto = Object.getPrototypeOf(proto);
    }

    if (proto === null) {
        return true;
    }

    const constructor = proto.constructor;

    return proto === Object.prototype || proto === Array.prototype || proto === Error.prototype || proto === Date.prototype || proto === RegExp.prototype || proto === Function.prototype || typeof constructor === 'function' && [
        Object,
        Array,
        Error,
        Date,
        RegExp,
        Function,
        Number,
        String,
        Boolean,
        Map,
        Set,
        Promise
    ].includes(constructor);
}

function tryStringify (arg) {
    try {
        return JSON.stringify(arg);
    } catch (error) {
        if (error instanceof TypeError && /circular/i.test(error.message)) {
            return '[Circular]';
        }

        throw error;
    }
}

function format (...args) {
    return formatWithOptions(undefined, ...args);
}

module.exports = {
    cleanStack,
    format,
    formatWithOptions,
    inspect
};
