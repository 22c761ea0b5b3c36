// node:timers/promises for isowasm.

const timers = require('node:timers');

module.exports = {
    setImmediate: (value, options = {}) => new Promise(resolve => {
        const immediate = timers.setImmediate(resolve, value);

        if (options.ref === false) {
            immediate.unref();
        }
    }),
    setTimeout: (delay, value, options = {}) => new Promise(resolve => {
        const timeout = timers.setTimeout(resolve, delay, value);

        if (options.ref === false) {
            timeout.unref();
        }
    }),
    async * setInterval (delay, value) {
        for (;;) {
            yield await new Promise(resolve => timers.setTimeout(resolve, delay, value));
        }
    }
};
