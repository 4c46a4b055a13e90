// W8's Node.js peer: one http.Agent (keep-alive, maxSockets = conc), conc workers making GETs in turn, bodies
// checked; warm-up requests first, untimed.
//   node bench/peers/node/http_client.js --url U [--n 20000] [--conc 64] [--warmup 2000]
"use strict";
const http = require("http");
const arg = (name, fallback) => { const i = process.argv.indexOf("--" + name); return i > 0 ? process.argv[i + 1] : fallback; };
const url = new URL(arg("url", "http://127.0.0.1:8080/"));
const n = Number(arg("n", 20000)), conc = Number(arg("conc", 64)), warmup = Number(arg("warmup", 2000));
const expect = "Hello, World!";
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });

function get() {
  return new Promise((resolve, reject) => {
    http.get({ host: url.hostname, port: url.port, path: url.pathname, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString()));
      res.on("error", reject);
    }).on("error", reject);
  });
}

async function run(count) {
  let started = 0, bad = 0;
  const worker = async () => { while (started < count) { started++; if ((await get()) !== expect) bad++; } };
  await Promise.all(Array.from({ length: conc }, worker));
  return bad;
}

(async () => {
  if (warmup > 0) await run(warmup);
  const cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  const bad = await run(n);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0), cpu = (c.user + c.system) / 1e6;
  if (bad > 0) { console.error(`W8 check failed: ${bad} bad bodies`); process.exit(1); }
  console.log(`RESULT workload=W8 peer=node value=${(n / elapsed).toFixed(1)} unit=req/s n=${n} elapsed_s=${elapsed.toFixed(4)} cpu_s=${cpu.toFixed(3)} conc=${conc} cpu_us_per_req=${(cpu / n * 1e6).toFixed(1)}`);
  agent.destroy();
})();
