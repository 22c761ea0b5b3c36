// The JS behaviour the Wasm worker is held to: an uncaught throw on 'trap'.
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
import _Error from 'isotropic-error';

const clusterWorker = _ClusterWorker();

clusterWorker.after('primaryMessage', ({
    data: {
        message
    }
}) => {
    if (message === 'trap') {
        throw _Error({
            message: 'Trapping on purpose'
        });
    }
});
