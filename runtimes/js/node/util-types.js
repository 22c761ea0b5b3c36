// node:util/types for isowasm: the common checks.

const native = __isowasm;
const tag = value => Object.prototype.toString.call(value);

module.exports = {
    isAnyArrayBuffer: value => value instanceof ArrayBuffer,
    isArrayBuffer: value => value instanceof ArrayBuffer,
    isArrayBufferView: value => ArrayBuffer.isView(value),
    isAsyncFunction: value => typeof value === 'function' && /^async[\s(*]/.test(Function.prototype.toString.call(value)),
    isBigInt64Array: value => value instanceof BigInt64Array,
    isBoxedPrimitive: value => value instanceof Number || value instanceof String || value instanceof Boolean,
    isDate: value => value instanceof Date,
    isGeneratorFunction: value => typeof value === 'function' && /^(async\s*)?function\s*\*/.test(Function.prototype.toString.call(value)),
    isMap: value => value instanceof Map,
    isNativeError: value => value instanceof Error || tag(value) === '[object Error]',
    isPromise: value => native.promiseState(value) !== '',
    isProxy: () => false,
    isRegExp: value => value instanceof RegExp,
    isSet: value => value instanceof Set,
    isTypedArray: value => ArrayBuffer.isView(value) && !(value instanceof DataView),
    isUint8Array: value => value instanceof Uint8Array,
    isWeakMap: value => value instanceof WeakMap,
    isWeakSet: value => value instanceof WeakSet
};
