// The worker for primary.js: typed messages from the primary reach
// _eventPrimaryMessage_<type>.
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
import _make from 'isotropic-make';

const _TaskWorker = _make(_ClusterWorker, {
    _eventPrimaryMessage_processTask ({
        data: {
            message: {
                task
            }
        }
    }) {
        this.send({
            message: {
                text: `working on task ${task.id}`,
                type: 'log'
            }
        });
        this.send({
            message: {
                result: task.text.length,
                taskId: task.id,
                type: 'taskComplete'
            }
        });
    }
});

_TaskWorker();
