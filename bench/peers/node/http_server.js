#!/usr/bin/env node
// W7 HTTP server for Node.js: the `http` module, GET / -> "Hello, World!" (text/plain).
//
// Usage: node http_server.js --port P
//
// Listens on 127.0.0.1:P, prints READY once listening, exits 0 on SIGTERM or SIGINT.
'use strict';

const http = require('http');

const i = process.argv.indexOf('--port');
const port = i >= 0 ? parseInt(process.argv[i + 1], 10) : NaN;
if (!(port >= 0 && port <= 65535)) {
  console.error('usage: node http_server.js --port P');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 13 });
    res.end('Hello, World!');
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found');
  }
});
server.keepAliveTimeout = 130000;
server.listen({ host: '127.0.0.1', port, backlog: 512 }, () => console.log('READY'));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
