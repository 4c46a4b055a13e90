#!/usr/bin/env node
// W9 load generator: C WebSocket clients (npm package `ws`) on one URL; each sends a text message of SIZE bytes,
// waits for its echo, compares it with what it sent, and sends the next. WARMUP seconds untimed, then DURATION
// seconds timed; then every client stops sending and closes, and the script exits by itself.
//
// Usage: node ws_load.js --port P [--clients 64] [--size 1024] [--warmup 3] [--duration 10] [--pid SERVER_PID]
//
// Talks only to ws://127.0.0.1:P/ws. With --pid it reads the server's utime+stime from /proc/PID/stat at the start
// and the end of the timed window. Prints one line
//   RESULT workload=W9 value=<round trips/s> unit=rt/s n=<timed round trips> elapsed_s= server_cpu_s= rt_per_cpu_s=
//          p99_us= client_cpu_s=
// Exit 1 on a wrong echo, an error or an early close; 3 if the run does not finish within its own time limit.
'use strict';

const fs = require('fs');
const WebSocket = require('ws');

function opt(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const port = parseInt(opt('port', 'NaN'), 10);
const clients = parseInt(opt('clients', '64'), 10);
const size = parseInt(opt('size', '1024'), 10);
const warmupS = parseFloat(opt('warmup', '3'));
const durationS = parseFloat(opt('duration', '10'));
const pid = opt('pid', null);
if (!(port > 0 && port <= 65535) || !(clients > 0) || !(size >= 16)) {
  console.error('usage: node ws_load.js --port P [--clients 64] [--size 1024] [--warmup 3] [--duration 10] [--pid PID]');
  process.exit(2);
}

const CLK_TCK = 100;  // Linux's USER_HZ for /proc/PID/stat on every architecture this runs on
function serverCpuS() {
  if (!pid) return NaN;
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (parseInt(f[11], 10) + parseInt(f[12], 10)) / CLK_TCK;
}

const guard = setTimeout(() => { console.error('W9 load: did not finish in time'); process.exit(3); },
  (warmupS + durationS + 60) * 1000);
function fail(msg) { console.error('W9 load: ' + msg); process.exit(1); }

// Messages are printable ASCII, each different: client id and sequence number, then filler to SIZE bytes.
const filler = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(size / 36) + 1);
function message(c, seq) {
  const head = `${c}:${seq}:`;
  return head + filler.slice(0, size - head.length);
}

let phase = 'connecting';   // connecting -> warmup -> timed -> done
let timedCount = 0;
const latencies = [];
let t0 = 0, t1 = 0, cpu0 = 0, cpu1 = 0, ucpu0 = null;
let open = 0, closed = 0;
const sockets = [];

function start(c) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
  sockets.push(ws);
  let seq = 0, expected = '', sentAt = 0n;
  const send = () => { expected = message(c, seq++); sentAt = process.hrtime.bigint(); ws.send(expected); };
  ws.sendNext = send;
  ws.on('open', () => {
    if (++open === clients) begin();
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary || data.toString() !== expected) fail(`client ${c}: wrong echo for message ${seq - 1}`);
    if (phase === 'timed') {
      timedCount++;
      if ((timedCount & 15) === 0) latencies.push(Number(process.hrtime.bigint() - sentAt) / 1000);
    }
    if (phase === 'warmup' || phase === 'timed') send();
  });
  ws.on('error', (e) => fail(`client ${c}: ${e.message}`));
  ws.on('close', () => {
    if (phase !== 'done') fail(`client ${c}: the server closed the connection early`);
    if (++closed === clients) finish();
  });
}

function begin() {
  phase = 'warmup';
  for (const ws of sockets) ws.sendNext();
  setTimeout(() => {
    phase = 'timed';
    cpu0 = serverCpuS(); ucpu0 = process.cpuUsage(); t0 = performance.now();
    setTimeout(() => {
      t1 = performance.now(); cpu1 = serverCpuS();
      phase = 'done';      // replies still in flight are not answered: every loop stops here
      for (const ws of sockets) ws.close(1000);
    }, durationS * 1000);
  }, warmupS * 1000);
}

function finish() {
  clearTimeout(guard);
  const elapsed = (t1 - t0) / 1000;
  const cpu = cpu1 - cpu0;
  const u = process.cpuUsage(ucpu0);
  latencies.sort((a, b) => a - b);
  const p99 = latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] : NaN;
  console.log(`RESULT workload=W9 value=${(timedCount / elapsed).toFixed(0)} unit=rt/s n=${timedCount} ` +
    `elapsed_s=${elapsed.toFixed(3)} server_cpu_s=${cpu.toFixed(2)} rt_per_cpu_s=${(timedCount / cpu).toFixed(0)} ` +
    `p99_us=${p99.toFixed(0)} client_cpu_s=${((u.user + u.system) / 1e6).toFixed(2)}`);
  process.exit(0);
}

for (let c = 0; c < clients; c++) start(c);
