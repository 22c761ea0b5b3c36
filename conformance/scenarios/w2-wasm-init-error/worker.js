// The JS behaviour the Wasm worker is held to: a ClusterWorker whose _initialize throws; nobody
// prevents initializeError, so the error is rethrown and the process exits 1, never ready.
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
import _make from 'isotropic-make';

_make(_ClusterWorker, {
    _initialize () {
        throw new Error('no config');
    }
})();
