#!/usr/bin/python3
"""W7 side by side: HTTP/1.1 keep-alive GET / -> "Hello, World!" (text/plain).

Each server runs pinned to core 0 and prints READY; wrk -t1 -c64 runs pinned to core 1: 3 s of warm-up, then
10 s timed. Reported per server: requests/s, p99 latency, and requests per second of server CPU time (user +
system, from /proc/PID/stat over the timed run), with ratios against Node and Kestrel from the same run.

    /usr/bin/python3 bench/w7.py [--peers aio,node,kestrel,aiohttp-asyncio,aiohttp-uvloop] [--repeat K] [--duration S]

Invoked by bench/run-peers.sh --only W7. Needs wrk and node; aiohttp peers need Debian's python3-aiohttp and
python3-uvloop (bench/run-peers.sh --install); Kestrel needs the ASP.NET Core runtime.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
AIO_DLL = os.path.join(BENCH, "Aio.Bench", "bin", "Release", "net10.0", "Aio.Bench.dll")
KESTREL_DLL = os.path.join(BENCH, "peers", "kestrel", "bin", "Release", "net10.0", "Peers.Kestrel.dll")
PY = "/usr/bin/python3"

SERVERS = {
    "aio": lambda p: ["dotnet", AIO_DLL, "http-server", "--port", p],
    "node": lambda p: ["node", os.path.join(BENCH, "peers", "node", "http_server.js"), "--port", p],
    "kestrel": lambda p: ["dotnet", KESTREL_DLL, "--port", p],
    "aiohttp-asyncio": lambda p: [PY, os.path.join(BENCH, "peers", "python", "http_server.py"), "--loop", "asyncio", "--port", p],
    "aiohttp-uvloop": lambda p: [PY, os.path.join(BENCH, "peers", "python", "http_server.py"), "--loop", "uvloop", "--port", p],
}
TICKS = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def stop(proc):
    """SIGTERM to a server we started (by its process), SIGKILL if it is still there after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start(argv):
    """Starts a server (argv) and waits up to 30 s for its READY line: (process, None), or (None, why not)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    line = ""
    while time.time() < deadline:
        line = proc.stdout.readline()
        if "READY" in line or line == "":
            break
    if "READY" in line:
        return proc, None
    error = f"did not print READY ({proc.stderr.read()[-300:]!r})"
    stop(proc)
    return None, error


def wrk(port, seconds):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return rps, p99_ms, total, errors.group(0) if errors else None


def run_one(name, duration):
    port = free_port()
    argv = ["taskset", "-c", "0"] + SERVERS[name](str(port))
    proc, error = start(argv)
    if proc is None:
        return None, error
    try:
        wrk(port, 3)
        c0 = cpu_s(proc.pid)
        rps, p99, total, errors = wrk(port, duration)
        c1 = cpu_s(proc.pid)
        if errors:
            return None, errors
        return {"rps": rps, "p99_ms": p99, "cpu_s": c1 - c0, "req_per_cpu_s": total / max(c1 - c0, 1e-9)}, None
    except (OSError, subprocess.SubprocessError, AttributeError) as e:
        return None, f"failed: {e}"
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", default=",".join(SERVERS))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    peers = [p for p in a.peers.split(",") if p]
    if not a.no_build:
        for proj in ("bench/Aio.Bench", "bench/peers/kestrel"):
            subprocess.run(["dotnet", "build", proj, "-c", "Release", "-nologo", "-clp:ErrorsOnly"], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL)
    results = {p: [] for p in peers}
    for _ in range(a.repeat):
        for p in peers:
            r, reason = run_one(p, a.duration)
            if r is None:
                log(f"{p}: not available: {reason}")
            else:
                log(f"{p}: {r['rps']:.0f} req/s, p99 {r['p99_ms']:.2f} ms, {r['req_per_cpu_s']:.0f} req/CPU-s")
                results[p].append(r)
    med = {p: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for p, rs in results.items() if rs}
    print("| W7 server | req/s | p99 ms | req per server CPU s | vs node (req/CPU-s) | vs kestrel (req/CPU-s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for p, m in med.items():
        vn = f"{m['req_per_cpu_s'] / med['node']['req_per_cpu_s']:.2f}x" if "node" in med else "-"
        vk = f"{m['req_per_cpu_s'] / med['kestrel']['req_per_cpu_s']:.2f}x" if "kestrel" in med else "-"
        print(f"| {p} | {m['rps']:.0f} | {m['p99_ms']:.2f} | {m['req_per_cpu_s']:.0f} | {vn} | {vk} |")
    for p, m in med.items():
        print(f"RESULT workload=W7 peer={p} value={m['rps']:.0f} unit=req/s p99_ms={m['p99_ms']:.3f} req_per_cpu_s={m['req_per_cpu_s']:.0f}")


if __name__ == "__main__":
    main()
