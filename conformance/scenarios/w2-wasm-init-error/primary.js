// isowasm scenario w2-wasm-init-error (not recorded from the original: see "Expected trace" below).
//
// Pins down: a compiled worker whose isowasm_init fails is, to the primary, a JS worker whose
// _initialize throws (unprevented initializeError): it comes online, never sends 'ready' (no
// workerReady, never in workers), exits with code 1 and is replaced; the primary calls shutDown() in
// 'on workerExit' of the second one, so no third is forked. Mirrors SEMANTICS.md "An _initialize that
// throws" (worker side of original tests 1-3) with reference 16's shutDown-in-workerExit.
//
// Workers: worker.js is a _make(ClusterWorker) whose _initialize throws; worker.wasm (worker.wat)
// returns 1 from isowasm_init.
//
// Expected trace (../../traces/w2-wasm-init-error.json): derived from the JS behaviour. Recorded from
// `isowasm run primary.js` with worker.js and checked against SEMANTICS.md ("Unprevented, it is
// rethrown asynchronously ..., the process exits 1 and is replaced, never having been ready").
// `isowasm conformance --reference node` runs it with the original on Node, which must give the same.
import _ClusterPrimary from 'isotropic-cluster/lib/cluster-primary.js';
import {
    armTimeout,
    createRecorder,
    emit,
    waitForExits,
    TEST_EVENTS_COMMUNICATE
} from '../_common/harness.js';

const SCENARIO = 'w2-wasm-init-error',
    clusterPrimary = _ClusterPrimary({
        workerScript: `${import.meta.dirname}/worker.js`
    }),
    extra = {
        workerExitObjects: []
    },
    recorder = createRecorder(clusterPrimary, {
        events: [
            ...TEST_EVENTS_COMMUNICATE,
            'workerExit'
        ]
    });

armTimeout(SCENARIO, 30000);

// The second death stops the cycle: shutDown() in 'on workerExit' prevents its replacement (as in 16).
clusterPrimary.on('workerExit', () => {
    if (extra.workerExitObjects.length === 1) {
        clusterPrimary.shutDown();
    }
});

clusterPrimary.after({
    shutDownComplete () {
        clusterPrimary.destroy();
    },
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
