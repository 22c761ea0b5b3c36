// worker.js: the isotropic-cluster README's HTTP worker. Two typos of the
// README are fixed as a new user would have to (`ressponse` and the
// undeclared `ClusterWorker`: both throw ReferenceError under Node too);
// PORT, when set, replaces the README's 3000 (tests use a free port).
import _ClusterWorker from 'isotropic-cluster/lib/cluster-worker.js';
import _http from 'node:http';

{
    const worker = _ClusterWorker(),
        port = Number(process.env.PORT || 3000);

    // Create HTTP server
    const server = _http.createServer((request, response) => {
        response.writeHead(200);
        response.end(`Hello from worker ${_ClusterWorker.workerId}`);
    });

    // Start listening on port 3000
    server.listen(port, () => {
        console.log(`Worker ${_ClusterWorker.workerId} listening on port ${port}`);
    });

    // Handle shutdown
    worker.on('primaryDisconnect', () => {
        console.log('Primary asked worker to disconnect, closing server');
        server.close(() => {
            process.exit(0);
        });
    });
}
