// The JS behaviour the Wasm worker is held to: a worker script that cannot even load (a syntax
// error), so no code of it runs: the process comes online, then exits 1, never ready.
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';

_ClusterWorker(;
