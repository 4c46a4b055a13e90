#!/usr/bin/python3
"""W1-W5 for CPython asyncio and uvloop (bench/README.md describes each workload).

Usage: /usr/bin/python3 workloads.py W1 [--loop asyncio|uvloop] [--n N] [--warmup 0|1]

Runs the workload once at n/10 as an in-process warm-up (unless --warmup 0), then
once at n, and prints one line:

    RESULT workload=W1 peer=asyncio value=<number> unit=<unit> n=<ops> elapsed_s=<s> cpu_s=<s>

cpu_s is the process CPU time (user+system, all threads) spent in the timed run.
Exits 1 when the workload's check fails. Run it with Debian's /usr/bin/python3,
which has python3-uvloop installed.
"""

import argparse
import asyncio
import gc
import sys
import time


# --- W1: call_soon callbacks ---------------------------------------------------

async def w1_callbacks(n):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    count = 0

    def callback():
        nonlocal count
        count += 1
        if count == n:
            done.set_result(None)

    for _ in range(n):
        loop.call_soon(callback)
    await done
    return count == n, {}


# --- W2: spawn tasks that yield twice ---------------------------------------------

async def _w2_child(i):
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return i


async def w2_spawn(n):
    results = await asyncio.gather(*[_w2_child(i) for i in range(n)])
    return sum(results) == n * (n - 1) // 2, {}


# --- W3: timers --------------------------------------------------------------------

def read_status_kib(field):
    """A 'VmXxx:  1234 kB' field of /proc/self/status, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux >= 4.0), so the peak is this run's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


async def _w3_sleeper(ms):
    await asyncio.sleep(ms / 1000)


async def w3_timers(n):
    x = 42
    tasks = []
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        tasks.append(asyncio.create_task(_w3_sleeper(x % 1001)))
    await asyncio.gather(*tasks)
    return True, {}


# --- W4: bounded queue ---------------------------------------------------------------

async def w4_queue(n):
    q = asyncio.Queue(maxsize=100)

    async def producer():
        for i in range(n):
            await q.put(i)

    async def consumer():
        total = 0
        for _ in range(n):
            total += await q.get()
        return total

    _, total = await asyncio.gather(producer(), consumer())
    return total == n * (n - 1) // 2, {}


# --- W5: lock -------------------------------------------------------------------------

W5_ACQUISITIONS_PER_TASK = 100  # n = 100,000 -> 1,000 tasks; any n is split exactly


async def w5_lock(n):
    lock = asyncio.Lock()
    counter = 0

    async def worker(acquisitions):
        nonlocal counter
        for _ in range(acquisitions):
            async with lock:
                value = counter
                await asyncio.sleep(0)
                counter = value + 1

    tasks = max(n // W5_ACQUISITIONS_PER_TASK, 1)
    await asyncio.gather(*[worker(n // tasks + (t < n % tasks)) for t in range(tasks)])
    return counter == n, {}


WORKLOADS = {
    # id: (function, default n, unit, value is a rate (True) or the wall time (False))
    "W1": (w1_callbacks, 1_000_000, "callbacks/s", True),
    "W2": (w2_spawn, 100_000, "tasks/s", True),
    "W3": (w3_timers, 100_000, "s", False),
    "W4": (w4_queue, 1_000_000, "items/s", True),
    "W5": (w5_lock, 100_000, "acquisitions/s", True),
}


async def measure(workload, n):
    """Runs one workload; the memory baseline is taken just before the clock starts."""
    fn = WORKLOADS[workload][0]
    gc.collect()  # leave no garbage from the warm-up run
    reset_peak_rss()
    rss_before = read_status_kib("VmRSS")
    cpu0, t0 = time.process_time(), time.perf_counter()
    ok, extra = await fn(n)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if workload == "W3":
        peak = read_status_kib("VmHWM")
        extra = {"peak_rss_kib": peak, "bytes_per_task": round((peak - rss_before) * 1024 / n)}
    return ok, elapsed, cpu, extra


async def main(args):
    _, default_n, unit, is_rate = WORKLOADS[args.workload]
    n = args.n if args.n is not None else default_n
    if args.warmup:
        ok, *_ = await measure(args.workload, max(n // 10, 1))
        if not ok:
            print(f"{args.workload} warm-up check failed (peer={args.loop})", file=sys.stderr)
            return 1
    ok, elapsed, cpu, extra = await measure(args.workload, n)
    if not ok:
        print(f"{args.workload} check failed (peer={args.loop}, n={n})", file=sys.stderr)
        return 1
    value = f"{n / elapsed:.1f}" if is_rate else f"{elapsed:.4f}"
    fields = "".join(f" {k}={v}" for k, v in extra.items())
    print(f"RESULT workload={args.workload} peer={args.loop} value={value} unit={unit} "
          f"n={n} elapsed_s={elapsed:.4f} cpu_s={cpu:.4f}{fields}", flush=True)
    return 0


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workload", choices=sorted(WORKLOADS))
    p.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--warmup", type=int, choices=[0, 1], default=1)
    args = p.parse_args(argv)
    if args.n is not None and args.n <= 0:
        p.error("--n must be a positive integer")
    return args


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    if args.loop == "uvloop":
        import uvloop
        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        sys.exit(runner.run(main(args)))
