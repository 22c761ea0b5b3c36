// isowasm scenario w1-wasm-trap (not recorded from the original: see "Expected trace" below).
//
// Pins down: a compiled worker that traps (wasm `unreachable`) is, to the primary, a JS worker whose
// handler throws: it dies with exit code 1 (signal null, exitedAfterDisconnect false), is removed, and
// is replaced by exactly one new fork whose 'ready' makes it a worker again. Mirrors the 'throw' cycle
// of reference 15-replace-dead-worker (original test 18).
//
// Workers: worker.js throws an isotropic-error from its primaryMessage subscriber on 'trap';
// worker.wasm (worker.wat) executes `unreachable` on any message.
//
// Expected trace (../../traces/w1-wasm-trap.json): derived from the JS behaviour. Recorded from
// `isowasm run primary.js` with worker.js, whose semantics the reference suite pins down (15's throw
// cycle: exit 1 / null, replaced in workerExit's complete stage); checked against SEMANTICS.md
// ("uncaught throw -> 1 / null", "replacement ... whatever the reason"). `isowasm conformance
// --reference node` runs it with the original on Node, which must give the same.
import _ClusterPrimary from 'isotropic-cluster/lib/cluster-primary.js';
import {
    armTimeout,
    createRecorder,
    emit,
    waitForExits,
    TEST_EVENTS_COMMUNICATE
} from '../_common/harness.js';

const SCENARIO = 'w1-wasm-trap',
    clusterPrimary = _ClusterPrimary({
        workerArgs: [
            'trap'
        ],
        workerScript: `${import.meta.dirname}/worker.js`
    }),
    extra = {
        readyWorkerIds: [],
        workerExitObjects: []
    },
    recorder = createRecorder(clusterPrimary, {
        events: [
            ...TEST_EVENTS_COMMUNICATE,
            'workerExit'
        ]
    });

armTimeout(SCENARIO, 30000);

clusterPrimary.after({
    workerExit ({
        data: {
            code,
            signal,
            worker
        }
    }) {
        extra.workerExitObjects.push({
            code,
            exitedAfterDisconnect: worker.exitedAfterDisconnect,
            signal,
            workerId: worker.id
        });
        extra.workersAfterExit = clusterPrimary.workers.map(worker => worker.id);
    },
    workerReady ({
        data: {
            worker
        }
    }) {
        extra.readyWorkerIds.push(worker.id);

        if (extra.readyWorkerIds.length === 1) {
            clusterPrimary.send({
                message: 'trap',
                to: worker
            });
        } else {
            clusterPrimary.destroy();
        }
    }
});

clusterPrimary.on('destroyComplete', async () => {
    extra.finalExits = await waitForExits(recorder.forkedWorkers);
    extra.fullTrace = recorder.fullTrace;
    emit({
        extra,
        messages: recorder.messages,
        scenario: SCENARIO,
        trace: recorder.trace
    });
});

clusterPrimary.fork();
