// Test helper: registers builtins-hooks.mjs, then imports isowasm built-in modules by the
// names user scripts use. Test files import them through this (a dynamic import after the
// registration) so that `node --test runtimes/js/builtins/test/` needs no flags.
import {
    register
} from 'node:module';

register('./builtins-hooks.mjs', import.meta.url);

// The module namespace of a built-in, e.g. importBuiltinModule('isotropic-pubsub').
export const importBuiltinModule = name => import(name);

// The default export of a built-in, e.g. importBuiltin('isotropic-make').
export const importBuiltin = async name => (await import(name)).default;
