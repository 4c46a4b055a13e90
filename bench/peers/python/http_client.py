"""W8's Python peer: aiohttp's ClientSession on asyncio or uvloop, conc workers making GETs in turn, bodies checked.

    /usr/bin/python3 bench/peers/python/http_client.py --loop asyncio|uvloop --url U [--n 20000] [--conc 64] [--warmup 2000]

Warm-up requests first (untimed), then prints one RESULT line (peer=aiohttp-asyncio or aiohttp-uvloop).
"""
import argparse
import asyncio
import resource
import time

import aiohttp

EXPECT = "Hello, World!"


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run(session, url, n, conc):
    started = 0
    bad = 0

    async def worker():
        nonlocal started, bad
        while started < n:
            started += 1
            async with session.get(url) as resp:
                if await resp.text() != EXPECT:
                    bad += 1

    await asyncio.gather(*(worker() for _ in range(conc)))
    return bad


async def main(args):
    connector = aiohttp.TCPConnector(limit=max(100, args.conc))
    async with aiohttp.ClientSession(connector=connector) as session:
        if args.warmup > 0:
            await run(session, args.url, args.warmup, args.conc)
        c0, t0 = cpu_s(), time.perf_counter()
        bad = await run(session, args.url, args.n, args.conc)
        elapsed, cpu = time.perf_counter() - t0, cpu_s() - c0
    if bad:
        raise SystemExit(f"W8 check failed: {bad} bad bodies")
    print(f"RESULT workload=W8 peer=aiohttp-{args.loop} value={args.n / elapsed:.1f} unit=req/s n={args.n} "
          f"elapsed_s={elapsed:.4f} cpu_s={cpu:.3f} conc={args.conc} cpu_us_per_req={cpu / args.n * 1e6:.1f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    p.add_argument("--url", default="http://127.0.0.1:8080/")
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--conc", type=int, default=64)
    p.add_argument("--warmup", type=int, default=2000)
    a = p.parse_args()
    if a.loop == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(a))
