// node --import ./runtimes/js/builtins/test/register-builtins.mjs: resolve isowasm's built-in
// module names (isotropic-make, isotropic-pubsub, ...) to the files in runtimes/js/builtins.
import {
    register
} from 'node:module';

register('./builtins-hooks.mjs', import.meta.url);
