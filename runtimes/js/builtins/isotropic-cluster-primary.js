// isotropic-cluster/lib/cluster-primary.js: the primary side of a process cluster.
//
// isowasm's own implementation of isotropic-cluster 0.5.0's ClusterPrimary, written against
// node:cluster. An Initializable whose events mirror the cluster's:
//
//   fork({workerCount = 1})   event 'fork' (forks in its complete stage); does nothing once
//                             shut down
//   workerFork, workerOnline, workerListening, workerMessage, workerDisconnect, workerExit
//                             node:cluster's events, republished with {worker, ...}
//   workerReady               the worker's first 'ready' message after online; adds it
//   addWorker / removeWorker  `workers` (ascending id) and `workerById` hold only ready workers
//   workerError               an 'error' on a cluster Worker; removes it
//   shutDown (completeOnce)   disconnects every worker, then shutDownComplete (publishOnce)
//
// A worker that exits while the primary is active is replaced by one new fork. Messages with a
// `type` are also handed to the `_eventWorkerMessage_<type>` method, if a subclass has one.
// send({message, to}) returns a promise; `to` is a worker, a worker id or an array of them and
// defaults to every ready worker. roundRobin({tag}) picks the ready worker least recently
// picked for that tag. destroy() on an active primary shuts down first.
import _cluster from 'node:cluster';
import _Error from 'isotropic-error';
import _Initializable from 'isotropic-initializable';
import _logger from 'isotropic-logger';
import _make from 'isotropic-make';
import _process from 'node:process';

const log = _logger.child({
    module: 'cluster-primary'
}, true);

// The resolving functions of the promise last made with captureResolvers as its executor.
let capturedReject,
    capturedResolve;

const captureResolvers = (resolve, reject) => {
    capturedResolve = resolve;
    capturedReject = reject;
};

// One destination of send(): a worker object or the id of a ready worker. As a
// `new Promise((resolve, reject) => {...})` whose executor does this, without the executor
// closure: a throw rejects as it would.
const sendOne = (primary, message, destination) => {
    const promise = new Promise(captureResolvers),
        resolve = capturedResolve,
        reject = capturedReject;

    capturedResolve = undefined;
    capturedReject = undefined;

    try {
        const worker = typeof destination === 'number' ? primary._workerById[destination] : destination;

        if (!worker || !worker.send) {
            reject(_Error({
                details: {
                    message,
                    to: destination
                },
                message: 'Invalid message destination'
            }));
            return promise;
        }

        worker.send(message, error => {
            if (error) {
                reject(_Error({
                    details: {
                        message,
                        workerId: worker.id
                    },
                    error,
                    message: 'Error sending message to worker'
                }));
            } else {
                resolve();
            }
        });
    } catch (error) {
        reject(error);
    }

    return promise;
};

const _ClusterPrimary = _make(_Initializable, {
    fork ({
        workerCount = 1
    } = {}) {
        if (!this._active) {
            return this;
        }

        return this._publish('fork', {
            workerCount
        });
    },
    // Among ready workers (ascending id): the first never picked for this tag, else the one
    // picked longest ago (ties to the lowest id).
    roundRobin ({
        tag = ''
    } = {}) {
        let pickTimes = this._workerTimeByWorkerWeakMapByTag[tag];

        if (!pickTimes) {
            pickTimes = new WeakMap();
            this._workerTimeByWorkerWeakMapByTag[tag] = pickTimes;
        }

        let chosen,
            chosenTime = Infinity;

        for (const worker of this._workers) {
            const time = pickTimes.get(worker);

            if (!time) {
                chosen = worker;
                break;
            }

            if (time < chosenTime) {
                chosen = worker;
                chosenTime = time;
            }
        }

        pickTimes.set(chosen, Date.now());

        return chosen;
    },
    send ({
        message,
        to = this._workers
    }) {
        const destinations = Array.isArray(to) ? to : [
            to
        ];

        return Promise.all(destinations.map(destination => sendOne(this, message, destination)));
    },
    shutDown () {
        return this._publish('shutDown');
    },
    get workerById () {
        return this._workerById;
    },
    get workers () {
        return this._workers;
    },
    _addWorker ({
        worker
    }) {
        return this._publish('addWorker', {
            worker
        });
    },
    _destroy (...args) {
        if (this._active) {
            // Finish destroying once every worker is gone.
            this._onceAfter('shutDownComplete', '_destroy');
            this.shutDown();
            return;
        }

        this._active = undefined;

        for (const eventName of Object.keys(this._clusterListenerByEventName)) {
            _cluster.removeListener(eventName, this._clusterListenerByEventName[eventName]);
        }

        this._clusterListenerByEventName = undefined;
        this._workerTimeByWorkerWeakMapByTag = undefined;

        Reflect.apply(_Initializable.prototype._destroy, this, args);
    },
    _eventAddWorker ({
        data: {
            worker
        }
    }) {
        this._workerById[worker.id] = worker;
        this._workers = Object.values(this._workerById);
    },
    _eventFork ({
        data: {
            workerCount
        }
    }) {
        for (let remaining = workerCount; remaining > 0; remaining -= 1) {
            log.info('Starting a new worker');
            _cluster.fork();
        }
    },
    _eventRemoveWorker ({
        data: {
            worker
        }
    }) {
        delete this._workerById[worker.id];
        this._workers = Object.values(this._workerById);
    },
    _eventShutDown () {
        log.info('Shutting down workers');

        this._active = false;

        _cluster.disconnect(() => {
            this._publish('shutDownComplete');
        });

        return this;
    },
    _eventShutDownComplete () {
        log.info('Worker shut down complete');
    },
    _eventWorkerDisconnect ({
        data: {
            worker
        }
    }) {
        log.info({
            workerId: worker.id
        }, 'Worker disconnected');

        this._removeWorker({
            worker
        });
    },
    _eventWorkerError ({
        data: {
            error,
            worker
        }
    }) {
        log.fatal({
            error: _Error({
                details: {
                    workerId: worker.id
                },
                error,
                message: 'Worker error'
            }),
            workerId: worker.id
        }, 'Worker error');

        this._removeWorker({
            worker
        });
    },
    _eventWorkerExit ({
        data: {
            code,
            signal,
            worker
        }
    }) {
        const facts = {
            code,
            signal,
            workerId: worker.id
        };

        if (worker.exitedAfterDisconnect) {
            log.info(facts, 'Worker exited voluntarily');
        } else if (code) {
            log.fatal(facts, 'Worker died unexpectedly');
        } else {
            log.error(facts, 'Worker died');
        }

        this._removeWorker({
            worker
        });

        if (this._active) {
            if (this._restart) {
                this._replaceWithPolicy(worker);
            } else {
                log.info('Replacing dead worker');
                this.fork();
            }
        }
    },
    _eventWorkerFork ({
        data: {
            worker
        }
    }) {
        log.info({
            workerId: worker.id
        }, 'Starting new worker');

        if (this._restart) {
            // A replacement inherits the slot of the worker it replaces, so a
            // crash-looping slot backs off and gives up on its own.
            this._slotByWorker.set(worker, this._pendingSlots.length ?
                this._pendingSlots.shift() :
                {
                    backoff: 0,
                    restarts: []
                });
            this._forkTimeByWorker.set(worker, Date.now());
        }

        worker.on('error', error => {
            this._publish('workerError', {
                error: _Error({
                    details: {
                        worker
                    },
                    error,
                    message: 'Error in worker'
                }),
                worker
            });
        });
    },
    _eventWorkerListening ({
        data: {
            address,
            worker
        }
    }) {
        log.info({
            address: address.address,
            port: address.port,
            workerId: worker.id
        }, 'Worker is listening');
    },
    _eventWorkerMessage (event) {
        const {
            message
        } = event.data;

        if (message && message.type) {
            const method = this[`_eventWorkerMessage_${message.type}`];

            if (typeof method === 'function') {
                Reflect.apply(method, this, [
                    event
                ]);
            }
        }
    },
    _eventWorkerOnline ({
        data: {
            worker
        }
    }) {
        log.info({
            workerId: worker.id
        }, 'Worker is now online');

        // The worker is ready at its first 'ready' message; earlier messages are ordinary ones.
        const onMessage = message => {
            if (message === 'ready') {
                worker.removeListener('message', onMessage);

                this._publish('workerReady', {
                    worker
                });
            }
        };

        worker.on('message', onMessage);
    },
    _eventWorkerReady ({
        data: {
            worker
        }
    }) {
        log.info({
            workerId: worker.id
        }, 'Worker is ready to work');

        this._addWorker({
            worker
        });
    },
    _init (...args) {
        this._active = true;

        this._clusterListenerByEventName = {
            disconnect: worker => {
                this._publish('workerDisconnect', {
                    worker
                });
            },
            exit: (worker, code, signal) => {
                this._publish('workerExit', {
                    code,
                    signal,
                    worker
                });
            },
            fork: worker => {
                this._publish('workerFork', {
                    worker
                });
            },
            listening: (worker, address) => {
                this._publish('workerListening', {
                    address,
                    worker
                });
            },
            message: (worker, message, handle) => {
                this._publish('workerMessage', {
                    handle,
                    message,
                    worker
                });
            },
            online: worker => {
                this._publish('workerOnline', {
                    worker
                });
            }
        };

        this._workerById = Object.create(null);
        this._workers = [];
        this._workerTimeByWorkerWeakMapByTag = Object.create(null);

        return Reflect.apply(_Initializable.prototype._init, this, args);
    },
    _initialize (...args) {
        log.info('Initializing primary');

        const [{
            restart,
            workerArgs,
            workerScript,
            workerSilent,
            workerStdio
        } = {}] = args;

        if (restart) {
            // isowasm's restart policy (off unless given: the original
            // replaces a dead worker at once, forever).
            this._restart = {
                backoff: 100,
                maxBackoff: 10000,
                maxRestarts: 10,
                minUptime: 5000,
                window: 60000,
                ...restart
            };
            this._forkTimeByWorker = new WeakMap();
            this._pendingSlots = [];
            this._slotByWorker = new WeakMap();
        }

        _cluster.setupPrimary({
            args: workerArgs === undefined ? _process.argv.slice(2) : workerArgs,
            exec: workerScript === undefined ? _process.argv[1] : workerScript,
            silent: workerSilent === undefined ? false : workerSilent,
            stdio: workerStdio
        });

        for (const eventName of Object.keys(this._clusterListenerByEventName)) {
            _cluster.on(eventName, this._clusterListenerByEventName[eventName]);
        }
    },
    _replaceWithPolicy (worker) {
        const now = Date.now(),
            policy = this._restart,
            slot = this._slotByWorker.get(worker) || {
                backoff: 0,
                restarts: []
            },
            uptime = now - (this._forkTimeByWorker.get(worker) || now);

        slot.restarts = slot.restarts.filter(time => now - time < policy.window);

        if (slot.restarts.length >= policy.maxRestarts) {
            log.error({
                restarts: slot.restarts.length,
                workerId: worker.id
            }, 'Worker keeps dying: not replacing it');
            this._publish('workerGiveUp', {
                restarts: slot.restarts.length,
                worker
            });
            return;
        }

        slot.restarts.push(now);

        if (uptime >= policy.minUptime) {
            slot.backoff = 0;
        }

        const delay = slot.backoff;

        slot.backoff = Math.min(slot.backoff ? slot.backoff * 2 : policy.backoff, policy.maxBackoff);

        // Its complete stage schedules the replacement: prevent() cancels it.
        this._publish('workerRestart', {
            delay,
            slot,
            worker
        });
    },
    _eventWorkerRestart ({
        data: {
            delay,
            slot
        }
    }) {
        const replace = () => {
            if (this._active) {
                log.info('Replacing dead worker');
                this._pendingSlots.push(slot);
                this.fork();
            }
        };

        if (delay) {
            setTimeout(replace, delay);
        } else {
            replace();
        }
    },
    _removeWorker ({
        worker
    }) {
        if (worker.id in this._workerById) {
            this._publish('removeWorker', {
                worker
            });
        }

        return this;
    }
}, {
    _pubsub: {
        addWorker: {
            completeFunction: '_eventAddWorker'
        },
        fork: {
            completeFunction: '_eventFork'
        },
        removeWorker: {
            completeFunction: '_eventRemoveWorker'
        },
        shutDown: {
            completeFunction: '_eventShutDown',
            completeOnce: true
        },
        shutDownComplete: {
            completeFunction: '_eventShutDownComplete',
            publishOnce: true
        },
        workerDisconnect: {
            completeFunction: '_eventWorkerDisconnect'
        },
        workerError: {
            completeFunction: '_eventWorkerError'
        },
        workerExit: {
            completeFunction: '_eventWorkerExit'
        },
        workerFork: {
            completeFunction: '_eventWorkerFork'
        },
        workerListening: {
            completeFunction: '_eventWorkerListening'
        },
        workerMessage: {
            completeFunction: '_eventWorkerMessage'
        },
        workerOnline: {
            completeFunction: '_eventWorkerOnline'
        },
        workerReady: {
            completeFunction: '_eventWorkerReady'
        },
        workerRestart: {
            completeFunction: '_eventWorkerRestart'
        }
    }
});

export default _ClusterPrimary;
