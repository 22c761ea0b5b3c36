// isowasm scenario w3-wasm-abi-error (not recorded from the original: see "Expected trace" below).
//
// Pins down: a compiled worker the host refuses at start (here: the required export
// isowasm_on_message is missing; the same holds for a wrong ABI version or an unknown import) is, to
// the primary, a JS worker whose script cannot load: it comes online, runs none of its code, exits with
// code 1, is replaced; the primary calls shutDown() in 'on workerExit' of the second one, so no third is
// forked. The refusal's one line on stderr is tested in runtimes/wasm; here, only what the primary sees.
//
// Workers: worker.js has a syntax error; worker.wasm (worker.wat) lacks isowasm_on_message.
//
// Expected trace (../../traces/w3-wasm-abi-error.json): derived from the JS behaviour. Recorded from
// `isowasm run primary.js` with worker.js (Node comes online before loading the main module, so a
// script that cannot load still gives workerOnline, then exit 1). `isowasm conformance --reference
// node` runs it with the original on Node, which must give the same.
import _ClusterPrimary from 'isotropic-cluster/lib/cluster-primary.js';
import {
    armTimeout,
    createRecorder,
    emit,
    waitForExits,
    TEST_EVENTS_COMMUNICATE
} from '../_common/harness.js';

const SCENARIO = 'w3-wasm-abi-error',
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
