// The smallest isowasm worker: it becomes ready, says hello to the primary
// with a ping, and logs the primary's pong.
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';

const worker = _ClusterWorker();

worker.after('initializeComplete', () => {
    worker.send({
        message: {
            type: 'ping',
            from: _ClusterWorker.workerId,
            sentAt: Date.now()
        }
    });
});

worker.on('primaryMessage', ({
    data: {
        message
    }
}) => {
    if (message.type === 'pong') {
        console.log(`worker ${_ClusterWorker.workerId}: hello! the primary answered in ${Date.now() - message.sentAt} ms`);
    }
});
