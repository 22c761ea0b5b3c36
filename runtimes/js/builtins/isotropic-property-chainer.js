// isotropic-property-chainer: links same-named object properties along an inheritance chain.
//
// isowasm's own implementation of the isotropic-property-chainer API (v0.14 behaviour).
// A made class (or a prototype) lists property names in an own `_propertyChains` iterable.
// Its `_init` then walks the chain from the object outwards (through parents and, by default,
// mixins) and makes the value each level owns under that name inherit from the next level's
// value, so for example a class's `_dispatcherByEventName` falls back to its parent's and its
// mixins'. Values owned by mixins are chained as shallow copies, so a mixin used in several
// places is never relinked. isotropic-pubsub chains its static `_dispatcherByEventName` this way.
//
// Also exports the chain walkers it is built on, shared with isotropic-initializable:
//     prototypeChain(object)                       object, its prototype, theirs, ...
//     mixinPrototypeChain.fromInstanceObject(o)    o, then its prototypes with mixins' prototypes
//     mixinPrototypeChain.fromPrototypeObject(p)   p and up, each followed by its class's mixins'
//     mixinPrototypeChain.fromStaticObject(C)      C and its parents, each followed by its mixins
import _Error from 'isotropic-error';
import _make from 'isotropic-make';

export const prototypeChain = function* (object) {
    for (let current = object; current; current = Reflect.getPrototypeOf(current)) {
        yield current;
    }
};

// Mixins are visited last first, so that a walk that keeps the first definition it meets
// agrees with the copy order of _make, where later mixins overwrite earlier ones.
const lastToFirst = function* (array) {
    for (let index = array.length - 1; index >= 0; index -= 1) {
        yield array[index];
    }
};

export const mixinPrototypeChain = {
    * fromInstanceObject (object) {
        yield object;
        yield* mixinPrototypeChain.fromPrototypeObject(Reflect.getPrototypeOf(object));
    },
    * fromPrototypeObject (prototypeObject) {
        for (const object of prototypeChain(prototypeObject)) {
            if (object === Object.prototype) {
                return;
            }

            yield object;

            const mixins = object.constructor?.mixins;

            if (Array.isArray(mixins)) {
                for (const mixin of lastToFirst(mixins)) {
                    for (const staticObject of mixinPrototypeChain.fromStaticObject(mixin)) {
                        yield staticObject.prototype;
                    }
                }
            }
        }
    },
    * fromStaticObject (staticObject) {
        for (const object of prototypeChain(staticObject)) {
            if (object === Object) {
                return;
            }

            yield object;

            if (Array.isArray(object.mixins)) {
                for (const mixin of lastToFirst(object.mixins)) {
                    yield* mixinPrototypeChain.fromStaticObject(mixin);
                }
            }
        }
    }
};

// The instance side and the static side differ only in where a chain ends, how an object's
// mixins are found and what of a mixin is walked.
const instanceSide = {
    endObject: Object.prototype,
    label: 'Instance',
    mixinsOf: object => object.constructor?.mixins,
    walkFrom: object => mixinPrototypeChain.fromInstanceObject(object),
    startOf: mixin => mixin.prototype
};

const staticSide = {
    endObject: Object,
    label: 'Static',
    mixinsOf: object => object.mixins,
    walkFrom: object => mixinPrototypeChain.fromStaticObject(object),
    startOf: mixin => mixin
};

const chainInitMethod = side => function ({
    propertyChainsIncludeMixins = true,
    propertyChainsPropertyName = '_propertyChains'
} = {}) {
    const propertyNameSet = new Set();

    for (const object of propertyChainsIncludeMixins ? side.walkFrom(this) : prototypeChain(this)) {
        if (object === side.endObject) {
            break;
        }

        if (Object.hasOwn(object, propertyChainsPropertyName)) {
            for (const propertyName of object[propertyChainsPropertyName]) {
                propertyNameSet.add(propertyName);
            }
        }
    }

    if (!propertyNameSet.size) {
        return this;
    }

    const chains = this._initPropertyChains({
        includeMixins: propertyChainsIncludeMixins,
        propertyNameSet
    });

    for (const propertyName of Object.keys(chains)) {
        const {
            objects,
            valueByObject
        } = chains[propertyName];

        let previousValue;

        for (const object of objects) {
            const value = valueByObject.get(object);

            if (previousValue && !Reflect.setPrototypeOf(previousValue, value)) {
                throw _Error({
                    details: {
                        propertyName
                    },
                    message: `${side.label} property chain could not be created`
                });
            }

            previousValue = value;
        }
    }

    return this;
};

// Collects, per property name, the objects that own an object or function value under that
// name, outermost last. An object met again (through a mixin reached twice) moves to the end.
const collectChainsMethod = side => function ({
    includeMixins,
    propertyChainsByPropertyName = {},
    propertyNameSet,
    startObject = this
}) {
    const fromMixin = startObject !== this;

    for (const object of prototypeChain(startObject)) {
        if (object === side.endObject) {
            break;
        }

        for (const propertyName of propertyNameSet) {
            if (!Object.hasOwn(object, propertyName)) {
                continue;
            }

            const value = object[propertyName];

            if (typeof value !== 'function' && typeof value !== 'object') {
                continue;
            }

            const chain = propertyChainsByPropertyName[propertyName] ||= {
                objects: [],
                valueByObject: new Map()
            };

            if (chain.valueByObject.has(object)) {
                chain.objects.splice(chain.objects.indexOf(object), 1);
            }

            chain.objects.push(object);
            chain.valueByObject.set(object, fromMixin ?
                {
                    ...value
                } :
                value);
        }

        if (includeMixins) {
            const mixins = side.mixinsOf(object);

            if (Array.isArray(mixins)) {
                for (const mixin of lastToFirst(mixins)) {
                    this._initPropertyChains({
                        includeMixins,
                        propertyChainsByPropertyName,
                        propertyNameSet,
                        startObject: side.startOf(mixin)
                    });
                }
            }
        }
    }

    return propertyChainsByPropertyName;
};

const _PropertyChainer = _make({
    _init: chainInitMethod(instanceSide),
    _initPropertyChains: collectChainsMethod(instanceSide)
}, {
    _init: chainInitMethod(staticSide),
    _initPropertyChains: collectChainsMethod(staticSide)
});

export default _PropertyChainer;
