// Runs the isotropic-cluster reference scenarios (shared/reference/scenarios) under real Node
// and node:cluster, with isotropic-cluster and its dependencies served from this folder's
// built-ins, and checks each printed result line against the trace recorded with the original
// library (shared/reference/traces/<scenario>.json).
//
// The scenarios import the library by package name and Node resolves those from the script's
// real path, so each run gets a temporary folder holding the scenarios and a node_modules
// with copies of the built-ins. ISOWASM_REFERENCE_DIR overrides where the reference folder is;
// ISOWASM_SCENARIOS (comma-separated names) limits the run. Without the reference folder the
// tests are skipped.
import _assert from 'node:assert/strict';
import {
    spawn
} from 'node:child_process';
import _fs from 'node:fs';
import _os from 'node:os';
import _path from 'node:path';
import _process from 'node:process';
import {
    after,
    before,
    describe,
    it
} from 'node:test';
import {
    fileURLToPath
} from 'node:url';

const builtinsDirectory = _path.resolve(_path.dirname(fileURLToPath(import.meta.url)), '..'),
    repositoryDirectory = _path.resolve(builtinsDirectory, '../../..'),
    referenceDirectory = [
        _process.env.ISOWASM_REFERENCE_DIR,
        _path.resolve(repositoryDirectory, '../shared/reference'),
        '/work/shared/reference'
    ].find(directory => directory && _fs.existsSync(_path.join(directory, 'scenarios'))),
    // package path inside node_modules -> built-in file
    packageFiles = {
        'isotropic-cluster/lib/cluster-primary.js': 'isotropic-cluster-primary.js',
        'isotropic-cluster/lib/cluster-worker.js': 'isotropic-cluster-worker.js',
        'isotropic-error/index.js': 'isotropic-error.js',
        'isotropic-initializable/index.js': 'isotropic-initializable.js',
        'isotropic-later/index.js': 'isotropic-later.js',
        'isotropic-logger/index.js': 'isotropic-logger.js',
        'isotropic-make/index.js': 'isotropic-make.js',
        'isotropic-property-chainer/index.js': 'isotropic-property-chainer.js',
        'isotropic-pubsub/index.js': 'isotropic-pubsub.js'
    },
    scenarioTimeoutMilliseconds = 120000;

const listScenarios = () => {
    const available = _fs.readdirSync(_path.join(referenceDirectory, 'scenarios')).filter(name => !name.startsWith('_') && _fs.existsSync(_path.join(referenceDirectory, 'traces', `${name}.json`))).sort(),
        wanted = _process.env.ISOWASM_SCENARIOS;

    return wanted ? available.filter(name => wanted.split(',').includes(name)) : available;
};

const writeJson = (file, value) => {
    _fs.writeFileSync(file, `${JSON.stringify(value, null, 4)}\n`);
};

// A folder with the scenarios and a node_modules of built-in copies.
const layOutWorkspace = () => {
    const workspace = _fs.mkdtempSync(_path.join(_os.tmpdir(), 'isowasm-scenarios-'));

    _fs.cpSync(_path.join(referenceDirectory, 'scenarios'), workspace, {
        recursive: true
    });
    writeJson(_path.join(workspace, 'package.json'), {
        private: true,
        type: 'module'
    });

    for (const [
        packagePath,
        builtinFile
    ] of Object.entries(packageFiles)) {
        const target = _path.join(workspace, 'node_modules', packagePath),
            packageName = packagePath.split('/')[0];

        _fs.mkdirSync(_path.dirname(target), {
            recursive: true
        });
        _fs.copyFileSync(_path.join(builtinsDirectory, builtinFile), target);
        writeJson(_path.join(workspace, 'node_modules', packageName, 'package.json'), {
            main: packageName === 'isotropic-cluster' ? undefined : 'index.js',
            name: packageName,
            type: 'module'
        });
    }

    return workspace;
};

// Runs primary.js and resolves with its result line, parsed.
const runScenario = (workspace, name) => new Promise((resolve, reject) => {
    const child = spawn(_process.execPath, [
            'primary.js'
        ], {
            cwd: _path.join(workspace, name),
            env: {
                ..._process.env,
                ISOWASM_LOG_LIBRARY: '',
                ISO_REF_REPORT_DIR: ''
            },
            stdio: [
                'ignore',
                'pipe',
                'pipe'
            ]
        }),
        stdout = [],
        stderr = [],
        timer = setTimeout(() => {
            child.kill('SIGKILL');
        }, scenarioTimeoutMilliseconds);

    child.stdout.on('data', chunk => stdout.push(chunk));
    child.stderr.on('data', chunk => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
        clearTimeout(timer);

        const output = Buffer.concat(stdout).toString(),
            line = output.split('\n').find(text => text.startsWith('{"scenario":'));

        if (line) {
            resolve(JSON.parse(line));
        } else {
            reject(new Error(`scenario ${name} printed no result line (exit ${code}, signal ${signal}); stderr:\n${Buffer.concat(stderr).toString()}`));
        }
    });
});

describe('isotropic-cluster reference scenarios under node:cluster', {
    concurrency: 2,
    skip: referenceDirectory ? false : 'shared/reference not found (set ISOWASM_REFERENCE_DIR)'
}, () => {
    let workspace;

    before(() => {
        workspace = layOutWorkspace();
    });

    after(() => {
        if (workspace) {
            _fs.rmSync(workspace, {
                force: true,
                recursive: true
            });
        }
    });

    for (const name of referenceDirectory ? listScenarios() : []) {
        it(name, {
            timeout: scenarioTimeoutMilliseconds + 10000
        }, async () => {
            const expected = JSON.parse(_fs.readFileSync(_path.join(referenceDirectory, 'traces', `${name}.json`), 'utf8')),
                actual = await runScenario(workspace, name);

            _assert.deepStrictEqual(actual, expected);
        });
    }
});
