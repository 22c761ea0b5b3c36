import _assert from 'node:assert/strict';
import {
    describe,
    it
} from 'node:test';
import {
    importBuiltin,
    importBuiltinModule
} from './builtins.mjs';

const _make = await importBuiltin('isotropic-make'),
    pubsubModule = await importBuiltinModule('isotropic-pubsub'),
    _Pubsub = pubsubModule.default;

// A made class whose events log every stage, with a complete function per event.
const makeRecorder = (staticPubsub = {}) => {
    const Recorder = _make(_Pubsub, {
        _eventComplete (event) {
            this.log.push(`complete ${event.name}`);
        },
        _init (...args) {
            Reflect.apply(_Pubsub.prototype._init, this, args);
            this.log = [];
            return this;
        }
    }, {
        _pubsub: staticPubsub
    });

    return Recorder;
};

const recordStages = (pubsub, eventName, stages = [
    'before',
    'on',
    'after'
]) => {
    for (const stageName of stages) {
        pubsub.subscribe(stageName, eventName, event => {
            pubsub.log.push(`${stageName} ${event.name}`);
        });
    }
};

describe('isotropic-pubsub', () => {
    it('constructs with and without new', () => {
        _assert.ok(new _Pubsub() instanceof _Pubsub);
        _assert.ok(_Pubsub() instanceof _Pubsub);
        _assert.equal(_Pubsub().destroyed, false);
    });

    it('runs stages before -> on -> complete -> after, in subscription order', () => {
        const Recorder = makeRecorder({
                work: {
                    allowPublicPublish: true,
                    completeFunction: '_eventComplete'
                }
            }),
            recorder = Recorder();

        recorder.after('work', () => recorder.log.push('after 1'));
        recorder.on('work', () => recorder.log.push('on 1'));
        recorder.before('work', () => recorder.log.push('before 1'));
        recorder.on('work', () => recorder.log.push('on 2'));
        recorder.publish('work');

        _assert.deepEqual(recorder.log, [
            'before 1',
            'on 1',
            'on 2',
            'complete work',
            'after 1'
        ]);
    });

    it('passes an event with data, name, publisher, stageName, distributor and completed', () => {
        const pubsub = _Pubsub(),
            seen = [];

        for (const stageName of [
            'before',
            'on',
            'after'
        ]) {
            pubsub.subscribe(stageName, 'e', event => {
                seen.push({
                    completed: event.completed,
                    data: event.data,
                    distributor: event.distributor === pubsub,
                    name: event.name,
                    publisher: event.publisher === pubsub,
                    stageName: event.stageName
                });
            });
        }

        pubsub.publish('e', {
            value: 1
        });

        _assert.deepEqual(seen.map(fact => fact.stageName), [
            'before',
            'on',
            'after'
        ]);
        _assert.deepEqual(seen.map(fact => fact.completed), [
            undefined,
            undefined,
            true
        ]);

        for (const fact of seen) {
            _assert.deepEqual(fact.data, {
                value: 1
            });
            _assert.equal(fact.name, 'e');
            _assert.equal(fact.publisher, true);
            _assert.equal(fact.distributor, true);
        }
    });

    it('nests events published from a complete function inside the outer event', () => {
        const Nested = _make(_Pubsub, {
                _eventOuter () {
                    this._publish('inner');
                },
                _init (...args) {
                    Reflect.apply(_Pubsub.prototype._init, this, args);
                    this.log = [];
                    return this;
                }
            }, {
                _pubsub: {
                    outer: {
                        completeFunction: '_eventOuter'
                    }
                }
            }),
            nested = Nested();

        recordStages(nested, 'outer', [
            'on',
            'after'
        ]);
        recordStages(nested, 'inner', [
            'on',
            'after'
        ]);
        nested._publish('outer');

        _assert.deepEqual(nested.log, [
            'on outer',
            'on inner',
            'after inner',
            'after outer'
        ]);
    });

    it('prevent() stops the complete stage and what follows; prevent(stage) only that stage', () => {
        const Recorder = makeRecorder({
                e: {
                    completeFunction: '_eventComplete',
                    preventFunction (event) {
                        this.log.push(`prevented at ${event.stageName}`);
                    }
                }
            }),
            first = Recorder(),
            second = Recorder();

        recordStages(first, 'e');
        first.on('e', event => {
            event.prevent().prevent();
            first.log.push(`isPrevented ${event.isPrevented()}`);
        });
        first._publish('e');

        _assert.deepEqual(first.log, [
            'before e',
            'on e',
            'isPrevented true',
            'prevented at complete'
        ]);

        recordStages(second, 'e');
        second.before('e', event => {
            event.prevent('on');
        });
        second._publish('e');

        _assert.deepEqual(second.log, [
            'before e',
            'prevented at on'
        ]);
    });

    it('respects preventable: false and a Set of preventable stages', () => {
        const Recorder = makeRecorder({
                fixed: {
                    completeFunction: '_eventComplete',
                    preventable: false
                },
                partial: {
                    completeFunction: '_eventComplete',
                    preventable: new Set([
                        'after'
                    ])
                }
            }),
            recorder = Recorder();

        recorder.on('fixed', event => {
            event.prevent();
        });
        recorder.on('partial', event => {
            event.prevent().prevent('after');
        });
        recordStages(recorder, 'partial', [
            'after'
        ]);
        recorder._publish('fixed');
        recorder._publish('partial');

        _assert.deepEqual(recorder.log, [
            'complete fixed',
            'complete partial'
        ]);
    });

    it('stopEvent() ends the event after the current stage', () => {
        const Recorder = makeRecorder({
                e: {
                    completeFunction: '_eventComplete'
                }
            }),
            recorder = Recorder();

        recorder.on('e', event => {
            event.stopEvent();
        });
        recordStages(recorder, 'e');
        recorder._publish('e');

        _assert.deepEqual(recorder.log, [
            'before e',
            'on e'
        ], 'the rest of the on stage still runs; complete and after do not');
    });

    it('stopDispatch() skips the remaining subscribers of the stage only', () => {
        const Recorder = makeRecorder({
                e: {
                    completeFunction: '_eventComplete'
                }
            }),
            recorder = Recorder();

        recorder.on('e', event => {
            recorder.log.push('on 1');
            event.stopDispatch();
        });
        recorder.on('e', () => recorder.log.push('on 2'));
        recorder.after('e', () => recorder.log.push('after 1'));
        recorder._publish('e');

        _assert.deepEqual(recorder.log, [
            'on 1',
            'complete e',
            'after 1'
        ]);
    });

    it('calls subscriptions added to a running stage, and not removed ones', () => {
        const pubsub = _Pubsub(),
            log = [];

        let second;

        pubsub.on('e', () => {
            log.push('first');
            pubsub.on('e', () => log.push('added'));
            second.unsubscribe();
        });
        second = pubsub.on('e', () => log.push('second'));
        pubsub.publish('e');

        _assert.deepEqual(log, [
            'first',
            'added'
        ]);
    });

    it('supports once subscriptions and event.unsubscribe()', () => {
        const pubsub = _Pubsub(),
            log = [];

        pubsub.onceOn('e', () => log.push('once'));
        pubsub.onceAfter('e', {
            callbackFunction: () => log.push('once after')
        });
        pubsub.on('e', event => {
            log.push('self-removing');
            _assert.equal(event.unsubscribe(), true);
        });
        pubsub.publish('e');
        pubsub.publish('e');

        _assert.deepEqual(log, [
            'once',
            'self-removing',
            'once after'
        ]);
    });

    it('returns subscription handles', () => {
        const pubsub = _Pubsub(),
            log = [],
            subscription = pubsub.on('e', () => log.push('x'));

        _assert.equal(subscription.subscribed, true);
        _assert.equal(subscription.unsubscribe(), true);
        _assert.equal(subscription.subscribed, false);
        _assert.equal(subscription.unsubscribe(), true, 'a second unsubscribe is harmless');
        pubsub.publish('e');
        _assert.deepEqual(log, []);
    });

    it('accepts object, array and method-name subscriptions', () => {
        const Named = _make(_Pubsub, {
                handle (event) {
                    this.log.push(`handle ${event.name}`);
                },
                _init (...args) {
                    Reflect.apply(_Pubsub.prototype._init, this, args);
                    this.log = [];
                    return this;
                }
            }),
            named = Named(),
            other = {
                log: [],
                handle () {
                    this.log.push('other host');
                }
            },
            subscription = named.on({
                a (event) {
                    this.log.push(`object ${event.name}`);
                },
                b: [
                    'handle',
                    {
                        callbackFunction: 'handle',
                        host: other
                    }
                ]
            });

        named.on([
            'c',
            'd'
        ], 'handle');
        named.on('e', 'noSuchMethod');
        named.publish('a');
        named.publish('b');
        named.publish('c');
        named.publish('d');
        named.publish('e');

        _assert.deepEqual(named.log, [
            'object a',
            'handle b',
            'handle c',
            'handle d'
        ]);
        _assert.deepEqual(other.log, [
            'other host'
        ]);
        _assert.equal(subscription.subscribed, true, 'a handle over the three subscriptions');
        subscription.unsubscribe();
        _assert.equal(subscription.subscribed, false);
        named.publish('a');
        _assert.equal(named.log.length, 4);
    });

    it('replays a publishOnce event to late subscribers unless it was prevented', () => {
        const Recorder = makeRecorder({
                done: {
                    completeFunction: '_eventComplete',
                    publishOnce: true
                },
                failed: {
                    completeFunction: '_eventComplete',
                    publishOnce: true
                }
            }),
            recorder = Recorder();

        recordStages(recorder, 'done', [
            'on'
        ]);
        recorder.on('failed', event => {
            event.prevent();
        });
        recorder._publish('done', {
            n: 1
        });
        recorder._publish('done', {
            n: 2
        });
        recorder._publish('failed');

        _assert.deepEqual(recorder.log, [
            'on done',
            'complete done'
        ]);

        const replayed = [],
            subscription = recorder.after('done', event => {
                replayed.push([
                    event.stageName,
                    event.data.n
                ]);
            });

        recorder.on('failed', () => replayed.push('failed'));
        replayed.push('returned');

        _assert.deepEqual(replayed, [
            [
                'after',
                1
            ],
            'returned'
        ]);
        _assert.equal(subscription.subscribed, false, 'a replayed subscription is not kept');
    });

    it('replays a publishOnce event to subscribers added while it runs', () => {
        const Recorder = makeRecorder({
                done: {
                    publishOnce: true
                }
            }),
            recorder = Recorder();

        recorder.on('done', () => {
            recorder.after('done', event => {
                recorder.log.push(`replayed at ${event.stageName}`);
            });
        });
        recorder._publish('done');

        _assert.deepEqual(recorder.log, [
            'replayed at on'
        ]);
    });

    it('completes a completeOnce event once; a prevented one may be published again', () => {
        const Recorder = makeRecorder({
                start: {
                    completeFunction: '_eventComplete',
                    completeOnce: true
                }
            }),
            recorder = Recorder();

        recordStages(recorder, 'start', [
            'on'
        ]);

        const preventing = recorder.on('start', event => {
            event.prevent();
        });

        recorder._publish('start');
        preventing.unsubscribe();
        recorder._publish('start');
        recorder._publish('start');

        _assert.deepEqual(recorder.log, [
            'on start',
            'on start',
            'complete start'
        ]);
    });

    it('limits public publish and public unsubscription to what the dispatcher allows', () => {
        const Recorder = makeRecorder({
                guarded: {
                    completeFunction: '_eventComplete'
                }
            }),
            recorder = Recorder();

        recordStages(recorder, 'guarded', [
            'on'
        ]);
        recordStages(recorder, 'open', [
            'on'
        ]);
        recorder.publish('guarded');
        recorder.publish('open');
        recorder._publish('guarded');

        _assert.deepEqual(recorder.log, [
            'on open',
            'on guarded',
            'complete guarded'
        ]);

        _assert.equal(recorder.bulkUnsubscribe('on', 'guarded'), false);
        _assert.equal(recorder.bulkUnsubscribe('on', 'open'), true);
        _assert.equal(recorder._bulkUnsubscribe('on', 'guarded'), true);
        recorder.log.length = 0;
        recorder._publish('guarded');
        recorder.publish('open');
        _assert.deepEqual(recorder.log, [
            'complete guarded'
        ]);
    });

    it('bulk-unsubscribes by event, by stage and entirely', () => {
        const pubsub = _Pubsub(),
            log = [];

        for (const eventName of [
            'a',
            'b',
            'c'
        ]) {
            pubsub.on(eventName, () => log.push(`on ${eventName}`));
            pubsub.after(eventName, () => log.push(`after ${eventName}`));
        }

        _assert.equal(pubsub.bulkUnsubscribe('a'), true);
        _assert.equal(pubsub.bulkUnsubscribe([
            {
                eventName: 'b',
                stageName: 'on'
            }
        ]), true);
        _assert.equal(pubsub.bulkUnsubscribe('nothing'), false);

        for (const eventName of [
            'a',
            'b',
            'c'
        ]) {
            pubsub.publish(eventName);
        }

        _assert.deepEqual(log, [
            'after b',
            'on c',
            'after c'
        ]);
        _assert.equal(pubsub.bulkUnsubscribe(), true);
        log.length = 0;
        pubsub.publish('c');
        _assert.deepEqual(log, []);
    });

    it('distributes events to distributors after the publisher, and stops distribution', () => {
        const source = _Pubsub(),
            middle = _Pubsub(),
            sink = _Pubsub(),
            log = [];

        source.addDistributor(middle);
        middle.addDistributor([
            sink,
            source
        ]);

        for (const [
            label,
            pubsub
        ] of [
            [
                'source',
                source
            ],
            [
                'middle',
                middle
            ],
            [
                'sink',
                sink
            ]
        ]) {
            pubsub.on('e', event => {
                log.push(`${label} (distributor ${event.distributor === pubsub}, publisher ${event.publisher === source})`);

                if (label === 'middle' && event.data && event.data.stop) {
                    event.stopDistribution();
                }
            });
        }

        source.publish('e');
        source.publish('e', {
            stop: true
        });
        source.removeDistributor(middle);
        source.publish('e');

        _assert.deepEqual(log, [
            'source (distributor true, publisher true)',
            'middle (distributor true, publisher true)',
            'sink (distributor true, publisher true)',
            'source (distributor true, publisher true)',
            'middle (distributor true, publisher true)',
            'source (distributor true, publisher true)'
        ]);
    });

    it('defines dispatchers on instances and classes', () => {
        const log = [],
            pubsub = _Pubsub({
                pubsub: {
                    custom: {
                        completeFunction: () => log.push('option complete')
                    }
                }
            });

        pubsub.defineDispatcher('later', {
            allowPublicPublish: true,
            completeFunction: () => log.push('defined complete'),
            data: {
                fromConfig: true
            }
        });
        pubsub.on('later', event => log.push(`data ${JSON.stringify(event.data)}`));
        pubsub._publish('custom');
        pubsub.publish('later', {
            published: true
        });

        _assert.deepEqual(log, [
            'option complete',
            'data {"fromConfig":true,"published":true}',
            'defined complete'
        ]);
        _assert.equal(typeof pubsubModule.Dispatcher, 'function');
        _assert.ok(pubsub._getDispatcher('later') instanceof pubsubModule.Dispatcher);
    });

    it('chains static _pubsub configuration through parents and mixins without touching parents', () => {
        const Base = makeRecorder({
                base: {
                    completeFunction: '_eventComplete'
                }
            }),
            Mixin = _make(_Pubsub, {}, {
                _pubsub: {
                    mixed: {
                        completeFunction: '_eventComplete'
                    }
                }
            }),
            Derived = _make(Base, [
                Mixin
            ], {}, {
                _pubsub: {
                    base: {
                        completeFunction: () => {}
                    },
                    derived: {
                        completeFunction: '_eventComplete'
                    }
                }
            }),
            derived = Derived(),
            base = Base();

        derived._publish('base');
        derived._publish('mixed');
        derived._publish('derived');
        base._publish('base');
        base._publish('derived');

        _assert.deepEqual(derived.log, [
            'complete mixed',
            'complete derived'
        ]);
        _assert.deepEqual(base.log, [
            'complete base'
        ]);
    });

    it('destroys: destroy (completeOnce) -> destroyComplete, then drops all subscriptions', () => {
        const log = [],
            Destroyable = _make(_Pubsub, {
                _destroyComplete (...args) {
                    log.push(`_destroyComplete ${JSON.stringify(args)}`);
                }
            }),
            pubsub = Destroyable();

        for (const eventName of [
            'destroy',
            'destroyComplete'
        ]) {
            pubsub.on(eventName, () => log.push(`on ${eventName}`));
            pubsub.after(eventName, () => log.push(`after ${eventName}`));
        }

        pubsub.destroy('x');

        _assert.deepEqual(log, [
            'on destroy',
            'on destroyComplete',
            '_destroyComplete ["x"]',
            'after destroyComplete'
        ], 'after destroy is gone with the subscriptions');
        _assert.equal(pubsub.destroyed, true);
        _assert.throws(() => pubsub.publish('e'), TypeError);
    });

    it('adds custom stage shortcut methods', () => {
        const Staged = _make(_Pubsub, {}, {
                _pubsub: {
                    e: {
                        allowPublicPublish: true,
                        stages: [
                            'first',
                            'second'
                        ]
                    }
                },
                _subscriptionMethods: [
                    'first',
                    'second'
                ]
            }),
            staged = Staged(),
            log = [];

        staged.second('e', () => log.push('second'));
        staged.onceFirst('e', () => log.push('first'));
        staged._second('e', () => log.push('protected second'));
        staged.publish('e');
        staged.publish('e');

        _assert.deepEqual(log, [
            'first',
            'second',
            'protected second',
            'second',
            'protected second'
        ]);
    });

    it('calls subscribe and unsubscribe lifecycle functions, which may refuse', () => {
        const refused = _Pubsub({
            pubsub: {
                e: {
                    subscribeFunction: () => false,
                    unsubscribeFunction: () => false
                },
                f: {
                    unsubscribeFunction: () => false
                }
            }
        });

        _assert.equal(refused.subscribe('on', 'e', () => {}).subscribed, undefined);
        _assert.equal(refused.on('e', () => {}).subscribed, false);

        const kept = refused.on('f', () => {});

        _assert.equal(kept.unsubscribe(), false);
        _assert.equal(kept.subscribed, true);
    });

    // The fast publish path must keep these exactly (see the performance note in the module).
    describe('dispatch semantics the fast path keeps', () => {
        it('walks a stage as a Map iterator would: added ones run, removed ones do not', () => {
            const pubsub = _Pubsub(),
                log = [],
                handles = [];

            for (let index = 0; index < 6; index += 1) {
                handles.push(pubsub.on('e', () => {
                    log.push(index);

                    if (index === 0) {
                        // Remove most (several dead entries at once), then add two.
                        for (const other of [
                            2,
                            3,
                            4
                        ]) {
                            handles[other].unsubscribe();
                        }

                        pubsub.on('e', () => log.push('added a'));
                        pubsub.on('e', () => log.push('added b'));
                    }
                }));
            }

            pubsub.publish('e');
            pubsub.publish('e');

            _assert.deepEqual(log, [
                0,
                1,
                5,
                'added a',
                'added b',
                0,
                1,
                5,
                'added a',
                'added b',
                'added a',
                'added b'
            ]);
        });

        it('does not call, in the same run, a subscription made after the stage was emptied', () => {
            const emptied = _Pubsub(),
                kept = _Pubsub(),
                log = [];

            // The only subscriber leaves, then subscribes another: a new stage list, not seen.
            emptied.onceOn('e', () => {
                log.push('emptied once');
                emptied.on('e', () => log.push('emptied new'));
            });
            // With a second subscriber still there, the new one joins the running list.
            kept.onceOn('e', () => {
                log.push('kept once');
                kept.on('e', () => log.push('kept new'));
            });
            kept.on('e', () => log.push('kept other'));

            emptied.publish('e');
            kept.publish('e');

            _assert.deepEqual(log, [
                'emptied once',
                'kept once',
                'kept other',
                'kept new'
            ]);
        });

        it('keeps nested publishes of the same event and unsubscriptions consistent', () => {
            const pubsub = _Pubsub(),
                log = [];

            let depth = 0,
                second;

            pubsub.on('e', event => {
                log.push(`first ${depth}`);

                if (depth === 0) {
                    depth += 1;
                    second.unsubscribe();
                    pubsub.publish('e');
                    depth -= 1;
                    event.unsubscribe();
                }
            });
            second = pubsub.on('e', () => log.push(`second ${depth}`));
            pubsub.on('e', () => log.push(`third ${depth}`));

            pubsub.publish('e');
            pubsub.publish('e');

            _assert.deepEqual(log, [
                'first 0',
                'first 1',
                'third 1',
                'third 0',
                'third 0'
            ]);
        });

        it('recovers from a subscriber that throws', () => {
            const pubsub = _Pubsub(),
                log = [],
                handles = [];

            let fail = true;

            for (let index = 0; index < 4; index += 1) {
                handles.push(pubsub.on('e', () => {
                    log.push(index);

                    if (index === 1 && fail) {
                        throw new Error('subscriber failed');
                    }
                }));
            }

            _assert.throws(() => pubsub.publish('e'), /subscriber failed/u);
            fail = false;
            handles[0].unsubscribe();
            handles[2].unsubscribe();
            pubsub.on('e', () => log.push('added'));
            pubsub.publish('e');

            _assert.deepEqual(log, [
                0,
                1,
                1,
                3,
                'added'
            ]);
        });

        it('lets event.unsubscribe() remove the subscriber called last, and nothing in complete', () => {
            const Publisher = _make(_Pubsub, {
                    _eventWork (event) {
                        results.push(`complete ${event.unsubscribe()}`);
                    }
                }, {
                    _pubsub: {
                        work: {
                            allowPublicPublish: true,
                            completeFunction: '_eventWork'
                        }
                    }
                }),
                publisher = Publisher(),
                results = [];

            let kept;

            publisher.on('work', event => {
                kept = event;
                results.push('on');
            });
            publisher.after('work', () => results.push('after'));
            publisher.publish('work');
            // The after subscriber was the last called: it is the one removed.
            results.push(`later ${kept.unsubscribe()}`);
            publisher.publish('work');

            _assert.deepEqual(results, [
                'on',
                'complete false',
                'after',
                'later true',
                'on',
                'complete false'
            ]);
            _assert.equal(kept.stageName, 'after');
            _assert.equal(kept.completed, true);
            _assert.equal(kept.eventStopped, undefined);
            _assert.equal(kept.dispatchStopped, false);
            _assert.deepEqual(Object.getOwnPropertyNames(kept), [
                'constructor',
                '_config'
            ], 'an event is a made instance, with its config');
            _assert.equal(Object.getOwnPropertyDescriptor(kept, 'constructor').enumerable, false);
            _assert.equal(kept.constructor, pubsubModule.Event);
        });

        it('still calls overriding methods along the publish path', () => {
            const calls = [],
                LoggingDispatcher = _make(pubsubModule.Dispatcher, {
                    publish (config) {
                        calls.push(`publish ${config.eventName}`);

                        return Reflect.apply(pubsubModule.Dispatcher.prototype.publish, this, [
                            config
                        ]);
                    },
                    _callLifecycleFunction (name, ...args) {
                        calls.push(name);

                        return Reflect.apply(pubsubModule.Dispatcher.prototype._callLifecycleFunction, this, [
                            name,
                            ...args
                        ]);
                    }
                }),
                Overriding = _make(_Pubsub, {
                    _eventWork () {
                        calls.push('complete');
                    },
                    _getDispatcher (eventName) {
                        calls.push(`getDispatcher ${String(eventName)}`);

                        return Reflect.apply(_Pubsub.prototype._getDispatcher, this, [
                            eventName
                        ]);
                    },
                    _getDistributionPath (eventName) {
                        calls.push(`getDistributionPath ${eventName}`);

                        return Reflect.apply(_Pubsub.prototype._getDistributionPath, this, [
                            eventName
                        ]);
                    },
                    _getEventState (eventName) {
                        calls.push(`getEventState ${eventName}`);

                        return Reflect.apply(_Pubsub.prototype._getEventState, this, [
                            eventName
                        ]);
                    }
                }, {
                    _pubsub: {
                        work: {
                            allowPublicPublish: true,
                            completeFunction: '_eventWork',
                            Dispatcher: LoggingDispatcher
                        }
                    }
                }),
                overriding = Overriding();

            overriding.on('work', () => calls.push('on'));
            calls.length = 0;
            overriding.publish('work');

            _assert.deepEqual(calls, [
                'getDispatcher work',
                'getEventState work',
                'publish work',
                'getDistributionPath work',
                'getEventState work',
                'on',
                'completeFunction',
                'complete'
            ]);
        });
    });
});
