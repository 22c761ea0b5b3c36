// Hello world over node:http, listening on PORT: the Node peer's worker, and
// the very same file is isowasm's JavaScript worker in isowasm-httpbench.
'use strict';

const http = require('node:http');

http.createServer((request, response) => {
    response.writeHead(200, {
        'Content-Type': 'text/plain'
    });
    response.end('Hello World');
}).listen(Number(process.env.PORT));
