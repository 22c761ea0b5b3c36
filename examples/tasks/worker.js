// A task worker: it receives {type: 'task', id, numbers} messages from the
// primary and answers each with {type: 'result', id, sum, workerId}.
// _make subclasses route messages by type to _eventPrimaryMessage_<type>.
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
import _make from 'isotropic-make';

const TaskWorker = _make(_ClusterWorker, {
    _eventPrimaryMessage_task ({
        data: {
            message
        }
    }) {
        const sum = message.numbers.reduce((total, n) => total + n, 0);

        this.send({
            message: {
                id: message.id,
                sum,
                type: 'result',
                workerId: _ClusterWorker.workerId
            }
        });
    }
});

TaskWorker();
