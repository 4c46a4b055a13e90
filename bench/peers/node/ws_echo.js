#!/usr/bin/env node
// W9 WebSocket echo server for Node.js: the npm package `ws` (bench/peers/node/package.json), path /ws, every
// message sent back as it came (text stays text).
//
// Usage: node ws_echo.js --port P
//
// Listens on 127.0.0.1:P, prints READY once listening, exits 0 on SIGTERM or SIGINT.
'use strict';

const { WebSocketServer } = require('ws');

const i = process.argv.indexOf('--port');
const port = i >= 0 ? parseInt(process.argv[i + 1], 10) : NaN;
if (!(port >= 0 && port <= 65535)) {
  console.error('usage: node ws_echo.js --port P');
  process.exit(2);
}

const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws', backlog: 512 }, () => console.log('READY'));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
