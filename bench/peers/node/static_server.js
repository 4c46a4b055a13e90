#!/usr/bin/env node
// W10S static-file server for Node.js: the `http` module, GET /static/<name> -> fs.createReadStream(file).pipe(res),
// with Content-Length from fs.stat (as a static server sends it). Names are plain file names inside DIR.
//
// Usage: node static_server.js --port P --static DIR
//
// Listens on 127.0.0.1:P, prints READY once listening, exits 0 on SIGTERM or SIGINT.
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const port = parseInt(arg('--port'), 10);
const dir = arg('--static');
if (!(port >= 0 && port <= 65535) || !dir) {
  console.error('usage: node static_server.js --port P --static DIR');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const name = req.url.startsWith('/static/') ? req.url.slice(8) : '';
  if (req.method !== 'GET' || name === '' || name.includes('/') || name.startsWith('.')) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found');
    return;
  }
  const file = path.join(dir, name);
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': st.size });
    fs.createReadStream(file).pipe(res);
  });
});
server.keepAliveTimeout = 130000;
server.listen({ host: '127.0.0.1', port, backlog: 512 }, () => console.log('READY'));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
