import _assert from 'node:assert/strict';
import {
    spawnSync
} from 'node:child_process';
import _path from 'node:path';
import _process from 'node:process';
import {
    describe,
    it
} from 'node:test';
import {
    fileURLToPath
} from 'node:url';
import {
    importBuiltin
} from './builtins.mjs';

const testDirectory = _path.dirname(fileURLToPath(import.meta.url)),
    script = `
        import {importBuiltin} from ${JSON.stringify(`${testDirectory}/builtins.mjs`)};
        const logger = await importBuiltin('isotropic-logger');
        const child = logger.child({module: 'm'}, true);
        child.info({workerId: 1}, 'hello %s', 'world');
        child.debug('debug line');
        const circular = {};
        circular.self = circular;
        child.error({error: Object.assign(new Error('bad'), {details: circular})}, 'failed');
        child.fatal(new Error('direct'));
        process.stdout.write(String(child.info()) + String(child.trace()));
    `,
    run = setting => {
        const result = spawnSync(_process.execPath, [
            '--input-type=module',
            '--eval',
            script
        ], {
            env: {
                ..._process.env,
                ISOWASM_LOG_LIBRARY: setting
            }
        });

        return {
            stderr: result.stderr.toString(),
            stdout: result.stdout.toString()
        };
    };

describe('isotropic-logger', () => {
    it('is silent by default', async () => {
        const logger = await importBuiltin('isotropic-logger');

        _assert.equal(typeof logger.child, 'function');
        _assert.equal(logger.info(), _process.env.ISOWASM_LOG_LIBRARY ? logger.level() <= 30 : false);
        _assert.deepEqual(run(''), {
            stderr: '',
            stdout: 'falsefalse'
        });
    });

    it('writes bunyan-style JSON lines to stderr when ISOWASM_LOG_LIBRARY is set', () => {
        const {
                stderr,
                stdout
            } = run('info'),
            records = stderr.trim().split('\n').map(line => JSON.parse(line));

        _assert.equal(stdout, 'truefalse', 'nothing but the script\'s own output on stdout');
        _assert.deepEqual(records.map(record => [
            record.name,
            record.module,
            record.level,
            record.msg
        ]), [
            [
                'isotropic',
                'm',
                30,
                'hello world'
            ],
            [
                'isotropic',
                'm',
                50,
                'failed'
            ],
            [
                'isotropic',
                'm',
                60,
                'direct'
            ]
        ]);
        _assert.equal(records[0].workerId, 1);
        _assert.equal(records[1].error.details.self, '[Circular]');
        _assert.equal(records[2].err.message, 'direct');
        _assert.equal(run('debug').stderr.includes('"msg":"debug line"'), true);
    });

    it('formats records', async () => {
        const logger = await importBuiltin('isotropic-logger'),
            records = [],
            savedStreams = logger.streams;

        logger.streams = [];
        logger.addStream({
            level: 'debug',
            stream: {
                write: record => records.push(record)
            },
            type: 'raw'
        });

        try {
            const child = logger.child({
                module: 'm'
            }, true);

            child.info({
                workerId: 1
            }, 'hello %s %d', 'world', 42);
            child.trace('not written');
            child.error({
                error: Object.assign(new Error('bad'), {
                    code: 'E_BAD'
                })
            }, 'failed');
        } finally {
            logger.streams = savedStreams;
        }

        _assert.equal(records.length, 2);
        _assert.equal(records[0].name, 'isotropic');
        _assert.equal(records[0].module, 'm');
        _assert.equal(records[0].workerId, 1);
        _assert.equal(records[0].level, 30);
        _assert.equal(records[0].msg, 'hello world 42');
        _assert.equal(records[0].v, 0);
        _assert.equal(records[1].level, 50);
        _assert.equal(records[1].error.code, 'E_BAD');
        _assert.ok(Array.isArray(records[1].error.stack));
    });
});
