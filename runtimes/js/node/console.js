// node:console for isowasm: the global console, util.format semantics,
// log/info/debug to stdout and warn/error/trace to stderr.

const native = __isowasm;

// isowasm:inspect is compiled on first use (runtimes/js/lazy.go): not at
// start unless something prints.
const formatWithOptions = (...args) => require('isowasm:inspect').formatWithOptions(...args),
    inspect = (...args) => require('isowasm:inspect').inspect(...args);

const counts = new Map(),
    timers = new Map();

let groupIndent = '';

function print (write, args) {
    let text = formatWithOptions(undefined, ...args);

    if (groupIndent !== '') {
        text = groupIndent + text.split('\n').join(`\n${groupIndent}`);
    }

    write(text + '\n');
}

const out = text => native.writeOut(text),
    err = text => native.writeErr(text);

const console = {
    assert (value, ...args) {
        if (!value) {
            args[0] = `Assertion failed${args.length === 0 ? '' : `: ${args[0]}`}`;
            print(err, args);
        }
    },
    count (label = 'default') {
        label = `${label}`;

        const count = (counts.get(label) || 0) + 1;

        counts.set(label, count);
        print(out, [
            `${label}: ${count}`
        ]);
    },
    countReset (label = 'default') {
        counts.delete(`${label}`);
    },
    debug (...args) {
        print(out, args);
    },
    dir (value, options) {
        print(out, [
            inspect(value, {
                customInspect: false,
                ...options
            })
        ]);
    },
    error (...args) {
        print(err, args);
    },
    group (...args) {
        if (args.length > 0) {
            print(out, args);
        }

        groupIndent += '  ';
    },
    groupEnd () {
        groupIndent = groupIndent.slice(0, -2);
    },
    info (...args) {
        print(out, args);
    },
    log (...args) {
        print(out, args);
    },
    table (...args) {
        print(out, args);
    },
    time (label = 'default') {
        timers.set(`${label}`, native.now());
    },
    timeEnd (label = 'default') {
        console.timeLog(label);
        timers.delete(`${label}`);
    },
    timeLog (label = 'default', ...args) {
        const start = timers.get(`${label}`);

        if (start === undefined) {
            return;
        }

        const ms = native.now() - start;

        print(out, [
            `${label}: ${ms >= 1000 ? `${(ms / 1000).toFixed(3)}s` : `${ms.toFixed(3)}ms`}`,
            ...args
        ]);
    },
    trace (...args) {
        const error = new Error(formatWithOptions(undefined, ...args));

        error.name = 'Trace';
        print(err, [
            require('isowasm:inspect').cleanStack(error.stack)
        ]);
    },
    warn (...args) {
        print(err, args);
    }
};

console.dirxml = console.log;
console.groupCollapsed = console.group;
console.Console = function Console () {
    return console;
};

module.exports = console;
