// A primary script, as `node primary.js` would run it under isotropic-cluster:
// isowasm run examples/js-primary/primary.js
//
// The task distribution and the type-based routing of the isotropic-cluster
// README, together: the primary hands tasks to its workers round-robin; the
// workers answer with typed messages that reach _eventWorkerMessage_<type>.
import _ClusterPrimary from 'isotropic-cluster/lib/cluster-primary.js';
import _make from 'isotropic-make';

const _TaskPrimary = _make(_ClusterPrimary, {
        _eventWorkerMessage_log ({
            data: {
                message,
                worker
            }
        }) {
            console.log(`[worker ${worker.id}] ${message.text}`);
        },
        _eventWorkerMessage_taskComplete ({
            data: {
                message,
                worker
            }
        }) {
            console.log(`task ${message.taskId} done by worker ${worker.id}: ${message.result}`);
            this._completed += 1;

            if (this._completed === taskCount) {
                console.log('all tasks done, shutting down');
                this.shutDown();
            } else {
                this._processQueue();
            }
        },
        _processQueue () {
            if (tasks.length) {
                const task = tasks.shift(),
                    worker = this.roundRobin();

                this.send({
                    message: {
                        task,
                        type: 'processTask'
                    },
                    to: worker
                }).catch(error => {
                    console.error(`could not send task ${task.id}:`, error.message);
                    tasks.unshift(task);
                });
            }
        }
    }),
    tasks = Array.from({
        length: 8
    }, (value, index) => ({
        id: index + 1,
        text: 'isowasm'.repeat(index + 1)
    })),
    taskCount = tasks.length,
    primary = _TaskPrimary({
        workerScript: `${import.meta.dirname}/worker.js`
    });

primary._completed = 0;

// 'after', not 'on': a worker joins primary.workers in workerReady's complete
// stage, so roundRobin() in an 'on workerReady' handler finds none (as in
// isotropic-cluster, where it throws).
primary.after('workerReady', ({
    data: {
        worker
    }
}) => {
    console.log(`worker ${worker.id} ready`);

    // Once all three are ready, give each a task; each answer fetches the next.
    if (primary.workers.length === 3) {
        primary.workers.forEach(() => {
            primary._processQueue();
        });
    }
});

primary.on('shutDownComplete', () => {
    console.log('shut down');
});

primary.fork({
    workerCount: 3
});
