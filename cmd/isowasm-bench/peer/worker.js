// The Node peer's worker: plain node:cluster, no dependencies. It does what
// ../workers/worker.js does under isowasm: says 'ready', answers
// {type: 'ping', n} with {type: 'pong', n} and sends {type: 'echo', ...}
// messages back as they came.
'use strict';

process.on('message', message => {
    if (message.type === 'ping') {
        process.send({n: message.n, type: 'pong'});
    } else if (message.type === 'echo') {
        process.send(message);
    }
});

process.send('ready');
