#!/usr/bin/python3
"""Side-by-side runner for the Aio benchmarks W1-W6 (defined in bench/README.md).

Runs every workload in Aio (when its bench program is built) and in each peer -
CPython asyncio, uvloop, Node.js, plain .NET, and for W6 a minimal C epoll server -
and prints one table per workload with the ratios between them. Ratios from one
run are the result: absolute numbers on these machines drift 10-15% between runs.

    /usr/bin/python3 bench/harness.py [--only W1,W6] [--peers aio,asyncio,...] [--quick] [--repeat K]

It first builds what the selected peers need (bench/c, the .NET peer, bench/Aio.Bench)
unless --no-build. bench/run-peers.sh is the one-command wrapper (it can also install
the Debian packages); bench/README.md explains the workloads and the measurements.

How things run:
  * W1-W5: each implementation is one process pinned to core 0 (taskset -c 0) that
    does its own in-process warm-up at n/10 and prints one RESULT line.
  * W6: the echo server is pinned to core 0, the C load client (bench/c/echo_client)
    to core 1. The server's CPU time is utime+stime from /proc/<pid>/stat, read by the
    client at the first and last timed round trip (the timed window), and by this
    script before and after the whole client run (warm-up and connects included).
  * Every process gets a time limit; one that outlives it gets SIGTERM, then SIGKILL
    after a grace period. Only processes this script started are signalled.
  * Loopback only (127.0.0.1); each server gets a port that was free a moment before.
  * The machine is shared. Before each run the harness waits (up to --quiet-wait
    seconds) until the other processes on the machine use less than 15% of a core,
    and for each run it records "other load": CPU time used on the machine by
    processes other than this harness and its children, plus hypervisor steal, as
    % of one core over the run (from /proc/stat and getrusage). A run during which
    that exceeded --max-other-load is measured again (up to --retries times) and the
    attempt with the least other load is kept; the table shows each cell's other load.
  * Each cell is run --repeat times (default 3), implementations interleaved and
    their order rotated each round; the table shows the median run.
"""

import argparse
import datetime
import json
import os
import platform
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PYTHON = "/usr/bin/python3"  # Debian's, which has python3-uvloop and python3-aiohttp
AIO_DLL = os.path.join(BENCH, "Aio.Bench", "bin", "Release", "net10.0", "Aio.Bench.dll")
DOTNET_PEER_DLL = os.path.join(BENCH, "peers", "dotnet", "bin", "Release", "net10.0", "Peers.DotNet.dll")
PY_WORKLOADS = os.path.join(BENCH, "peers", "python", "workloads.py")
PY_ECHO = os.path.join(BENCH, "peers", "python", "echo_server.py")
NODE_WORKLOADS = os.path.join(BENCH, "peers", "node", "workloads.js")
NODE_ECHO = os.path.join(BENCH, "peers", "node", "echo_server.js")
C_ECHO_SERVER = os.path.join(BENCH, "c", "build", "echo_server")
C_ECHO_CLIENT = os.path.join(BENCH, "c", "build", "echo_client")

SERVER_CORE, CLIENT_CORE = "0", "1"
GRACE_S = 5             # SIGTERM -> SIGKILL
READY_TIMEOUT_S = 30    # a server must print READY within this
WORKLOAD_TIMEOUT_S = 300
W6_CLIENT_TIMEOUT_S = 120

ALL_PEERS = ["aio", "asyncio", "uvloop", "node", "dotnet", "c"]

# id: (title, default n, unit, higher is better)
WORKLOADS = {
    "W1": ("callbacks: n call_soon callbacks from inside the loop", 1_000_000, "callbacks/s", True),
    "W2": ("spawn: n tasks, each yields twice, gather", 100_000, "tasks/s", True),
    "W3": ("timers: n tasks sleep 0..1000 ms (xorshift32), gather", 100_000, "s", False),
    "W4": ("queue: n items through a queue of capacity 100", 1_000_000, "items/s", True),
    "W5": ("lock: n/100 tasks × 100 acquisitions, yield inside", 100_000, "acquisitions/s", True),
    "W6": ("TCP echo: 32 connections × one 1 KiB message, C epoll client", 200_000, "round_trips/s", True),
}
W6_WARMUP = 10_000

# W6 servers: (row name, peer group, argv without the port)
W6_SERVERS = [
    ("aio-protocol", "aio", lambda p: ["dotnet", AIO_DLL, "echo-server", "--port", p, "--api", "protocol"]),
    ("aio-streams", "aio", lambda p: ["dotnet", AIO_DLL, "echo-server", "--port", p, "--api", "streams"]),
    ("asyncio-streams", "asyncio", lambda p: [PYTHON, PY_ECHO, "--loop", "asyncio", "--api", "streams", "--port", p]),
    ("asyncio-protocol", "asyncio", lambda p: [PYTHON, PY_ECHO, "--loop", "asyncio", "--api", "protocol", "--port", p]),
    ("uvloop-streams", "uvloop", lambda p: [PYTHON, PY_ECHO, "--loop", "uvloop", "--api", "streams", "--port", p]),
    ("uvloop-protocol", "uvloop", lambda p: [PYTHON, PY_ECHO, "--loop", "uvloop", "--api", "protocol", "--port", p]),
    ("node", "node", lambda p: ["node", NODE_ECHO, "--port", p]),
    ("dotnet", "dotnet", lambda p: ["dotnet", DOTNET_PEER_DLL, "echo-server", "--port", p]),
    ("c", "c", lambda p: [C_ECHO_SERVER, "--port", p]),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rel(path):
    """A path inside the repository, relative to its root, for messages."""
    return os.path.relpath(path, ROOT) if path.startswith(ROOT) else path


# --- availability ---------------------------------------------------------------------------

def _has(cmd):
    return any(os.access(os.path.join(d, cmd), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep))


BUILD_FAILURES = {}  # peer -> why its build failed (a stale build is then not run)
BUILD_TIMEOUT_S = 600


def build(args):
    """Builds what the selected peers need: the C programs, the .NET peer, Aio.Bench."""
    steps = [("c", ["make", "-s", "-C", os.path.join(BENCH, "c")]),
             ("dotnet", ["dotnet", "build", "-c", "Release", "-nologo", "-v", "q",
                         os.path.join(BENCH, "peers", "dotnet", "Peers.DotNet.csproj")])]
    aio_project = os.path.join(BENCH, "Aio.Bench", "Aio.Bench.csproj")
    if os.path.exists(aio_project):
        steps.append(("aio", ["dotnet", "build", "-c", "Release", "-nologo", "-v", "q", aio_project]))
    for peer, argv in steps:
        if peer not in args.peers and not (peer == "c" and "W6" in args.only):
            continue
        shown = " ".join(rel(a) for a in argv if a not in ("-s", "-nologo", "-v", "q"))
        log(f"building: {shown}")
        rc, out, err, timed_out = run_bounded(argv, BUILD_TIMEOUT_S)
        if rc != 0 or timed_out:
            errors = [ln for ln in (out + err).splitlines() if "error" in ln.lower()]
            detail = failure_reason(rc, "\n".join(errors[:1]) or err, timed_out, BUILD_TIMEOUT_S)
            BUILD_FAILURES[peer] = f"{shown} failed, {detail}"
            log(f"{peer}: {BUILD_FAILURES[peer]}")


def peer_unavailable(peer):
    """None when the peer can run, else the reason it cannot."""
    if peer in BUILD_FAILURES:
        return BUILD_FAILURES[peer]
    if peer == "aio":
        if not os.path.exists(AIO_DLL):
            return f"{rel(AIO_DLL)} not found; build it with dotnet build -c Release bench/Aio.Bench"
        if not _has("dotnet"):
            return "dotnet is not on PATH"
    elif peer in ("asyncio", "uvloop"):
        if not os.access(PYTHON, os.X_OK):
            return f"{PYTHON} not found"
        if peer == "uvloop":
            r = subprocess.run([PYTHON, "-c", "import uvloop"], capture_output=True, timeout=30)
            if r.returncode != 0:
                return "uvloop is not importable by /usr/bin/python3; apt-get install -y python3-uvloop"
    elif peer == "node":
        if not _has("node"):
            return "node is not on PATH"
    elif peer == "dotnet":
        if not os.path.exists(DOTNET_PEER_DLL):
            return f"{rel(DOTNET_PEER_DLL)} not found; dotnet build -c Release bench/peers/dotnet"
    elif peer == "c":
        if not os.path.exists(C_ECHO_SERVER):
            return f"{rel(C_ECHO_SERVER)} not found; build with make -C bench/c"
    return None


# --- processes ------------------------------------------------------------------------------

def stop_process(proc):
    """SIGTERM, then SIGKILL after GRACE_S. Signals only this process (one we started)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=GRACE_S)


def run_bounded(argv, timeout):
    """Runs argv to completion within timeout seconds. Returns (rc, stdout, stderr, timed_out)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        stop_process(proc)
        out, err = proc.communicate()
        return proc.returncode, out, err, True


def parse_result(stdout):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    if len(lines) != 1:
        return None
    fields = {}
    for token in lines[0].split()[1:]:
        key, _, value = token.partition("=")
        fields[key] = value
    for key, value in fields.items():
        try:
            fields[key] = float(value)
        except ValueError:
            pass
    return fields


def failure_reason(rc, err, timed_out, timeout):
    if timed_out:
        return f"timed out after {timeout:.0f} s"
    return f"exit code {rc}" + stderr_summary(err)


def stderr_summary(err):
    """': first line … last line' of stderr (a message, a traceback's exception), or ''."""
    lines = [" ".join(ln.split()) for ln in err.splitlines() if ln.strip()]
    if not lines:
        return ""
    if lines[0].lower().startswith("usage"):
        return ": it printed its usage (command or option not supported yet?)"
    text = lines[0][:160] + (f" … {lines[-1][:160]}" if len(lines) > 1 else "")
    return ": " + text.replace("|", "/")


# --- machine load -----------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine_busy_s():
    """CPU seconds the whole machine has used since boot (user+nice+system, all cores),
    plus the time the hypervisor gave our virtual CPUs to someone else (steal)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return (int(fields[1]) + int(fields[2]) + int(fields[3]) + int(fields[8])) / CLK_TCK


def own_cpu_s():
    """CPU seconds used by this harness and its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class OtherLoad:
    """Measures the CPU used by everything except this harness and its children over a span."""

    def __init__(self):
        self.t0, self.busy0, self.own0 = time.monotonic(), machine_busy_s(), own_cpu_s()

    def percent_of_core(self):
        wall = time.monotonic() - self.t0
        other = (machine_busy_s() - self.busy0) - (own_cpu_s() - self.own0)
        return max(0.0, 100 * other / wall) if wall > 0 else 0.0


def wait_for_quiet(max_wait_s, threshold_pct=15, window_s=0.5):
    """Waits until other processes use < threshold_pct of a core. Returns seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < max_wait_s:
        probe = OtherLoad()
        time.sleep(window_s)
        if probe.percent_of_core() < threshold_pct:
            break
    return time.monotonic() - start


def proc_cpu_s(pid):
    """utime+stime of a process from /proc/<pid>/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()  # fields from 3 (state) on
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- W1-W5 ----------------------------------------------------------------------------------

def workload_argv(peer, workload, n, warmup):
    args = [workload, "--n", str(n), "--warmup", str(warmup)]
    if peer == "aio":
        return ["dotnet", AIO_DLL] + args
    if peer in ("asyncio", "uvloop"):
        return [PYTHON, PY_WORKLOADS] + args + ["--loop", peer]
    if peer == "node":
        return ["node", NODE_WORKLOADS] + args
    if peer == "dotnet":
        return ["dotnet", DOTNET_PEER_DLL] + args
    raise ValueError(peer)


def run_workload(peer, workload, n, warmup):
    """One run. Returns (RESULT fields, None) or (None, reason)."""
    argv = ["taskset", "-c", SERVER_CORE] + workload_argv(peer, workload, n, warmup)
    rc, out, err, timed_out = run_bounded(argv, WORKLOAD_TIMEOUT_S)
    if rc != 0 or timed_out:
        return None, failure_reason(rc, err, timed_out, WORKLOAD_TIMEOUT_S)
    result = parse_result(out)
    if result is None:
        return None, "did not print exactly one RESULT line"
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    if result.get("workload") != workload or result.get("peer") != peer or "value" not in result:
        return None, f"RESULT line does not match the contract (workload={workload} peer={peer}): {line[:200]}"
    if result.get("n") != n:
        return None, f"asked for --n {n} but it ran n={result.get('n')}"
    return result, None


# --- W6 -------------------------------------------------------------------------------------

def start_server(argv):
    """Starts a server pinned to SERVER_CORE and waits for READY. Returns (proc, reason)."""
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE] + argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines = queue.Queue()
    err_tail = []

    def pump(stream, sink):
        for line in stream:
            sink(line)

    threading.Thread(target=pump, args=(proc.stdout, lines.put), daemon=True).start()
    threading.Thread(target=pump, args=(proc.stderr, lambda ln: err_tail.append(ln) if len(err_tail) < 50 else None),
                     daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if proc.poll() is not None:
                time.sleep(0.1)  # let the stderr pump catch up
                detail = stderr_summary("".join(err_tail))
                return None, f"server exited with code {proc.returncode} before READY{detail}"
            continue
        if line.strip() == "READY":
            return proc, None
    stop_process(proc)
    return None, f"server printed no READY within {READY_TIMEOUT_S} s"


def run_echo(name, make_argv, n, warmup):
    """One W6 run against one server. Returns (fields, None) or (None, reason)."""
    port = str(free_port())
    proc, reason = start_server(make_argv(port))
    if proc is None:
        return None, reason
    try:
        cpu_before = proc_cpu_s(proc.pid)
        argv = ["taskset", "-c", CLIENT_CORE, C_ECHO_CLIENT, "--port", port, "--peer", name,
                "--server-pid", str(proc.pid), "--n", str(n), "--warmup", str(warmup),
                "--timeout", str(W6_CLIENT_TIMEOUT_S)]
        rc, out, err, timed_out = run_bounded(argv, W6_CLIENT_TIMEOUT_S + 30)
        alive = proc.poll() is None
        cpu_after = proc_cpu_s(proc.pid) if alive else None
    finally:
        server_rc = stop_process(proc)
    if rc != 0 or timed_out:
        return None, "client " + failure_reason(rc, err, timed_out, W6_CLIENT_TIMEOUT_S)
    result = parse_result(out)
    if result is None:
        return None, "client did not print exactly one RESULT line"
    if not alive:
        return None, f"server exited (code {server_rc}) during the run"
    result["server_cpu_s_whole_run"] = cpu_after - cpu_before
    result["round_trips_whole_run"] = n + warmup
    result["server_exit_code"] = server_rc
    return result, None


# --- repetition -----------------------------------------------------------------------------

def median_run(runs, key="value"):
    """The run whose key is the median (lower median for an even count)."""
    ok = sorted((r for r in runs if r is not None), key=lambda r: r[key])
    return ok[(len(ok) - 1) // 2] if ok else None


def run_once(args, workload, name, group, make, n, warmup):
    """One measurement, retried (up to --retries times) while other load exceeds --max-other-load.

    Keeps the attempt with the least other load. Returns (fields, None) or (None, reason).
    """
    best = None
    for attempt in range(args.retries + 1):
        waited = wait_for_quiet(args.quiet_wait)
        if args.quiet_wait > 0 and waited >= args.quiet_wait:
            log(f"(the machine stayed busy for {waited:.0f} s; running anyway)")
        load = OtherLoad()
        if workload == "W6":
            result, reason = run_echo(name, make, n, warmup)
        else:
            result, reason = run_workload(group, workload, n, 1)
        if result is None:
            return None, reason
        result["other_load_pct"] = load.percent_of_core()
        result["attempts"] = attempt + 1
        if best is None or result["other_load_pct"] < best["other_load_pct"]:
            best = result
        if best["other_load_pct"] <= args.max_other_load:
            break
        log(f"{workload} {name}: other load was {result['other_load_pct']:.0f}% of a core; measuring again")
    return best, None


def run_all(args):
    """Returns {workload: {row: {"result": fields} | {"error": reason}}} in display order."""
    results = {}
    unavailable = {p: peer_unavailable(p) for p in args.peers}
    for workload in args.only:
        title, default_n, unit, _ = WORKLOADS[workload]
        n = max(default_n // 10, 1) if args.quick else default_n
        rows = {}
        warmup = None  # W1-W5 warm up in-process (--warmup 1)
        if workload == "W6":
            warmup = W6_WARMUP // 10 if args.quick else W6_WARMUP
            entries = [(name, group, make) for name, group, make in W6_SERVERS if group in args.peers]
        else:
            entries = [(p, p, None) for p in args.peers if p != "c"]
        runs = {name: [] for name, _, _ in entries}
        errors = {}
        for name, group, _ in entries:
            if unavailable[group]:
                errors[name] = unavailable[group]
                log(f"{workload} {name}: not available ({unavailable[group]})")
        live = [e for e in entries if e[0] not in errors]
        for rep in range(args.repeat):
            # Rotate the order each repetition so no implementation always runs first or last.
            order = live[rep % len(live):] + live[:rep % len(live)] if live else []
            for name, group, make in order:
                if name in errors:
                    continue
                result, reason = run_once(args, workload, name, group, make, n, warmup)
                if result is None:
                    errors[name] = reason
                    log(f"{workload} {name}: not available ({reason})")
                    continue
                runs[name].append(result)
                extra = f" server_cpu_s={result['server_cpu_s']:.2f}" if "server_cpu_s" in result else ""
                shown = f"{result['value']:,.0f}" if WORKLOADS[workload][3] else f"{result['value']:.3f}"
                log(f"{workload} {name} [{rep + 1}/{args.repeat}]: {shown} {unit}{extra}"
                    f" (other load {result['other_load_pct']:.0f}%)")
        for name, _, _ in entries:
            if name in errors:
                rows[name] = {"error": errors[name]}
            else:
                rows[name] = {"result": median_run(runs[name]), "runs": runs[name]}
        results[workload] = {"title": title, "n": n, "unit": unit, "rows": rows}
    return results


# --- tables ---------------------------------------------------------------------------------

def fmt_num(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def value_of(rows, name, key="value"):
    row = rows.get(name)
    if not row or "result" not in row or row["result"] is None:
        return None
    return row["result"].get(key)


def advantage(rows, a, b, key, higher_is_better):
    """How many times better a is than b on key (>1: a is better)."""
    va, vb = value_of(rows, a, key), value_of(rows, b, key)
    return ratio(va, vb) if higher_is_better else ratio(vb, va)


def unavailable_row(name, reason, separator):
    """A table row for a peer that could not run, padded to the table's column count."""
    return f"| {name} | not available ({reason}) |" + " |" * (separator.count("|") - 3)


def noise_cells(row):
    """'spread % | other load %': (max-min)/median of the runs' values, and the shown run's other load."""
    values = sorted(r["value"] for r in row.get("runs", []))
    spread = "–"
    if len(values) > 1 and values[len(values) // 2] > 0:
        spread = f"{100 * (values[-1] - values[0]) / values[len(values) // 2]:.0f}"
    return f"{spread} | {row['result']['other_load_pct']:.0f}"


def table_simple(workload, data):
    rows, unit = data["rows"], data["unit"]
    lines = [f"| peer | {unit} | elapsed s | cpu s | aio vs peer | vs asyncio | spread % | other load % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in rows.items():
        if "error" in row:
            lines.append(unavailable_row(name, row["error"], lines[1]))
            continue
        r = row["result"]
        lines.append(f"| {name} | {fmt_num(r['value'])} | {r['elapsed_s']:.3f} | {r['cpu_s']:.3f} | "
                     f"{fmt_ratio(advantage(rows, 'aio', name, 'value', True))} | "
                     f"{fmt_ratio(advantage(rows, name, 'asyncio', 'value', True))} | {noise_cells(row)} |")
    return lines


def table_w3(data):
    rows = data["rows"]
    lines = ["| peer | wall s | cpu s | peak RSS MiB | bytes/task | aio vs peer (wall) | aio vs peer (bytes) "
             "| vs asyncio (wall) | vs asyncio (bytes) | spread % | other load % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in rows.items():
        if "error" in row:
            lines.append(unavailable_row(name, row["error"], lines[1]))
            continue
        r = row["result"]
        lines.append(
            f"| {name} | {r['value']:.3f} | {r['cpu_s']:.3f} | {r.get('peak_rss_kib', 0) / 1024:.1f} | "
            f"{fmt_num(r.get('bytes_per_task'))} | "
            f"{fmt_ratio(advantage(rows, 'aio', name, 'value', False))} | "
            f"{fmt_ratio(advantage(rows, 'aio', name, 'bytes_per_task', False))} | "
            f"{fmt_ratio(advantage(rows, name, 'asyncio', 'value', False))} | "
            f"{fmt_ratio(advantage(rows, name, 'asyncio', 'bytes_per_task', False))} | {noise_cells(row)} |")
    return lines


def table_w6(data):
    rows = data["rows"]
    lines = ["| server | round trips/s | p99 µs | server CPU s (timed) | server CPU s (whole run) "
             "| round trips per server CPU s | vs C (rt/s, rt/CPU s) | vs uvloop-protocol (rt/s, rt/CPU s) "
             "| aio-protocol vs server | aio-streams vs server | spread % | other load % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def pair(a, b):
        return (f"{fmt_ratio(advantage(rows, a, b, 'value', True))} / "
                f"{fmt_ratio(advantage(rows, a, b, 'rt_per_server_cpu_s', True))}")

    for name, row in rows.items():
        if "error" in row:
            lines.append(unavailable_row(name, row["error"], lines[1]))
            continue
        r = row["result"]
        lines.append(
            f"| {name} | {fmt_num(r['value'])} | {fmt_num(r.get('p99_us'))} | {r.get('server_cpu_s', 0):.2f} | "
            f"{r['server_cpu_s_whole_run']:.2f} | {fmt_num(r.get('rt_per_server_cpu_s'))} | "
            f"{pair(name, 'c')} | {pair(name, 'uvloop-protocol')} | "
            f"{pair('aio-protocol', name)} | {pair('aio-streams', name)} | {noise_cells(row)} |")
    return lines


def render(results, meta):
    out = [f"## Aio peer benchmarks — {meta['date']}", "",
           f"Command: `{meta['command']}`  ",
           f"Machine: {meta['machine']}  ",
           f"Versions: {meta['versions']}  ",
           f"Runs per cell: {meta['repeat']} (median shown){' — QUICK (n/10)' if meta['quick'] else ''}; "
           f"a run during which other processes used more than {meta['max_other_load']:.0f}% of a core "
           f"was measured again (up to {meta['retries']} times)", "",
           "Ratios are 'times better': >1 means the first-named is better "
           "(throughput a/b; wall time and bytes b/a). Spread: (max − min) / median of the runs.", ""]
    for workload, data in results.items():
        better = "higher is better" if WORKLOADS[workload][3] else "lower is better"
        out.append(f"### {workload} {data['title']} — n={data['n']:,}, {data['unit']} ({better})")
        out.append("")
        if workload == "W3":
            out += table_w3(data)
        elif workload == "W6":
            out += table_w6(data)
        else:
            out += table_simple(workload, data)
        out.append("")
    return "\n".join(out)


def versions():
    def first_line(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    uv = first_line([PYTHON, "-c", "import uvloop; print(uvloop.__version__)"])
    return (f"CPython {platform.python_version() if sys.executable == PYTHON else first_line([PYTHON, '-V'])}, "
            f"uvloop {uv}, Node {first_line(['node', '--version'])}, "
            f".NET {first_line(['dotnet', '--version'])} SDK, {first_line(['gcc', '--version'])}")


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}"


# --- main -----------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(WORKLOADS), help="workloads, e.g. W1,W3 (default: W1-W6)")
    p.add_argument("--peers", default=",".join(ALL_PEERS), help=f"default: {','.join(ALL_PEERS)}")
    p.add_argument("--quick", action="store_true", help="smoke run: every n divided by 10")
    p.add_argument("--repeat", type=int, default=3, help="runs per cell; the median is shown (default 3)")
    p.add_argument("--quiet-wait", type=float, default=30, help="seconds to wait at most, before each run, "
                   "for the rest of the machine to go quiet (default 30; 0 = do not wait)")
    p.add_argument("--max-other-load", type=float, default=25, help="a run during which other processes "
                   "used more than this %% of a core is measured again (default 25)")
    p.add_argument("--retries", type=int, default=2, help="at most this many extra attempts per run (default 2)")
    p.add_argument("--no-build", dest="build", action="store_false", help="do not build first (by default "
                   "make -C bench/c, and dotnet build -c Release of the .NET peer and of bench/Aio.Bench, "
                   "each only when a selected peer needs it)")
    p.add_argument("--render", metavar="RESULTS_JSON", help="only print the tables of a saved results.json")
    p.add_argument("--out", default=None, help="directory for results.md and results.json "
                   "(default bench/results/<UTC time>)")
    args = p.parse_args(argv)
    args.only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    args.peers = [x.strip().lower() for x in args.peers.split(",") if x.strip()]
    bad = [w for w in args.only if w not in WORKLOADS] + [x for x in args.peers if x not in ALL_PEERS]
    if bad:
        p.error(f"unknown workload or peer: {', '.join(bad)} (workloads {','.join(WORKLOADS)}; "
                f"peers {','.join(ALL_PEERS)})")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv):
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            saved = json.load(f)
        print(render(saved["results"], saved["meta"]))
        return 0
    if not _has("taskset"):
        log("taskset not found (util-linux); it is needed to pin processes to cores")
        return 2
    if os.cpu_count() < 2 and "W6" in args.only:
        log("W6 needs two cores (server on core 0, client on core 1)")
        return 2
    if args.build:
        build(args)
    if "W6" in args.only and not os.path.exists(C_ECHO_CLIENT):
        log(f"{rel(C_ECHO_CLIENT)} not found; build it with make -C bench/c")
        return 2
    started = datetime.datetime.now(datetime.timezone.utc)
    meta = {"date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": os.environ.get("BENCH_COMMAND") or "/usr/bin/python3 bench/harness.py " + " ".join(argv),
            "machine": machine(), "versions": versions(), "repeat": args.repeat, "quick": args.quick,
            "max_other_load": args.max_other_load, "retries": args.retries}
    results = run_all(args)
    text = render(results, meta)
    print(text)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    out_dir = args.out or os.path.join(BENCH, "results", stamp)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    log(f"results written to {rel(out_dir)}/results.md and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
