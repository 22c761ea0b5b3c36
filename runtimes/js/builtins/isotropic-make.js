// isotropic-make: builds constructor functions that work with or without `new`.
//
// isowasm's own implementation of the isotropic-make API (v0.13 behaviour):
//
//     _make([Parent], [mixins], instanceMethods, [staticMethods], [init], [staticInit], [staticInitArgs])
//
// - Parent defaults to Object; the made constructor's prototype inherits from Parent's and
//   the constructor itself inherits Parent's statics.
// - mixins: every own property (accessors included) of each mixin's prototype is copied onto
//   the new prototype, and each mixin's own static properties onto the constructor, in order,
//   before the given methods.
// - Calling the constructor (with or without `new`) creates an instance whose prototype is the
//   made prototype and which has its own non-enumerable `constructor`, then returns what the
//   instance's init method (`_init` unless named) returns, or the bare instance if it has none.
// - The static init method (`_init` unless named) is called on the constructor once it is made,
//   with staticInitArgs, and what it returns is what _make returns.
// - The constructor is anonymous (its `name` is '') and has `mixins`, `super_` and `superclass`.

const copyOwnProperties = (source, target) => {
    for (const key of Reflect.ownKeys(source)) {
        Reflect.defineProperty(target, key, Reflect.getOwnPropertyDescriptor(source, key));
    }
};

// A new instance: prototypeObject's, with constructorProperty (its own non-enumerable
// constructor, a descriptor made once per constructor) defined on it. Cheaper in goja than
// Object.create with a fresh property map per instance.
const newInstance = (constructorProperty, prototypeObject) => Object.defineProperty({
    __proto__: prototypeObject
}, 'constructor', constructorProperty);

// Returns its argument untouched. Passing a function expression through a call keeps the
// engine from naming it after the variable it ends up in, so made constructors stay anonymous.
const unnamed = fn => fn;

// Sorts the positional arguments into their roles. Optional leading arguments are recognised
// by type: a function is the parent, an array the mixins, an object the static methods.
const readArguments = args => {
    let index = 0;

    const next = () => {
            const value = args[index];

            index += 1;
            return value;
        },
        parent = typeof args[index] === 'function' ? next() : Object,
        mixins = Array.isArray(args[index]) ? next() : null,
        instanceMethods = next(),
        staticMethods = typeof args[index] === 'object' ? next() : null;

    let init = next(),
        staticInit = next(),
        staticInitArgs = next();

    if (Array.isArray(init)) {
        staticInitArgs = init;
        init = '_init';
        staticInit = '_init';
    } else {
        init ||= '_init';

        if (Array.isArray(staticInit)) {
            staticInitArgs = staticInit;
            staticInit = '_init';
        } else {
            staticInit ||= '_init';
        }
    }

    return {
        init,
        instanceMethods,
        mixins,
        parent,
        staticInit,
        staticInitArgs,
        staticMethods
    };
};

const make = (...args) => {
    const roles = readArguments(args),
        {
            init,
            instanceMethods,
            mixins,
            parent,
            staticInitArgs
        } = roles,
        parentPrototype = parent.prototype,
        prototypeObject = Object.create(parentPrototype);

    let {
        staticInit,
        staticMethods
    } = roles;

    const constructorFunction = unnamed(typeof init === 'function' ?
        function (...initArgs) {
            return Reflect.apply(init, newInstance(constructorProperty, prototypeObject), initArgs);
        } :
        function (...initArgs) {
            const instance = newInstance(constructorProperty, prototypeObject),
                instanceInit = instance[init];

            if (typeof instanceInit === 'function') {
                return Reflect.apply(instanceInit, instance, initArgs);
            }

            return instance;
        }),
        constructorProperty = {
            configurable: true,
            enumerable: false,
            value: constructorFunction,
            writable: true
        };

    if (mixins) {
        // Mixin statics first, then this constructor's own statics over them.
        const mixedStatics = {};

        for (const mixin of mixins) {
            copyOwnProperties(mixin, mixedStatics);
            copyOwnProperties(mixin.prototype, prototypeObject);
        }

        if (staticMethods) {
            copyOwnProperties(staticMethods, mixedStatics);
        }

        staticMethods = mixedStatics;
    }

    copyOwnProperties(instanceMethods, prototypeObject);

    Object.defineProperty(prototypeObject, 'constructor', {
        configurable: true,
        enumerable: false,
        value: constructorFunction,
        writable: true
    });

    if (staticMethods) {
        copyOwnProperties(staticMethods, constructorFunction);
    }

    constructorFunction.mixins = mixins;
    constructorFunction.prototype = prototypeObject;
    constructorFunction.super_ = parent;
    constructorFunction.superclass = parentPrototype;

    Reflect.setPrototypeOf(constructorFunction, parent);

    if (typeof staticInit === 'string') {
        staticInit = constructorFunction[staticInit];
    }

    if (typeof staticInit === 'function') {
        return Reflect.apply(staticInit, constructorFunction, Array.isArray(staticInitArgs) ? staticInitArgs : []);
    }

    return constructorFunction;
};

export default make;
