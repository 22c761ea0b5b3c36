// The peer's worker logic on isowasm's node:process alone (no
// ClusterWorker, no isotropic-pubsub): BenchmarkJSWorker compares it with
// workers/worker.js to split a message's cost between the runtime and the
// isotropic layers.
import process from 'node:process';

process.on('message', message => {
    if (message.type === 'ping') {
        process.send({n: message.n, type: 'pong'});
    } else if (message.type === 'echo') {
        process.send(message);
    }
});

process.send('ready');
