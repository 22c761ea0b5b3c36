import _assert from 'node:assert/strict';
import {
    describe,
    it
} from 'node:test';
import {
    importBuiltin
} from './builtins.mjs';

const _make = await importBuiltin('isotropic-make');

describe('isotropic-make', () => {
    it('makes a constructor callable with and without new', () => {
        const Point = _make({
            _init (x, y) {
                this.x = x;
                this.y = y;
                return this;
            },
            sum () {
                return this.x + this.y;
            }
        });

        for (const point of [
            new Point(1, 2),
            Point(1, 2)
        ]) {
            _assert.ok(point instanceof Point);
            _assert.equal(point.sum(), 3);
            _assert.equal(point.constructor, Point);
            _assert.ok(Object.hasOwn(point, 'constructor'), 'instances own a non-enumerable constructor');
            _assert.deepEqual(Object.keys(point), [
                'x',
                'y'
            ]);
        }
    });

    it('makes anonymous constructors with the bookkeeping properties', () => {
        const Base = _make({}),
            Derived = _make(Base, {});

        _assert.equal(Base.name, '');
        _assert.equal(Derived.name, '');
        _assert.equal(Derived.super_, Base);
        _assert.equal(Derived.superclass, Base.prototype);
        _assert.equal(Derived.mixins, null);
        _assert.equal(Object.getPrototypeOf(Derived), Base);
    });

    it('returns what _init returns, or the bare instance without _init', () => {
        const Bare = _make({
                a: 1
            }),
            Other = _make({
                _init () {
                    return 'other';
                }
            });

        _assert.equal(Bare().a, 1);
        _assert.equal(Other(), 'other');
        _assert.equal(new Other() instanceof Other, true, 'new with a primitive result gives the new object');
    });

    it('inherits methods, accessors and statics and allows super calls through prototypes', () => {
        const Animal = _make({
                get kind () {
                    return 'animal';
                },
                speak () {
                    return `${this.kind} sound`;
                },
                _init (name) {
                    this.name = name;
                    return this;
                }
            }, {
                create (name) {
                    return this(name);
                }
            }),
            Dog = _make(Animal, {
                get kind () {
                    return 'dog';
                },
                speak () {
                    return `${Reflect.apply(Animal.prototype.speak, this, [])}: woof`;
                }
            }),
            dog = Dog.create('rex');

        _assert.ok(dog instanceof Dog);
        _assert.ok(dog instanceof Animal);
        _assert.equal(dog.name, 'rex', 'the inherited _init runs');
        _assert.equal(dog.speak(), 'dog sound: woof');
    });

    it('mixes prototypes and statics of mixins, later ones winning, own ones last', () => {
        const A = _make({
                a: 'a',
                x: 'a'
            }, {
                sa: 'a',
                sx: 'a'
            }),
            B = _make({
                b: 'b',
                x: 'b'
            }, {
                sb: 'b',
                sx: 'b'
            }),
            C = _make([
                A,
                B
            ], {
                c: 'c'
            }, {
                sc: 'c'
            }),
            c = C();

        _assert.deepEqual(C.mixins, [
            A,
            B
        ]);
        _assert.deepEqual([
            c.a,
            c.b,
            c.c,
            c.x
        ], [
            'a',
            'b',
            'c',
            'b'
        ]);
        _assert.deepEqual([
            C.sa,
            C.sb,
            C.sc,
            C.sx
        ], [
            'a',
            'b',
            'c',
            'b'
        ]);
        _assert.equal(c instanceof A, false, 'a mixin is not a parent');
        _assert.equal(C.prototype.constructor, C);
    });

    it('calls the static _init with its arguments and returns its result', () => {
        let seen;

        const Made = _make({}, {
            _init (...args) {
                seen = {
                    args,
                    self: this
                };
                return this;
            }
        }, [
            1,
            2
        ]);

        _assert.equal(seen.self, Made);
        _assert.deepEqual(seen.args, [
            1,
            2
        ]);
        _assert.equal(_make({}, {
            _init () {
                return 'static result';
            }
        }), 'static result');
    });

    it('accepts custom init names and functions', () => {
        const Named = _make({
                setUp (value) {
                    this.value = value;
                    return this;
                }
            }, {}, 'setUp'),
            Direct = _make({}, function (value) {
                this.value = value * 2;
                return this;
            }),
            WithStatic = _make({}, {
                prepare (value) {
                    this.prepared = value;
                    return this;
                }
            }, '_init', 'prepare', [
                'yes'
            ]);

        _assert.equal(Named(3).value, 3);
        _assert.equal(Direct(3).value, 6);
        _assert.equal(WithStatic.prepared, 'yes');
    });
});
