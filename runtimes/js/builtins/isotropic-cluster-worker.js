// isotropic-cluster/lib/cluster-worker.js: the worker side of a process cluster.
//
// isowasm's own implementation of isotropic-cluster 0.5.0's ClusterWorker, written against
// node:cluster and node:process. An Initializable that:
//   - initializes only in a cluster worker process (elsewhere initialization fails with
//     'Cluster worker can not initialize in non-worker process');
//   - tells the primary it is ready (the message 'ready') when initialization completes;
//   - publishes 'primaryMessage' ({message, handle}) for each message from the primary, also
//     handing typed messages to the `_eventPrimaryMessage_<type>` method of a subclass, and
//     'primaryDisconnect' when the channel to the primary closes;
//   - send({message}) returns a promise of the delivery to the primary;
//   - destroy({timeout = 6765}) disconnects and kills its own process after that many ms.
// Static: ClusterWorker.worker (cluster.worker) and ClusterWorker.workerId.
import _cluster from 'node:cluster';
import _Error from 'isotropic-error';
import _Initializable from 'isotropic-initializable';
import _later from 'isotropic-later';
import _logger from 'isotropic-logger';
import _make from 'isotropic-make';
import _process from 'node:process';

const workerId = _cluster.worker && _cluster.worker.id;

const log = _logger.child({
    module: 'cluster-worker',
    workerId
});

// The resolving functions of the promise last made with captureResolvers as its executor.
let capturedReject,
    capturedResolve;

const captureResolvers = (resolve, reject) => {
    capturedResolve = resolve;
    capturedReject = reject;
};

// Under isowasm, the host's own way to send with a promise (node/process.js sendPromise),
// used while process.send is the host's; absent under Node.
// eslint-disable-next-line no-undef
const host = typeof __isowasm === 'object' && __isowasm !== null && typeof __isowasm.sendPromise === 'function' ? __isowasm : undefined;

// What a failed send rejects with.
const rejectSend = (error, message, reject) => {
    reject(_Error({
        details: {
            message
        },
        error,
        message: 'Error sending message to primary'
    }));
};

const _ClusterWorker = _make(_Initializable, {
    // As `new Promise((resolve, reject) => {_process.send(message, callback)})`, without the
    // executor closure: the executor is shared, and a throw from send rejects as it would.
    // Under isowasm the host makes and settles the promise itself (no callback per message).
    send ({
        message
    }) {
        if (host !== undefined && _process.send === host.processSend) {
            let sent;

            try {
                sent = host.sendPromise(message, rejectSend);
            } catch (error) {
                return Promise.reject(error);
            }

            if (sent !== undefined) {
                return sent;
            }
        }

        const promise = new Promise(captureResolvers),
            resolve = capturedResolve,
            reject = capturedReject;

        capturedResolve = undefined;
        capturedReject = undefined;

        try {
            _process.send(message, error => {
                if (error) {
                    reject(_Error({
                        details: {
                            message
                        },
                        error,
                        message: 'Error sending message to primary'
                    }));
                } else {
                    resolve();
                }
            });
        } catch (error) {
            reject(error);
        }

        return promise;
    },
    _destroy (...args) {
        for (const eventName of Object.keys(this._processEvents)) {
            _process.removeListener(eventName, this._processEvents[eventName]);
        }

        this._processEvents = undefined;

        Reflect.apply(_Initializable.prototype._destroy, this, args);
    },
    _destroyComplete ({
        timeout = 6765
    } = {}) {
        if (!_cluster.worker) {
            return;
        }

        _cluster.worker.disconnect();

        _later(timeout, () => {
            _cluster.worker.kill();
        });
    },
    _eventPrimaryDisconnect () {
        log.info('Primary disconnected');
    },
    _eventPrimaryMessage (event) {
        const {
            message
        } = event.data;

        if (message && message.type) {
            const method = this[`_eventPrimaryMessage_${message.type}`];

            if (typeof method === 'function') {
                Reflect.apply(method, this, [
                    event
                ]);
            }
        }
    },
    _init (...args) {
        this._processEvents = {
            disconnect: () => {
                this._publish('primaryDisconnect');
            },
            message: (message, handle) => {
                this._publish('primaryMessage', {
                    handle,
                    message
                });
            }
        };

        return Reflect.apply(_Initializable.prototype._init, this, args);
    },
    _initialize () {
        if (!_cluster.isWorker) {
            throw _Error({
                message: 'Cluster worker can not initialize in non-worker process'
            });
        }

        log.info('Initializing worker');

        for (const eventName of Object.keys(this._processEvents)) {
            _process.on(eventName, this._processEvents[eventName]);
        }
    },
    _initializeComplete () {
        _process.send('ready');
    }
}, {
    get worker () {
        return _cluster.worker;
    },
    get workerId () {
        return workerId;
    },
    _pubsub: {
        primaryDisconnect: {
            completeFunction: '_eventPrimaryDisconnect'
        },
        primaryMessage: {
            completeFunction: '_eventPrimaryMessage'
        }
    }
});

export default _ClusterWorker;
