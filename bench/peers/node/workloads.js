#!/usr/bin/env node
// W1-W5 for Node.js (bench/README.md describes each workload).
//
// Usage: node workloads.js W1 [--n N] [--warmup 0|1]
//
// Runs the workload once at n/10 as an in-process warm-up (unless --warmup 0), then
// once at n, and prints one line:
//
//   RESULT workload=W1 peer=node value=<number> unit=<unit> n=<ops> elapsed_s=<s> cpu_s=<s>
//
// cpu_s is the process CPU time (user+system, all threads) spent in the timed run.
// Exits 1 when the workload's check fails.
//
// Analogues of asyncio's operations, chosen to be the closest, not the fastest:
//   call_soon(cb)       -> setImmediate(cb): a macrotask queue drained once per loop
//                          iteration, interleaved with I/O polling, as asyncio's ready
//                          queue is. queueMicrotask would be faster but runs before the
//                          loop polls I/O at all, so it is not a loop callback.
//   asyncio.sleep(0)    -> await new Promise(r => setImmediate(r))
//   asyncio.sleep(s)    -> await new Promise(r => setTimeout(r, ms))
//   asyncio.Queue(100)  -> BoundedQueue below (Node has none built in)
//   asyncio.Lock        -> Mutex below (Node has none built in)
'use strict';

const fs = require('fs');
const v8 = require('v8');
const vm = require('vm');

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

// --- W1: setImmediate callbacks ---------------------------------------------------

async function w1Callbacks(n) {
  let count = 0;
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });
  const callback = () => {
    count += 1;
    if (count === n) resolveDone();
  };
  for (let i = 0; i < n; i++) setImmediate(callback);
  await done;
  return count === n;
}

// --- W2: spawn tasks that yield twice -------------------------------------------------

async function w2Child(i) {
  await yieldToLoop();
  await yieldToLoop();
  return i;
}

async function w2Spawn(n) {
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = w2Child(i);
  const results = await Promise.all(tasks);
  let sum = 0;
  for (const r of results) sum += r;
  return sum === n * (n - 1) / 2;
}

// --- W3: timers ---------------------------------------------------------------------------

function readStatusKiB(field) {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field + ':'));
  if (!line) throw new Error(`${field} not in /proc/self/status`);
  return parseInt(line.split(/\s+/)[1], 10);
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so the peak is this run's.
function resetPeakRss() {
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch { /* not permitted: keep lifetime peak */ }
}

function sleepMs(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function w3Sleeper(ms) {
  await sleepMs(ms);
}

async function w3Timers(n) {
  let x = 42;
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    tasks[i] = w3Sleeper(x % 1001);
  }
  await Promise.all(tasks);
  return true;
}

// --- W4: bounded queue --------------------------------------------------------------------

// asyncio.Queue's algorithm: a FIFO of items plus FIFOs of parked getters and putters.
class BoundedQueue {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = [];
    this.getters = [];
    this.putters = [];
  }

  async put(item) {
    while (this.items.length >= this.capacity) {
      await new Promise((resolve) => this.putters.push(resolve));
    }
    this.items.push(item);
    if (this.getters.length > 0) this.getters.shift()();
  }

  async get() {
    while (this.items.length === 0) {
      await new Promise((resolve) => this.getters.push(resolve));
    }
    const item = this.items.shift();
    if (this.putters.length > 0) this.putters.shift()();
    return item;
  }
}

async function w4Queue(n) {
  const q = new BoundedQueue(100);
  const producer = async () => {
    for (let i = 0; i < n; i++) await q.put(i);
  };
  const consumer = async () => {
    let total = 0;
    for (let i = 0; i < n; i++) total += await q.get();
    return total;
  };
  const [, total] = await Promise.all([producer(), consumer()]);
  return total === n * (n - 1) / 2;
}

// --- W5: lock -------------------------------------------------------------------------------

// A FIFO mutex: release hands the lock straight to the first waiter.
class Mutex {
  constructor() {
    this.locked = false;
    this.waiters = [];
  }

  async acquire() {
    if (!this.locked) {
      this.locked = true;
      return;
    }
    await new Promise((resolve) => this.waiters.push(resolve));
  }

  release() {
    if (this.waiters.length > 0) this.waiters.shift()();
    else this.locked = false;
  }
}

const W5_ACQUISITIONS_PER_TASK = 100; // n = 100,000 -> 1,000 tasks; any n is split exactly

async function w5Lock(n) {
  const lock = new Mutex();
  let counter = 0;
  const worker = async (acquisitions) => {
    for (let i = 0; i < acquisitions; i++) {
      await lock.acquire();
      try {
        const value = counter;
        await yieldToLoop();
        counter = value + 1;
      } finally {
        lock.release();
      }
    }
  };
  const workers = [];
  const tasks = Math.max(Math.floor(n / W5_ACQUISITIONS_PER_TASK), 1);
  for (let t = 0; t < tasks; t++) workers.push(worker(Math.floor(n / tasks) + (t < n % tasks ? 1 : 0)));
  await Promise.all(workers);
  return counter === n;
}

const WORKLOADS = {
  // id: [function, default n, unit, value is a rate (true) or the wall time (false)]
  W1: [w1Callbacks, 1_000_000, 'callbacks/s', true],
  W2: [w2Spawn, 100_000, 'tasks/s', true],
  W3: [w3Timers, 100_000, 's', false],
  W4: [w4Queue, 1_000_000, 'items/s', true],
  W5: [w5Lock, 100_000, 'acquisitions/s', true],
};

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// Runs one workload; the memory baseline is taken just before the clock starts.
async function measure(workload, n) {
  const fn = WORKLOADS[workload][0];
  collectGarbage(); // leave no garbage from the warm-up run
  resetPeakRss();
  const rssBefore = readStatusKiB('VmRSS');
  const cpu0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  const ok = await fn(n);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds() - cpu0;
  let extra = '';
  if (workload === 'W3') {
    const peak = readStatusKiB('VmHWM');
    extra = ` peak_rss_kib=${peak} bytes_per_task=${Math.round((peak - rssBefore) * 1024 / n)}`;
  }
  return { ok, elapsed, cpu, extra };
}

function parseArgs(argv) {
  const usage = 'usage: node workloads.js W1|W2|W3|W4|W5 [--n N] [--warmup 0|1]';
  const args = { workload: null, n: null, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--n') args.n = parseInt(argv[++i], 10);
    else if (a === '--warmup') args.warmup = parseInt(argv[++i], 10);
    else if (a in WORKLOADS && args.workload === null) args.workload = a;
    else throw new Error(`${usage}\nunexpected argument: ${a}`);
  }
  if (args.workload === null) throw new Error(usage);
  if (args.n !== null && !(args.n > 0)) throw new Error(`${usage}\n--n must be a positive integer`);
  if (args.warmup !== 0 && args.warmup !== 1) throw new Error(`${usage}\n--warmup must be 0 or 1`);
  return args;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    return 2;
  }
  const [, defaultN, unit, isRate] = WORKLOADS[args.workload];
  const n = args.n ?? defaultN;
  if (args.warmup) {
    const warm = await measure(args.workload, Math.max(Math.floor(n / 10), 1));
    if (!warm.ok) {
      console.error(`${args.workload} warm-up check failed (peer=node)`);
      return 1;
    }
  }
  const r = await measure(args.workload, n);
  if (!r.ok) {
    console.error(`${args.workload} check failed (peer=node, n=${n})`);
    return 1;
  }
  const value = isRate ? (n / r.elapsed).toFixed(1) : r.elapsed.toFixed(4);
  console.log(`RESULT workload=${args.workload} peer=node value=${value} unit=${unit} ` +
    `n=${n} elapsed_s=${r.elapsed.toFixed(4)} cpu_s=${r.cpu.toFixed(4)}${r.extra}`);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (err) => { console.error(err); process.exitCode = 1; });
