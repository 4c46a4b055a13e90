#!/usr/bin/python3
"""W10S side by side: static-file throughput, HTTP/1.1 keep-alive GET /static/<file> for a 1 MiB and a 1 KiB file.

Aio.Http's Router.Static (sendfile(2) on the plain socket), Node's fs.createReadStream().pipe(res)
(bench/peers/node/static_server.js) and Kestrel's UseStaticFiles (bench/peers/kestrel --static). Each server runs
pinned to core 0 and prints READY; wrk -t1 -c64 runs pinned to core 1: 2 s of warm-up, then the timed run. Reported
per server and file: requests/s, MiB/s, and requests per second of server CPU time; medians of the repeats (peers
interleaved in each repeat), with ratios against Node from the same run.

    /usr/bin/python3 bench/w10s.py [--peers aio,node,kestrel] [--repeat K] [--duration S] [--client wrk|lean] [--conns C]

--client lean replaces wrk with bench/c/build/get_client (make -C bench/c): the same keep-alive GETs, one outstanding
per connection, but the body is discarded with recv(MSG_TRUNC) instead of being copied into user memory 8 KiB at a
time. wrk's own core is the limit for the 1 MiB file (every server then looks alike); the lean client costs far less
per byte, so the servers' side of the transfer shows.

Invoked by bench/run-peers.sh --only W10S.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from w7 import AIO_DLL, BENCH, KESTREL_DLL, ROOT, cpu_s, free_port, log, start, stop  # noqa: E402

SERVERS = {
    "aio": lambda p, d: ["dotnet", AIO_DLL, "http-server", "--port", p, "--static", d],
    "node": lambda p, d: ["node", os.path.join(BENCH, "peers", "node", "static_server.js"), "--port", p, "--static", d],
    "kestrel": lambda p, d: ["dotnet", KESTREL_DLL, "--port", p, "--static", d],
}
FILES = {"1MiB": 1 << 20, "1KiB": 1 << 10}


def wrk(url, seconds):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{seconds}s", url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    # wrk's socket "timeouts" on a loaded machine are slow responses, not failures; wrong answers are.
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: connect [1-9].*|Socket errors: .*read [1-9].*", out)
    return rps, total, errors.group(0) if errors else None


def lean(url_path, port, seconds, pid, conns, warmup=0):
    exe = os.path.join(BENCH, "c", "build", "get_client")
    out = subprocess.run(["taskset", "-c", "1", exe, "--port", str(port), "--path", url_path, "--conns", str(conns),
                          "--warmup", str(warmup), "--duration", str(seconds), "--server-pid", str(pid)],
                         capture_output=True, text=True, timeout=seconds + warmup + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        return None, f"get_client exit {out.returncode}: {out.stderr.strip()[-300:]!r}"
    return dict(kv.split("=", 1) for kv in line.split()[1:]), None


def run_one(name, directory, duration, client="wrk", conns=64):
    port = free_port()
    argv = ["taskset", "-c", "0"] + SERVERS[name](str(port), directory)
    proc, error = start(argv)
    if proc is None:
        return None, error
    results = {}
    try:
        for fname, size in FILES.items():
            url = f"http://127.0.0.1:{port}/static/{fname}.bin"
            if client == "lean":
                f, err = lean(f"/static/{fname}.bin", port, duration, proc.pid, conns, warmup=2)
                if f is None:
                    return None, f"{fname}: {err}"
                rps = float(f["value"])
                results[fname] = {"rps": rps, "mib_s": rps * size / (1 << 20),
                                  "req_per_cpu_s": float(f["req_per_server_cpu_s"]), "client_cpu_s": float(f["client_cpu_s"])}
                continue
            wrk(url, 2)
            c0 = cpu_s(proc.pid)
            rps, total, errors = wrk(url, duration)
            c1 = cpu_s(proc.pid)
            if errors:
                return None, f"{fname}: {errors}"
            results[fname] = {"rps": rps, "mib_s": rps * size / (1 << 20), "req_per_cpu_s": total / max(c1 - c0, 1e-9)}
        return results, None
    except (OSError, subprocess.SubprocessError, AttributeError) as e:
        return None, f"failed: {e}"
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", default=",".join(SERVERS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--client", choices=("wrk", "lean"), default="wrk")
    ap.add_argument("--conns", type=int, default=64, help="connections of the lean client (wrk: always 64)")
    a = ap.parse_args()
    peers = [p for p in a.peers.split(",") if p]
    if not a.no_build:
        for proj in ("bench/Aio.Bench", "bench/peers/kestrel"):
            subprocess.run(["dotnet", "build", proj, "-c", "Release", "-nologo", "-clp:ErrorsOnly"], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL)
    if a.client == "lean":
        subprocess.run(["make", "-s", "-C", os.path.join(BENCH, "c")], check=True)
    with tempfile.TemporaryDirectory(prefix="w10s-") as directory:
        for fname, size in FILES.items():
            with open(os.path.join(directory, f"{fname}.bin"), "wb") as f:
                f.write(os.urandom(size))
        results = {p: {f: [] for f in FILES} for p in peers}
        for _ in range(a.repeat):
            for p in peers:
                r, reason = run_one(p, directory, a.duration, a.client, a.conns)
                if r is None:
                    log(f"{p}: not available: {reason}")
                    continue
                for fname, m in r.items():
                    log(f"{p} {fname}: {m['rps']:.0f} req/s, {m['mib_s']:.0f} MiB/s, {m['req_per_cpu_s']:.0f} req/CPU-s"
                        + (f", client CPU {m['client_cpu_s']:.2f} s" if "client_cpu_s" in m else ""))
                    results[p][fname].append(m)
    print(f"client: {'bench/c/build/get_client --conns ' + str(a.conns) if a.client == 'lean' else 'wrk -t1 -c64'}")
    print("| W10S server | file | req/s | MiB/s | req per server CPU s | vs node (req/s) | vs node (req/CPU-s) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    med = {}
    for p in peers:
        for fname in FILES:
            rs = results[p][fname]
            if rs:
                med[(p, fname)] = {k: statistics.median(x[k] for x in rs) for k in rs[0]}
    for (p, fname), m in med.items():
        node = med.get(("node", fname))
        vr = f"{m['rps'] / node['rps']:.2f}x" if node else "-"
        vc = f"{m['req_per_cpu_s'] / node['req_per_cpu_s']:.2f}x" if node else "-"
        print(f"| {p} | {fname} | {m['rps']:.0f} | {m['mib_s']:.0f} | {m['req_per_cpu_s']:.0f} | {vr} | {vc} |")
    for (p, fname), m in med.items():
        print(f"RESULT workload=W10S-{fname} peer={p} value={m['rps']:.0f} unit=req/s mib_s={m['mib_s']:.0f} req_per_cpu_s={m['req_per_cpu_s']:.0f}")


if __name__ == "__main__":
    main()
