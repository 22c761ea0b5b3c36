// node:os for isowasm: the basics, read by the Go side.

const native = __isowasm;

const os = {
    EOL: '\n',
    arch: () => native.arch,
    availableParallelism: () => native.cpuCount,
    cpus: () => Array.from({
        length: native.cpuCount
    }, () => ({
        model: 'unknown',
        speed: 0,
        times: {
            idle: 0,
            irq: 0,
            nice: 0,
            sys: 0,
            user: 0
        }
    })),
    constants: {
        signals: Object.freeze({
            ...native.signals
        })
    },
    devNull: '/dev/null',
    endianness: () => 'LE',
    freemem: () => native.memInfo()[1],
    homedir: () => native.homedir(),
    hostname: () => native.hostname(),
    loadavg: () => native.loadavg(),
    networkInterfaces: () => ({}),
    platform: () => native.platform,
    release: () => native.osRelease(),
    tmpdir: () => native.tmpdir(),
    totalmem: () => native.memInfo()[0],
    type: () => native.platform === 'linux' ? 'Linux' : native.platform === 'darwin' ? 'Darwin' : native.platform,
    uptime: () => native.systemUptime(),
    userInfo: () => ({
        gid: 0,
        homedir: native.homedir(),
        shell: null,
        uid: 0,
        username: native.env.USER || ''
    })
};

module.exports = os;
