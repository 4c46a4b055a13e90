#!/usr/bin/python3
"""W9 side by side: WebSocket echo, 64 clients, 1 KiB text messages, one message outstanding per client.

Servers (route /ws): Aio.Http (Aio.Bench ws-echo: Router.WebSocket, await foreach, SendTextAsync), Node's `ws`
package (bench/peers/node/ws_echo.js), aiohttp on asyncio and on uvloop (bench/peers/python/ws_echo.py) and
Kestrel's WebSockets (bench/peers/kestrel --ws). One load generator for all: bench/peers/node/ws_load.js (the `ws`
client), 3 s of warm-up, then the timed run. Each server runs pinned to core 0 and prints READY; the load runs
pinned to core 1. Reported per server: round trips/s, p99 latency, and round trips per second of server CPU time
(user + system from /proc/PID/stat, read by the load script at the start and the end of the timed window); medians
of the repeats (servers interleaved, order rotated each repeat), with ratios against Node and aiohttp from the same
run.

    /usr/bin/python3 bench/w9.py [--peers aio,node,kestrel,aiohttp-asyncio,aiohttp-uvloop] [--repeat K] [--duration S]

Invoked by bench/run-peers.sh --only W9. Needs node and `ws` (npm ci in bench/peers/node; bench/run-peers.sh
--install does it); aiohttp peers need Debian's python3-aiohttp and python3-uvloop; Kestrel the ASP.NET Core runtime.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from w7 import AIO_DLL, BENCH, KESTREL_DLL, PY, ROOT, free_port, log, start, stop  # noqa: E402

NODE_DIR = os.path.join(BENCH, "peers", "node")
SERVERS = {
    "aio": lambda p: ["dotnet", AIO_DLL, "ws-echo", "--port", p],
    "node": lambda p: ["node", os.path.join(NODE_DIR, "ws_echo.js"), "--port", p],
    "kestrel": lambda p: ["dotnet", KESTREL_DLL, "--port", p, "--ws"],
    "aiohttp-asyncio": lambda p: [PY, os.path.join(BENCH, "peers", "python", "ws_echo.py"), "--loop", "asyncio", "--port", p],
    "aiohttp-uvloop": lambda p: [PY, os.path.join(BENCH, "peers", "python", "ws_echo.py"), "--loop", "uvloop", "--port", p],
}
# AIO_BASE_DLL=/path/to/an/older/Aio.Bench.dll adds the peer "aio-base" (a before/after comparison in one run).
if os.environ.get("AIO_BASE_DLL"):
    SERVERS["aio-base"] = lambda p: ["dotnet", os.environ["AIO_BASE_DLL"], "ws-echo", "--port", p]
KEYS = ("value", "rt_per_cpu_s", "server_cpu_s", "p99_us", "client_cpu_s")


def load(port, pid, clients, size, warmup, duration):
    argv = ["taskset", "-c", "1", "node", os.path.join(NODE_DIR, "ws_load.js"), "--port", str(port), "--pid", str(pid),
            "--clients", str(clients), "--size", str(size), "--warmup", str(warmup), "--duration", str(duration)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=warmup + duration + 90)
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if r.returncode != 0 or line is None:
        return None, f"load exit {r.returncode}: {r.stderr.strip()[-300:]!r}"
    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    return {k: float(fields[k]) for k in KEYS}, None


def run_one(name, a):
    port = free_port()
    argv = ["taskset", "-c", "0"] + SERVERS[name](str(port))
    proc, error = start(argv)
    if proc is None:
        return None, error
    try:
        return load(port, proc.pid, a.clients, a.size, a.warmup, a.duration)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        return None, f"failed: {e}"
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", default=",".join(SERVERS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    peers = [p for p in a.peers.split(",") if p]
    unknown = [p for p in peers if p not in SERVERS]
    if unknown:
        ap.error(f"unknown peers {unknown}; known: {','.join(SERVERS)}")
    if not a.no_build:
        for proj in ("bench/Aio.Bench", "bench/peers/kestrel"):
            subprocess.run(["dotnet", "build", proj, "-c", "Release", "-nologo", "-clp:ErrorsOnly"], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL)
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "ws")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=False, stdout=subprocess.DEVNULL)
    results = {p: [] for p in peers}
    for k in range(a.repeat):
        order = peers[k % len(peers):] + peers[:k % len(peers)]
        for p in order:
            r, reason = run_one(p, a)
            if r is None:
                log(f"{p}: not available: {reason}")
            else:
                log(f"{p}: {r['value']:.0f} rt/s, p99 {r['p99_us'] / 1000:.2f} ms, {r['rt_per_cpu_s']:.0f} rt/CPU-s "
                    f"(server CPU {r['server_cpu_s']:.2f} s, client CPU {r['client_cpu_s']:.2f} s)")
                results[p].append(r)
    med = {p: {k: statistics.median(x[k] for x in rs) for k in KEYS} for p, rs in results.items() if rs}
    print(f"| W9 server | round trips/s | p99 ms | server CPU s | round trips per server CPU s | vs node (rt/CPU-s) "
          f"| vs aiohttp-asyncio (rt/CPU-s) | vs aiohttp-uvloop (rt/CPU-s) | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p, m in med.items():
        def vs(ref):
            return f"{m['rt_per_cpu_s'] / med[ref]['rt_per_cpu_s']:.2f}x" if ref in med else "-"
        print(f"| {p} | {m['value']:.0f} | {m['p99_us'] / 1000:.2f} | {m['server_cpu_s']:.2f} | {m['rt_per_cpu_s']:.0f} "
              f"| {vs('node')} | {vs('aiohttp-asyncio')} | {vs('aiohttp-uvloop')} | {len(results[p])} |")
    for p, m in med.items():
        print(f"RESULT workload=W9 peer={p} value={m['value']:.0f} unit=rt/s p99_us={m['p99_us']:.0f} "
              f"rt_per_cpu_s={m['rt_per_cpu_s']:.0f} server_cpu_s={m['server_cpu_s']:.2f}")


if __name__ == "__main__":
    main()
