// Module resolution hooks for the builtins tests: the bare names isowasm serves from
// runtimes/js/builtins resolve to those files, as isowasm's own loader will resolve them.
// Registered by register-builtins.mjs (node --import).
import {
    fileURLToPath,
    pathToFileURL
} from 'node:url';
import _path from 'node:path';

const builtinsDirectory = _path.resolve(_path.dirname(fileURLToPath(import.meta.url)), '..');

export const fileByName = {
    'isotropic-cluster/lib/cluster-primary.js': 'isotropic-cluster-primary.js',
    'isotropic-cluster/lib/cluster-worker.js': 'isotropic-cluster-worker.js',
    'isotropic-error': 'isotropic-error.js',
    'isotropic-initializable': 'isotropic-initializable.js',
    'isotropic-later': 'isotropic-later.js',
    'isotropic-logger': 'isotropic-logger.js',
    'isotropic-make': 'isotropic-make.js',
    'isotropic-property-chainer': 'isotropic-property-chainer.js',
    'isotropic-pubsub': 'isotropic-pubsub.js'
};

export const resolve = (specifier, context, nextResolve) => {
    if (Object.hasOwn(fileByName, specifier)) {
        return {
            shortCircuit: true,
            url: pathToFileURL(_path.join(builtinsDirectory, fileByName[specifier])).href
        };
    }

    return nextResolve(specifier, context);
};

// The builtins are ES modules whatever package.json (or none) is around them.
export const load = (url, context, nextLoad) => {
    if (url.startsWith('file:') && _path.dirname(fileURLToPath(url)) === builtinsDirectory && url.endsWith('.js')) {
        return nextLoad(url, {
            ...context,
            format: 'module'
        });
    }

    return nextLoad(url, context);
};
