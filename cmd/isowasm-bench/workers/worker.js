// isowasm-bench's JavaScript worker, written against isotropic-cluster's
// ClusterWorker as an application would be. It does what ../peer/worker.js
// does under Node: 'ready' (sent by ClusterWorker once initialized), then
// {type: 'ping', n} answered with {type: 'pong', n} and {type: 'echo', ...}
// sent back as it came.
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';

const worker = _ClusterWorker();

worker.on('primaryMessage', ({
    data: {
        message
    }
}) => {
    if (message.type === 'ping') {
        worker.send({
            message: {
                n: message.n,
                type: 'pong'
            }
        });
    } else if (message.type === 'echo') {
        worker.send({
            message
        });
    }
});
