#!/usr/bin/env node
// W6 echo server for Node.js: the `net` module, one 'data' handler per socket.
//
// Usage: node echo_server.js --port P
//
// Listens on 127.0.0.1:P, prints READY once listening, echoes every byte back,
// and exits 0 on SIGTERM or SIGINT. TCP_NODELAY is set on every connection, as
// asyncio and uvloop do by default and as every peer server here does.
'use strict';

const net = require('net');

function parsePort(argv) {
  const i = argv.indexOf('--port');
  const port = i >= 0 ? parseInt(argv[i + 1], 10) : NaN;
  if (!(port >= 0 && port <= 65535) || argv.length !== 2) {
    console.error('usage: node echo_server.js --port P');
    process.exit(2);
  }
  return port;
}

const port = parsePort(process.argv.slice(2));
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});
server.listen({ host: '127.0.0.1', port, backlog: 512 }, () => console.log('READY'));

const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
