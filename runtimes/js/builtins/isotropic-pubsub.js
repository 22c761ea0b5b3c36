// isotropic-pubsub: staged, synchronous events for made classes.
//
// isowasm's own implementation of the isotropic-pubsub API (v0.15 behaviour).
//
// Publishing an event runs its stages in order, by default before -> on -> complete -> after.
// The complete stage calls the event's completeFunction (the object's own default action);
// every other stage calls that stage's subscribers on the publisher and then on each of its
// distributors. Everything runs synchronously inside publish, so an event published from a
// subscriber or a complete function nests inside the outer one.
//
// Per-event behaviour comes from a Dispatcher configured by the class's static `_pubsub`
// (chained along parents and mixins), by `defineDispatcher`, or by the `pubsub` constructor
// option. Events without a dispatcher of their own use the default one, which allows public
// publish and public unsubscription. Dispatcher options:
//   allowDuplicateSubscription (true)  allowPublicPublish (false)   allowPublicSubscription (true)
//   allowPublicUnsubscription (false)  completeOnce (false)         publishOnce (false)
//   dispatchStoppable (true)           distributable (true)         distributionStoppable (true)
//   eventStoppable (true)              preventable (true, or a Set of preventable stage names)
//   stages (['before', 'on', 'complete', 'after'])   data (merged under published data)
//   lifecycleHost, Event, Subscription, and the lifecycle functions completeFunction,
//   preventFunction, stopDispatchFunction, stopDistributionFunction, stopEventFunction,
//   subscribeFunction (may return false to refuse, or a subscription), unsubscribeFunction
//   (may return false to refuse). A lifecycle or callback function may be given as the name of
//   a method, looked up on its host when it is called.
//
// publishOnce and completeOnce events remember their event; later publishes do nothing and a
// later subscriber is called at once with the remembered event unless it was prevented at the
// stage where it stopped.
//
// Performance (goja runs this for every message a worker receives): publish is the hot path.
// When the pubsub's, the dispatcher's and the Event's methods are the stock ones, publish
// takes a path that allocates only the event and its config: no argument objects, no
// distribution-path Map, no unsubscribe closure per subscriber, no iterators, and stages
// without subscribers cost a property read. Anything overridden takes the general path,
// which calls the overriding methods exactly as before.

import _make from 'isotropic-make';
import _PropertyChainer from 'isotropic-property-chainer';

const defaultEventName = Symbol('default');

const functionCall = Function.prototype.call;

// Calls a callback given as a function, or as the name of a method of host.
const callCallback = (callback, host, args) => {
    switch (typeof callback) {
        case 'function':
            return Reflect.apply(callback, host, args);
        case 'string':
        case 'symbol': {
            const method = host[callback];

            if (typeof method === 'function') {
                return Reflect.apply(method, host, args);
            }
        }
    }

    return undefined;
};

// callCallback with one argument and no arguments array (Function.prototype.call, unless a
// function's call is not the standard one).
const callCallbackWith = (callback, host, argument) => {
    let method;

    switch (typeof callback) {
        case 'function':
            method = callback;
            break;
        case 'string':
        case 'symbol':
            method = host[callback];

            if (typeof method !== 'function') {
                return undefined;
            }

            break;
        default:
            return undefined;
    }

    return method.call === functionCall ?
        method.call(host, argument) :
        Reflect.apply(method, host, [
            argument
        ]);
};

// The subscriptions of one stage of one event on one publisher, in subscription order.
// Subscribing appends an entry; unsubscribing marks its entry dead. A dispatch walks the
// entries by index, so (as with a Map iterator) it calls entries added while it runs and skips
// entries removed before it reaches them. Dead entries are dropped only while nothing walks
// the list. byId maps subscription ids (symbols) to live entries, size counts them; the list
// is removed from its state when the last one goes, so a subscription made after that starts
// a new list, which a dispatch still walking the old one does not see.
const newSubscriptionList = () => ({
    byId: {
        __proto__: null
    },
    dead: 0,
    entries: [],
    size: 0,
    walking: 0
});

const compactSubscriptionList = list => {
    const entries = list.entries;

    let kept = 0;

    for (let index = 0; index < entries.length; index += 1) {
        const entry = entries[index];

        if (entry.live) {
            entries[kept] = entry;
            kept += 1;
        }
    }

    entries.length = kept;
    list.dead = 0;
};

const endWalk = list => {
    list.walking -= 1;

    if (list.walking === 0 && list.dead !== 0) {
        compactSubscriptionList(list);
    }
};

export const Event = _make({
    get completed () {
        return this._config.completed;
    },
    get data () {
        return this._config.data;
    },
    get dispatchStopped () {
        return this._config.dispatchStopped;
    },
    get distributionStopped () {
        return this._config.distributionStopped;
    },
    get distributor () {
        return this._config.distributor;
    },
    get eventStopped () {
        return this._config.eventStopped;
    },
    isPrevented (stageName = 'complete') {
        return this._config.prevented ? this._config.prevented.has(stageName) : false;
    },
    get name () {
        return this._config.name;
    },
    prevent (stageName = 'complete') {
        const preventable = this._config.preventable;

        if (preventable && !(preventable instanceof Set && !preventable.has(stageName))) {
            (this._config.prevented ||= new Set()).add(stageName);
        }

        return this;
    },
    get publisher () {
        return this._config.publisher;
    },
    get stageName () {
        return this._config.stageName;
    },
    stopDispatch () {
        if (this._config.dispatchStoppable) {
            this._config.dispatchStopped = true;
        }

        return this;
    },
    stopDistribution () {
        if (this._config.distributionStoppable) {
            this._config.distributionStopped = true;
        }

        return this;
    },
    stopEvent () {
        if (this._config.eventStoppable) {
            this._config.eventStopped = true;
        }

        return this;
    },
    // During a dispatch with the stock Event, _subscription names the subscription being
    // called (and _dispatcher the publishing dispatcher) instead of an unsubscribe closure.
    unsubscribe () {
        const config = this._config,
            subscription = config._subscription;

        if (subscription) {
            return config._dispatcher._unsubscribe(subscription);
        }

        return typeof config.unsubscribe === 'function' ? config.unsubscribe() : false;
    },
    _init (config = {}) {
        this._config = config;

        return this;
    }
});

const EventPrototype = Event.prototype,
    eventInit = EventPrototype._init,
    // What a made constructor gives each instance: its own non-enumerable constructor.
    eventConstructorProperty = {
        configurable: true,
        enumerable: false,
        value: Event,
        writable: true
    },
    // Per dispatcher, the prototype of its stock events' configs: the dispatcher's flags and
    // the values every event starts with.
    eventConfigPrototypes = new WeakMap();

// The last dispatcher asked for and its prototype, before the WeakMap.
let lastDispatcher = null,
    lastEventConfigPrototype = null;

const eventConfigPrototypeOf = (dispatcher, options) => {
    let prototype = dispatcher === lastDispatcher ? lastEventConfigPrototype : eventConfigPrototypes.get(dispatcher);

    if (prototype === undefined || prototype.dispatchStoppable !== options.dispatchStoppable || prototype.distributionStoppable !== options.distributionStoppable || prototype.eventStoppable !== options.eventStoppable || prototype.preventable !== options.preventable) {
        prototype = {
            __proto__: null,
            dispatchStoppable: options.dispatchStoppable,
            dispatchStopped: false,
            distributionStoppable: options.distributionStoppable,
            distributionStopped: false,
            eventStoppable: options.eventStoppable,
            preventable: options.preventable,
            _dispatcher: dispatcher,
            _subscription: null
        };
        eventConfigPrototypes.set(dispatcher, prototype);
    }

    lastDispatcher = dispatcher;
    lastEventConfigPrototype = prototype;

    return prototype;
};

// A subscription handle. One made without a config (a refused, replayed or empty
// subscription) is not subscribed, and unsubscribing it reports success.
export const Subscription = _make({
    get subscribed () {
        return this._config.subscribed;
    },
    unsubscribe () {
        if (!this._config.subscribed) {
            return true;
        }

        return typeof this._config.unsubscribe === 'function' ? this._config.unsubscribe() : false;
    },
    _init (config = {}) {
        this._config = config;

        return this;
    }
});

const ownDistributionPath = {};

// Set once Dispatcher and Pubsub are made: their stock methods, which the fast paths stand in for.
let dispatcherPublish,
    dispatcherCallLifecycleFunction,
    pubsubGetDispatcher,
    pubsubGetDistributionPath,
    pubsubGetEventState;

// dispatcher._callLifecycleFunction(name, lifecycleHost, event).
const callLifecycleFunction = (dispatcher, name, lifecycleHost, event) => {
    if (dispatcher._callLifecycleFunction === dispatcherCallLifecycleFunction) {
        const callback = dispatcher._config[name];

        return callback === undefined ? undefined : callCallbackWith(callback, lifecycleHost === undefined ? dispatcher : lifecycleHost, event);
    }

    return dispatcher._callLifecycleFunction(name, lifecycleHost, event);
};

// Calls the subscriptions of one list (one distributor's, at one stage) until dispatch stops.
const dispatchList = (dispatcher, list, distributor, eventConfig, event, stockEvent, lifecycleHost) => {
    const entries = list.entries;

    eventConfig.distributor = distributor;
    list.walking += 1;

    try {
        for (let index = 0; index < entries.length; index += 1) {
            const entry = entries[index];

            if (!entry.live) {
                continue;
            }

            const subscription = entry.config;

            if (stockEvent) {
                eventConfig._subscription = subscription;
            } else {
                eventConfig.unsubscribe = () => dispatcher._unsubscribe(subscription);
            }

            callCallbackWith(subscription.callbackFunction, subscription.host === undefined ? dispatcher : subscription.host, event);

            if (stockEvent ? eventConfig.dispatchStopped : event.dispatchStopped) {
                callLifecycleFunction(dispatcher, 'stopDispatchFunction', lifecycleHost, event);
                break;
            }
        }
    } finally {
        list.walking -= 1;

        if (list.walking === 0 && list.dead !== 0) {
            compactSubscriptionList(list);
        }
    }

    return stockEvent ? eventConfig.distributionStopped : event.distributionStopped;
};

// Calls one stage's subscribers, publisher first, then each distributor. Subscriptions added
// to a stage while it runs are called in the same run; removed ones are not. Dispatch stopped
// in one distributor's subscribers still lets the next distributor's first subscriber run.
// The distribution path is the publisher alone with ownState (distributors null), parallel
// arrays (distributors, states), or a Map from an overriding _getDistributionPath (pathMap).
const dispatchStage = (dispatcher, stageName, publisher, ownState, distributors, states, pathMap, eventConfig, event, stockEvent, lifecycleHost) => {
    if (pathMap !== null) {
        for (const [
            distributor,
            state
        ] of pathMap) {
            const list = state.subscriptions[stageName];

            if (list && dispatchList(dispatcher, list, distributor, eventConfig, event, stockEvent, lifecycleHost)) {
                callLifecycleFunction(dispatcher, 'stopDistributionFunction', lifecycleHost, event);
                break;
            }
        }
    } else if (distributors === null) {
        const list = ownState.subscriptions[stageName];

        if (list && dispatchList(dispatcher, list, publisher, eventConfig, event, stockEvent, lifecycleHost)) {
            callLifecycleFunction(dispatcher, 'stopDistributionFunction', lifecycleHost, event);
        }
    } else {
        for (let index = 0; index < distributors.length; index += 1) {
            const list = states[index].subscriptions[stageName];

            if (list && dispatchList(dispatcher, list, distributors[index], eventConfig, event, stockEvent, lifecycleHost)) {
                callLifecycleFunction(dispatcher, 'stopDistributionFunction', lifecycleHost, event);
                break;
            }
        }
    }
};

// Runs one stage; true ends the event.
const runStage = (dispatcher, options, stageName, publisher, state, ownState, distributors, states, pathMap, eventConfig, event, stockEvent, lifecycleHost) => {
    if (stockEvent) {
        if (eventConfig.dispatchStopped) {
            eventConfig.dispatchStopped = false;
        }

        if (eventConfig.distributionStopped) {
            eventConfig.distributionStopped = false;
        }
    } else {
        eventConfig.dispatchStopped = false;
        eventConfig.distributionStopped = false;
    }

    eventConfig.stageName = stageName;

    if (stockEvent ? eventConfig.prevented && eventConfig.prevented.has(stageName === undefined ? 'complete' : stageName) : event.isPrevented(stageName)) {
        callLifecycleFunction(dispatcher, 'preventFunction', lifecycleHost, event);
        return true;
    }

    if (stageName === 'complete') {
        if (options.completeOnce) {
            if (state.event) {
                return true;
            }

            state.event = event;
        }

        eventConfig.completed = true;
        eventConfig.distributor = publisher;

        if (stockEvent) {
            if (eventConfig._subscription) {
                eventConfig._subscription = null;
            }
        } else {
            eventConfig.unsubscribe = null;
        }

        callLifecycleFunction(dispatcher, 'completeFunction', lifecycleHost, event);
    } else {
        dispatchStage(dispatcher, stageName, publisher, ownState, distributors, states, pathMap, eventConfig, event, stockEvent, lifecycleHost);
    }

    if (stockEvent ? eventConfig.eventStopped : event.eventStopped) {
        callLifecycleFunction(dispatcher, 'stopEventFunction', lifecycleHost, event);
        return true;
    }

    return false;
};

// Dispatcher.prototype.publish with positional arguments. getDistributionPath ownDistributionPath
// stands for () => publisher._getDistributionPath(eventName).
const publishEvent = (dispatcher, data, eventName, getDistributionPath, lifecycleHost, publicPublish, publisher, state) => {
    const options = dispatcher._config;

    if (publicPublish && !options.allowPublicPublish || state.event) {
        return;
    }

    if (options.data) {
        data = data ? Object.assign(Object.create(null), options.data, data) : options.data;
    }

    if (options.lifecycleHost) {
        lifecycleHost = options.lifecycleHost;
    }

    let distributors = null,
        ownState = state,
        pathMap = null,
        states = null;

    if (options.distributable) {
        if (getDistributionPath !== ownDistributionPath) {
            pathMap = getDistributionPath();
        } else if (publisher._getDistributionPath === pubsubGetDistributionPath) {
            // Pubsub.prototype._getDistributionPath, without the Map.
            ownState = publisher._getEventState === pubsubGetEventState ? publisher._eventState[eventName] || publisher._getEventState(eventName) : publisher._getEventState(eventName);

            if (publisher._distributors) {
                distributors = [
                    publisher
                ];
                states = [
                    ownState
                ];

                for (let index = 0; index < distributors.length; index += 1) {
                    const distributor = distributors[index];

                    if (distributor._distributors) {
                        for (const next of distributor._distributors) {
                            const nextState = next._getEventState(eventName),
                                nextIndex = distributors.indexOf(next);

                            if (nextIndex === -1) {
                                distributors.push(next);
                                states.push(nextState);
                            } else {
                                states[nextIndex] = nextState;
                            }
                        }
                    }
                }
            }
        } else {
            pathMap = publisher._getDistributionPath(eventName);
        }
    }

    const EventConstructor = dispatcher._Event,
        stockEvent = EventConstructor === Event && EventPrototype._init === eventInit;

    let event,
        eventConfig;

    if (stockEvent) {
        eventConfig = {
            __proto__: dispatcher === lastDispatcher && lastEventConfigPrototype.dispatchStoppable === options.dispatchStoppable && lastEventConfigPrototype.distributionStoppable === options.distributionStoppable && lastEventConfigPrototype.eventStoppable === options.eventStoppable && lastEventConfigPrototype.preventable === options.preventable ?
                lastEventConfigPrototype :
                eventConfigPrototypeOf(dispatcher, options),
            data,
            name: eventName,
            publisher
        };
        // What Event(eventConfig) makes.
        event = Object.defineProperty({
            __proto__: EventPrototype
        }, 'constructor', eventConstructorProperty);
        event._config = eventConfig;
    } else {
        eventConfig = {
            __proto__: null,
            data,
            dispatchStoppable: options.dispatchStoppable,
            distributionStoppable: options.distributionStoppable,
            eventStoppable: options.eventStoppable,
            name: eventName,
            preventable: options.preventable,
            publisher
        };
        event = EventConstructor(eventConfig);
    }

    if (options.publishOnce) {
        state.event = event;
    }

    const stages = options.stages;

    if (stockEvent && Array.isArray(stages)) {
        // runStage for the stock Event, inline.
        for (let index = 0; index < stages.length; index += 1) {
            const stageName = stages[index];

            if (eventConfig.dispatchStopped) {
                eventConfig.dispatchStopped = false;
            }

            if (eventConfig.distributionStopped) {
                eventConfig.distributionStopped = false;
            }

            eventConfig.stageName = stageName;

            if (eventConfig.prevented && eventConfig.prevented.has(stageName === undefined ? 'complete' : stageName)) {
                callLifecycleFunction(dispatcher, 'preventFunction', lifecycleHost, event);
                break;
            }

            if (stageName === 'complete') {
                if (options.completeOnce) {
                    if (state.event) {
                        break;
                    }

                    state.event = event;
                }

                eventConfig.completed = true;
                eventConfig.distributor = publisher;

                if (eventConfig._subscription) {
                    eventConfig._subscription = null;
                }

                callLifecycleFunction(dispatcher, 'completeFunction', lifecycleHost, event);
            } else if (pathMap === null && distributors === null) {
                const list = ownState.subscriptions[stageName];

                if (list && dispatchList(dispatcher, list, publisher, eventConfig, event, true, lifecycleHost)) {
                    callLifecycleFunction(dispatcher, 'stopDistributionFunction', lifecycleHost, event);
                }
            } else {
                dispatchStage(dispatcher, stageName, publisher, ownState, distributors, states, pathMap, eventConfig, event, true, lifecycleHost);
            }

            if (eventConfig.eventStopped) {
                callLifecycleFunction(dispatcher, 'stopEventFunction', lifecycleHost, event);
                break;
            }
        }
    } else if (Array.isArray(stages)) {
        for (let index = 0; index < stages.length; index += 1) {
            if (runStage(dispatcher, options, stages[index], publisher, state, ownState, distributors, states, pathMap, eventConfig, event, stockEvent, lifecycleHost)) {
                break;
            }
        }
    } else {
        for (const stageName of stages) {
            if (runStage(dispatcher, options, stageName, publisher, state, ownState, distributors, states, pathMap, eventConfig, event, stockEvent, lifecycleHost)) {
                break;
            }
        }
    }

    // A publishOnce event, or a completeOnce one that completed: what a late subscriber sees.
    if (state.event === event) {
        eventConfig.distributor = publisher;

        if (stockEvent) {
            if (eventConfig._subscription) {
                eventConfig._subscription = null;
            }
        } else {
            eventConfig.unsubscribe = null;
        }
    }
};

const flagDefaultingToTrue = value => value !== false;

export const Dispatcher = _make({
    // The per-publisher state of one event: its subscription lists by stage name, and the
    // remembered event of a publishOnce/completeOnce event.
    newState () {
        return {
            __proto__: null,
            subscriptions: Object.create(null)
        };
    },
    publish ({
        data,
        eventName,
        getDistributionPath,
        lifecycleHost,
        publicPublish,
        publisher,
        state
    }) {
        publishEvent(this, data, eventName, getDistributionPath, lifecycleHost, publicPublish, publisher, state);

        return this;
    },
    subscribe (config) {
        if (this._config.lifecycleHost) {
            config.lifecycleHost = this._config.lifecycleHost;
        }

        if (!config.publicSubscription || this._config.allowPublicSubscription) {
            const subscription = this._callLifecycleFunction('subscribeFunction', config.lifecycleHost, {
                config,
                dispatcher: this
            });

            if (subscription !== false) {
                return subscription || this._subscribe(config);
            }
        }

        return this._Subscription();
    },
    _callCallbackFunction (callbackFunction, host = this, ...args) {
        return callCallback(callbackFunction, host, args);
    },
    _callLifecycleFunction (name, lifecycleHost, ...args) {
        return callCallback(this._config[name], lifecycleHost === undefined ? this : lifecycleHost, args);
    },
    get _Event () {
        return this._config.Event || this.constructor._Event;
    },
    // A once subscriber unsubscribes itself before it runs.
    _getOnceCallbackFunction (callbackFunction, host = this) {
        switch (typeof callbackFunction) {
            case 'function':
                return function (...args) {
                    args[0].unsubscribe();

                    return Reflect.apply(callbackFunction, host, args);
                };
            case 'string':
            case 'symbol': {
                // The method is looked up when the subscriber first runs; should it run again
                // (an unsubscribeFunction refused the unsubscription) the lookup finds nothing.
                let key = callbackFunction;

                return function (...args) {
                    args[0].unsubscribe();

                    const method = host[key];

                    key = method;

                    if (typeof method === 'function') {
                        return Reflect.apply(method, host, args);
                    }

                    return undefined;
                };
            }
        }

        return event => {
            event.unsubscribe();
        };
    },
    _init (config = {}) {
        const options = {
            ...config
        };

        options.allowDuplicateSubscription = flagDefaultingToTrue(options.allowDuplicateSubscription);
        options.allowPublicPublish = Boolean(options.allowPublicPublish);
        options.allowPublicSubscription = flagDefaultingToTrue(options.allowPublicSubscription);
        options.allowPublicUnsubscription = Boolean(options.allowPublicUnsubscription);
        options.completeOnce = options.publishOnce ? false : Boolean(options.completeOnce);
        options.dispatchStoppable = flagDefaultingToTrue(options.dispatchStoppable);
        options.distributable = flagDefaultingToTrue(options.distributable);
        options.distributionStoppable = flagDefaultingToTrue(options.distributionStoppable);
        options.eventStoppable = flagDefaultingToTrue(options.eventStoppable);

        if (!(options.preventable instanceof Set)) {
            options.preventable = flagDefaultingToTrue(options.preventable);
        }

        options.publishOnce = Boolean(options.publishOnce);
        options.stages ||= [
            'before',
            'on',
            'complete',
            'after'
        ];

        this._config = options;

        return this;
    },
    _subscribe (config) {
        const {
            state
        } = config;

        if (state.event) {
            // Late subscriber to a remembered event: called now, unless the event was
            // prevented at the stage where it stopped.
            if (!state.event.isPrevented(state.event.stageName)) {
                callCallback(config.callbackFunction, config.host === undefined ? this : config.host, [
                    state.event
                ]);
            }

            return this._Subscription();
        }

        if (config.once) {
            config.onceCallbackFunction = config.callbackFunction;
            config.callbackFunction = this._getOnceCallbackFunction(config.callbackFunction, config.host);
        }

        let subscriptions = state.subscriptions[config.stageName];

        if (!subscriptions) {
            subscriptions = newSubscriptionList();
            state.subscriptions[config.stageName] = subscriptions;
        }

        if (!this._config.allowDuplicateSubscription) {
            const entries = subscriptions.entries;

            for (let index = 0; index < entries.length; index += 1) {
                const entry = entries[index],
                    existing = entry.config;

                if (entry.live && existing.host === config.host && (existing.callbackFunction === config.callbackFunction || existing.onceCallbackFunction && existing.onceCallbackFunction === config.onceCallbackFunction)) {
                    return this._Subscription();
                }
            }
        }

        config.subscriptionId = Symbol('subscriptionId');
        config.unsubscribe = ({
            publicUnsubscription
        } = {}) => (!publicUnsubscription || this._config.allowPublicUnsubscription) && this._unsubscribe(config);

        const entry = {
            config,
            live: true
        };

        subscriptions.byId[config.subscriptionId] = entry;
        subscriptions.size += 1;
        subscriptions.entries.push(entry);

        config.subscription = {
            subscribed: true,
            unsubscribe: config.unsubscribe
        };

        return this._Subscription(config.subscription);
    },
    get _Subscription () {
        return this._config.Subscription || this.constructor._Subscription;
    },
    _unsubscribe (config) {
        const subscriptions = config.state.subscriptions[config.stageName];

        if (subscriptions && subscriptions.byId[config.subscriptionId] !== undefined) {
            if (this._callLifecycleFunction('unsubscribeFunction', config.lifecycleHost, {
                config,
                dispatcher: this
            }) === false) {
                return false;
            }

            const entry = subscriptions.byId[config.subscriptionId];

            if (entry !== undefined) {
                Reflect.deleteProperty(subscriptions.byId, config.subscriptionId);
                subscriptions.size -= 1;
                entry.live = false;
                subscriptions.dead += 1;

                if (subscriptions.walking === 0 && subscriptions.dead * 2 > subscriptions.entries.length) {
                    compactSubscriptionList(subscriptions);
                }
            }

            if (!subscriptions.size) {
                Reflect.deleteProperty(config.state.subscriptions, config.stageName);
            }
        }

        config.subscription.subscribed = false;
        config.subscription.unsubscribe = null;

        return true;
    }
}, {
    _Event: Event,
    _Subscription: Subscription
});

// defineDispatcher(eventName, config), (eventNames[], config) or ({eventName: config, ...});
// the same method serves instances and made classes.
const defineDispatcherMethod = function (eventName, config) {
    if (typeof eventName === 'string') {
        this._defineDispatcher({
            config,
            eventName
        });
    } else if (Array.isArray(eventName)) {
        for (const name of eventName) {
            this._defineDispatcher({
                config,
                eventName: name
            });
        }
    } else {
        for (const key of Reflect.ownKeys(eventName)) {
            this._defineDispatcher({
                config: eventName[key],
                eventName: key
            });
        }
    }

    return this;
};

// A config that already is a dispatcher is used as is.
const protectedDefineDispatcherMethod = function ({
    config = {},
    eventName
}) {
    const isDispatcher = typeof config.newState === 'function' && typeof config.publish === 'function' && typeof config.subscribe === 'function';

    this._dispatcherByEventName[eventName] = isDispatcher ?
        config :
        (config.Dispatcher || this._Dispatcher)({
            ...config,
            name: eventName
        });

    return this;
};

// Expands a bulk subscription config ({stageName, eventName, config, once}, or an array of
// them) into single subscriptions made with subscribeOne. eventName is a string, an array of
// strings, or an object mapping event names to configs; a config may be an array of configs.
// Returns the one subscription made, or a handle over all of them.
const bulkSubscribe = (pubsub, bulkConfigs, subscribeOne) => {
    const subscriptions = [],
        add = (bulkConfig, eventName, config) => {
            const subscription = subscribeOne(bulkConfig.stageName, eventName, pubsub._normalizeBulkSubscribeConfig(bulkConfig, config));

            if (subscription.subscribed) {
                subscriptions.push(subscription);
            }
        },
        addEach = (bulkConfig, eventName, config) => {
            if (Array.isArray(config)) {
                for (const item of config) {
                    add(bulkConfig, eventName, item);
                }
            } else {
                add(bulkConfig, eventName, config);
            }
        };

    for (const bulkConfig of Array.isArray(bulkConfigs) ? bulkConfigs : [
        bulkConfigs
    ]) {
        if (typeof bulkConfig.eventName === 'string') {
            addEach(bulkConfig, bulkConfig.eventName, bulkConfig.config);
        } else if (Array.isArray(bulkConfig.eventName)) {
            for (const eventName of bulkConfig.eventName) {
                addEach(bulkConfig, eventName, bulkConfig.config);
            }
        } else {
            for (const eventName of Object.keys(bulkConfig.eventName)) {
                addEach(bulkConfig, eventName, bulkConfig.eventName[eventName]);
            }
        }
    }

    if (subscriptions.length === 1) {
        return subscriptions[0];
    }

    return Subscription({
        get subscribed () {
            return this.subscriptions.some(subscription => subscription.subscribed);
        },
        subscriptions,
        unsubscribe () {
            for (const subscription of this.subscriptions) {
                subscription.unsubscribe();
            }
        }
    });
};

// Unsubscribes: everything (no arguments); the events named in the first argument, each a
// name or {eventName, stageName}; or the given events at the given stages. A public call
// only removes subscriptions whose dispatcher allows public unsubscription.
const bulkUnsubscribe = (pubsub, stageName, eventName, unsubscribeOptions) => {
    let unsubscribed = false;

    // Walks a list as a dispatch does: subscriptions added meanwhile are unsubscribed too.
    const unsubscribeAll = subscriptions => {
        const entries = subscriptions.entries;

        subscriptions.walking += 1;

        try {
            for (let index = 0; index < entries.length; index += 1) {
                const entry = entries[index];

                if (entry.live && entry.config.unsubscribe(unsubscribeOptions)) {
                    unsubscribed = true;
                }
            }
        } finally {
            endWalk(subscriptions);
        }
    };

    if (eventName === undefined) {
        if (stageName === undefined) {
            for (const state of Object.values(pubsub._eventState)) {
                for (const subscriptions of Object.values(state.subscriptions)) {
                    unsubscribeAll(subscriptions);
                }
            }
        } else {
            for (const item of Array.isArray(stageName) ? stageName : [
                stageName
            ]) {
                const byName = typeof item === 'string' || typeof item === 'symbol',
                    state = pubsub._eventState[byName ? item : item.eventName],
                    itemStageName = byName ? undefined : item.stageName;

                if (state) {
                    for (const subscriptions of itemStageName ? [
                        state.subscriptions[itemStageName]
                    ] : Object.values(state.subscriptions)) {
                        if (subscriptions) {
                            unsubscribeAll(subscriptions);
                        }
                    }
                }
            }
        }
    } else {
        const stageNames = Array.isArray(stageName) ? stageName : [
            stageName
        ];

        for (const name of Array.isArray(eventName) ? eventName : [
            eventName
        ]) {
            const state = pubsub._eventState[name];

            if (state) {
                for (const stage of stageNames) {
                    const subscriptions = state.subscriptions[stage];

                    if (subscriptions) {
                        unsubscribeAll(subscriptions);
                    }
                }
            }
        }
    }

    return unsubscribed;
};

const publishFrom = (pubsub, eventName, data, publicPublish) => {
    let dispatcher;

    if (pubsub._getDispatcher === pubsubGetDispatcher) {
        const dispatcherByEventName = pubsub._dispatcherByEventName;

        dispatcher = dispatcherByEventName[eventName] || dispatcherByEventName[defaultEventName];
    } else {
        dispatcher = pubsub._getDispatcher(eventName);
    }

    const publish = dispatcher.publish,
        state = pubsub._getEventState === pubsubGetEventState ? pubsub._eventState[eventName] || pubsub._getEventState(eventName) : pubsub._getEventState(eventName);

    if (publish === dispatcherPublish) {
        publishEvent(dispatcher, data, eventName, ownDistributionPath, pubsub, publicPublish, pubsub, state);
    } else {
        Reflect.apply(publish, dispatcher, [
            {
                data,
                eventName,
                getDistributionPath: () => pubsub._getDistributionPath(eventName),
                lifecycleHost: pubsub,
                publicPublish,
                publisher: pubsub,
                state
            }
        ]);
    }

    return pubsub;
};

// config is a callback (a function or a method name) or a subscription config object
// ({callbackFunction, host, once, ...}).
const subscribeTo = (pubsub, stageName, eventName, config, publicSubscription) => pubsub._getDispatcher(eventName).subscribe({
    host: pubsub,
    ...typeof config === 'object' ?
        config :
        {
            callbackFunction: config
        },
    lifecycleHost: pubsub,
    publicSubscription,
    stageName,
    state: pubsub._getEventState(eventName)
});

const capitalize = string => `${string.charAt(0).toUpperCase()}${string.slice(1)}`;

const _Pubsub = _make([
    _PropertyChainer
], {
    // Other pubsub objects that also receive this one's events (after its own subscribers).
    addDistributor (distributor) {
        this._distributors ||= new Set();

        if (Array.isArray(distributor) || distributor instanceof Set) {
            for (const item of distributor) {
                this._distributors.add(item);
            }
        } else {
            this._distributors.add(distributor);
        }

        return this;
    },
    bulkSubscribe (bulkConfig) {
        return bulkSubscribe(this, bulkConfig, (stageName, eventName, config) => this.subscribe(stageName, eventName, config));
    },
    bulkUnsubscribe (stageName, eventName) {
        return bulkUnsubscribe(this, stageName, eventName, {
            publicUnsubscription: true
        });
    },
    defineDispatcher: defineDispatcherMethod,
    destroy (...args) {
        return this._publish('destroy', {
            args
        });
    },
    get destroyed () {
        return this._destroyed;
    },
    publish (eventName, data) {
        return publishFrom(this, eventName, data, true);
    },
    removeDistributor (distributor) {
        if (!this._distributors) {
            return this;
        }

        if (Array.isArray(distributor) || distributor instanceof Set) {
            for (const item of distributor) {
                this._distributors.delete(item);
            }
        } else {
            this._distributors.delete(distributor);
        }

        if (!this._distributors.size) {
            this._distributors = null;
        }

        return this;
    },
    subscribe (stageName, eventName, config) {
        return subscribeTo(this, stageName, eventName, config, true);
    },
    _bulkSubscribe (bulkConfig) {
        return bulkSubscribe(this, bulkConfig, (stageName, eventName, config) => this._subscribe(stageName, eventName, config));
    },
    _bulkUnsubscribe (stageName, eventName) {
        return bulkUnsubscribe(this, stageName, eventName);
    },
    _defineDispatcher: protectedDefineDispatcherMethod,
    // Runs in the complete stage of 'destroy': publishes destroyComplete, then drops every
    // subscription and all event state.
    _destroy (...args) {
        this._destroyed = true;

        this._publish('destroyComplete', {
            args
        });

        this._bulkUnsubscribe();

        this._dispatcherByEventName = undefined;
        this._distributors = undefined;
        this._eventState = undefined;
    },
    _destroyComplete () {
        // For subclasses: runs in the complete stage of destroyComplete.
    },
    get _Dispatcher () {
        return this.constructor._Dispatcher;
    },
    _eventDestroy ({
        data: {
            args
        }
    }) {
        this._destroy(...args);
    },
    _eventDestroyComplete ({
        data: {
            args
        }
    }) {
        this._destroyComplete(...args);
    },
    _getDispatcher (eventName) {
        return this._dispatcherByEventName[eventName] || this._dispatcherByEventName[defaultEventName];
    },
    // This object first, then its distributors and theirs, each once.
    _getDistributionPath (eventName) {
        const distributionPath = new Map([
            [
                this,
                this._getEventState(eventName)
            ]
        ]);

        for (const distributor of distributionPath.keys()) {
            if (distributor._distributors) {
                for (const next of distributor._distributors) {
                    distributionPath.set(next, next._getEventState(eventName));
                }
            }
        }

        return distributionPath;
    },
    _getEventState (eventName) {
        return this._eventState[eventName] ||= this._getDispatcher(eventName).newState();
    },
    _init (...args) {
        const [{
            pubsub
        } = {}] = args;

        Reflect.apply(_PropertyChainer.prototype._init, this, args);

        this._destroyed = false;
        this._dispatcherByEventName = Object.create(this.constructor._dispatcherByEventName);
        this._distributors = null;
        this._eventState = Object.create(null);

        if (pubsub) {
            this.defineDispatcher(pubsub);
        }

        return this;
    },
    _normalizeBulkSubscribeConfig (bulkSubscribeConfig, config = bulkSubscribeConfig.config) {
        if (!bulkSubscribeConfig.once) {
            return config;
        }

        return typeof config === 'object' ?
            {
                ...config,
                once: true
            } :
            {
                callbackFunction: config,
                once: true
            };
    },
    _publish (eventName, data) {
        return publishFrom(this, eventName, data, false);
    },
    _subscribe (stageName, eventName, config) {
        return subscribeTo(this, stageName, eventName, config, false);
    }
}, {
    defineDispatcher: defineDispatcherMethod,
    // Adds, for each stage name, the shortcut methods <stage>, once<Stage>, _<stage> and
    // _once<Stage> to the prototype (unless it has them), each taking (eventName, config).
    _addSubscriptionMethods (stageNames) {
        for (const stageName of Array.isArray(stageNames) ? stageNames : [
            stageNames
        ]) {
            const onceName = `once${capitalize(stageName)}`,
                shortcuts = {
                    [stageName]: {
                        once: false,
                        protectedAccess: false
                    },
                    [onceName]: {
                        once: true,
                        protectedAccess: false
                    },
                    [`_${onceName}`]: {
                        once: true,
                        protectedAccess: true
                    },
                    [`_${stageName}`]: {
                        once: false,
                        protectedAccess: true
                    }
                };

            for (const [
                methodName,
                {
                    once,
                    protectedAccess
                }
            ] of Object.entries(shortcuts)) {
                if (this.prototype[methodName]) {
                    continue;
                }

                const bulkMethodName = protectedAccess ? '_bulkSubscribe' : 'bulkSubscribe';

                this.prototype[methodName] = once ?
                    function (eventName, config) {
                        return this[bulkMethodName]({
                            config,
                            eventName,
                            once: true,
                            stageName
                        });
                    } :
                    function (eventName, config) {
                        return this[bulkMethodName]({
                            config,
                            eventName,
                            stageName
                        });
                    };
            }
        }
    },
    _defineDispatcher: protectedDefineDispatcherMethod,
    _Dispatcher: Dispatcher,
    // Runs for every made subclass: chains its dispatchers to its parents' and mixins', then
    // defines those of its own `_pubsub` and adds the shortcuts of its own `_subscriptionMethods`.
    _init (...args) {
        this._dispatcherByEventName = Object.create(null);

        Reflect.apply(_PropertyChainer._init, this, args);

        if (Object.hasOwn(this, '_pubsub')) {
            this.defineDispatcher(this._pubsub);
        }

        if (Object.hasOwn(this, '_subscriptionMethods')) {
            this._addSubscriptionMethods(this._subscriptionMethods);
        }

        return this;
    },
    _propertyChains: new Set([
        '_dispatcherByEventName'
    ]),
    _pubsub: {
        destroy: {
            completeFunction: '_eventDestroy',
            completeOnce: true,
            Dispatcher
        },
        destroyComplete: {
            completeFunction: '_eventDestroyComplete',
            Dispatcher,
            publishOnce: true
        },
        [defaultEventName]: {
            allowPublicPublish: true,
            allowPublicUnsubscription: true
        }
    },
    _subscriptionMethods: [
        'after',
        'before',
        'on'
    ]
});

dispatcherCallLifecycleFunction = Dispatcher.prototype._callLifecycleFunction;
dispatcherPublish = Dispatcher.prototype.publish;
pubsubGetDispatcher = _Pubsub.prototype._getDispatcher;
pubsubGetDistributionPath = _Pubsub.prototype._getDistributionPath;
pubsubGetEventState = _Pubsub.prototype._getEventState;

export default _Pubsub;
