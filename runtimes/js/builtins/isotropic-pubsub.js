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

import _make from 'isotropic-make';
import _PropertyChainer from 'isotropic-property-chainer';

const defaultEventName = Symbol('default');

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
    unsubscribe () {
        return typeof this._config.unsubscribe === 'function' ? this._config.unsubscribe() : false;
    },
    _init (config = {}) {
        this._config = config;

        return this;
    }
});

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

// Calls one stage's subscribers, publisher first, then each distributor. Subscriptions added
// to a stage while it runs are called in the same run; removed ones are not. Dispatch stopped
// in one distributor's subscribers still lets the next distributor's first subscriber run.
const dispatchStage = (dispatcher, stageName, distributionPath, eventConfig, event, lifecycleHost) => {
    for (const [
        distributor,
        state
    ] of distributionPath) {
        const subscriptions = state.subscriptions[stageName];

        if (!subscriptions) {
            continue;
        }

        eventConfig.distributor = distributor;

        for (const subscription of subscriptions.values()) {
            eventConfig.unsubscribe = () => dispatcher._unsubscribe(subscription);

            callCallback(subscription.callbackFunction, subscription.host === undefined ? dispatcher : subscription.host, [
                event
            ]);

            if (event.dispatchStopped) {
                dispatcher._callLifecycleFunction('stopDispatchFunction', lifecycleHost, event);
                break;
            }
        }

        if (event.distributionStopped) {
            dispatcher._callLifecycleFunction('stopDistributionFunction', lifecycleHost, event);
            break;
        }
    }
};

const flagDefaultingToTrue = value => value !== false;

export const Dispatcher = _make({
    // The per-publisher state of one event: its subscriptions by stage name (each a Map in
    // subscription order), and the remembered event of a publishOnce/completeOnce event.
    newState () {
        return Object.assign(Object.create(null), {
            subscriptions: Object.create(null)
        });
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
        const options = this._config;

        if (publicPublish && !options.allowPublicPublish || state.event) {
            return this;
        }

        if (options.data) {
            data = data ? Object.assign(Object.create(null), options.data, data) : options.data;
        }

        if (options.lifecycleHost) {
            lifecycleHost = options.lifecycleHost;
        }

        const eventConfig = Object.assign(Object.create(null), {
                data,
                dispatchStoppable: options.dispatchStoppable,
                distributionStoppable: options.distributionStoppable,
                eventStoppable: options.eventStoppable,
                name: eventName,
                preventable: options.preventable,
                publisher
            }),
            distributionPath = options.distributable ? getDistributionPath() : new Map([
                [
                    publisher,
                    state
                ]
            ]),
            event = this._Event(eventConfig);

        let remembered = false;

        if (options.publishOnce) {
            remembered = true;
            state.event = event;
        }

        for (const stageName of options.stages) {
            eventConfig.dispatchStopped = false;
            eventConfig.distributionStopped = false;
            eventConfig.stageName = stageName;

            if (event.isPrevented(stageName)) {
                this._callLifecycleFunction('preventFunction', lifecycleHost, event);
                break;
            }

            if (stageName === 'complete') {
                if (options.completeOnce) {
                    if (state.event) {
                        break;
                    }

                    remembered = true;
                    state.event = event;
                }

                eventConfig.completed = true;
                eventConfig.distributor = publisher;
                eventConfig.unsubscribe = null;

                this._callLifecycleFunction('completeFunction', lifecycleHost, event);
            } else {
                dispatchStage(this, stageName, distributionPath, eventConfig, event, lifecycleHost);
            }

            if (event.eventStopped) {
                this._callLifecycleFunction('stopEventFunction', lifecycleHost, event);
                break;
            }
        }

        if (remembered) {
            // What a late subscriber will see.
            eventConfig.distributor = publisher;
            eventConfig.unsubscribe = null;
        }

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
            subscriptions = new Map();
            state.subscriptions[config.stageName] = subscriptions;
        }

        if (!this._config.allowDuplicateSubscription) {
            for (const existing of subscriptions.values()) {
                if (existing.host === config.host && (existing.callbackFunction === config.callbackFunction || existing.onceCallbackFunction && existing.onceCallbackFunction === config.onceCallbackFunction)) {
                    return this._Subscription();
                }
            }
        }

        config.subscriptionId = Symbol('subscriptionId');
        config.unsubscribe = ({
            publicUnsubscription
        } = {}) => (!publicUnsubscription || this._config.allowPublicUnsubscription) && this._unsubscribe(config);

        subscriptions.set(config.subscriptionId, config);

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

        if (subscriptions && subscriptions.has(config.subscriptionId)) {
            if (this._callLifecycleFunction('unsubscribeFunction', config.lifecycleHost, {
                config,
                dispatcher: this
            }) === false) {
                return false;
            }

            subscriptions.delete(config.subscriptionId);

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

    const unsubscribeAll = subscriptions => {
        for (const subscription of subscriptions.values()) {
            if (subscription.unsubscribe(unsubscribeOptions)) {
                unsubscribed = true;
            }
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
                        state.subscriptions[itemStageName] || new Map()
                    ] : Object.values(state.subscriptions)) {
                        unsubscribeAll(subscriptions);
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
    pubsub._getDispatcher(eventName).publish({
        data,
        eventName,
        getDistributionPath: () => pubsub._getDistributionPath(eventName),
        lifecycleHost: pubsub,
        publicPublish,
        publisher: pubsub,
        state: pubsub._getEventState(eventName)
    });

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

export default _Pubsub;
