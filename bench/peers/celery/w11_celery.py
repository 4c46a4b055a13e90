#!/usr/bin/python3
"""W11 peer: Celery 5 (Debian's python3-celery) with a Redis broker, the same workload as `Aio.Bench W11`.

One producer enqueues n no-op tasks, each carrying time.time() taken just before its enqueue; a Celery worker
(started here as a subprocess: --pool prefork|solo, --concurrency C) runs them. acks_late is on, so a task is
acknowledged after it ran, as Aio's queue does. Each task records its start time and enqueue-to-start latency in
Redis (one pipelined round trip). Prints
  RESULT workload=W11 peer=celery-<pool> value=<jobs/s> unit=jobs/s lat_p50_ms= lat_p99_ms= n= done=
where jobs/s is n over the time from the first enqueue to the last task's start. With --rate R the producer paces
itself to R jobs/s: latency without a backlog.

  /usr/bin/python3 bench/peers/celery/w11_celery.py --redis-port P --n 20000 --pool prefork --concurrency 2
"""
import argparse
import os
import subprocess
import sys
import time

import redis
from celery import Celery

PORT = int(os.environ.get("W11_REDIS_PORT", "6379"))
PREFIX = os.environ.get("W11_PREFIX", "w11c:")
QUEUE = PREFIX + "queue"

app = Celery("w11_celery", broker=f"redis://127.0.0.1:{PORT}/0")
app.conf.update(task_ignore_result=True, task_acks_late=True, broker_connection_retry_on_startup=True,
                worker_hijack_root_logger=False)

_redis = None


@app.task(name="noop")
def noop(enqueued):
    now = time.time()
    global _redis
    if _redis is None:
        _redis = redis.Redis(port=PORT)
    p = _redis.pipeline(transaction=False)
    p.rpush(PREFIX + "starts", f"{now} {now - enqueued}")
    p.incr(PREFIX + "done")
    p.execute()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "solo"])
    parser.add_argument("--concurrency", type=int, default=os.cpu_count())
    parser.add_argument("--max-s", type=float, default=600)
    parser.add_argument("--rate", type=float, default=0, help="jobs/s the producer paces itself to (0: as fast as it can)")
    args = parser.parse_args()
    global PORT
    PORT = args.redis_port
    app.conf.broker_url = f"redis://127.0.0.1:{PORT}/0"
    env = dict(os.environ, W11_REDIS_PORT=str(args.redis_port), W11_PREFIX=PREFIX)
    r = redis.Redis(port=args.redis_port)
    for key in r.scan_iter(PREFIX + "*"):
        r.delete(key)
    here = os.path.dirname(os.path.abspath(__file__))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "w11_celery", "worker", "--pool", args.pool, "--concurrency", str(args.concurrency),
         "-Q", QUEUE, "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=here, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Warm-up: one task through, then the counters are reset.
        noop.apply_async(args=[time.time()], queue=QUEUE)
        deadline = time.time() + 60
        while int(r.get(PREFIX + "done") or 0) < 1:
            if time.time() > deadline:
                raise SystemExit("the Celery worker did not run the warm-up task within 60 s")
            time.sleep(0.05)
        r.delete(PREFIX + "done", PREFIX + "starts")
        t0 = time.time()
        for i in range(args.n):
            if args.rate > 0:
                delay = t0 + i / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            noop.apply_async(args=[time.time()], queue=QUEUE)
        deadline = t0 + args.max_s
        while int(r.get(PREFIX + "done") or 0) < args.n and time.time() < deadline:
            time.sleep(0.05)
        rows = [line.split() for line in (x.decode() for x in r.lrange(PREFIX + "starts", 0, -1))]
        done = len(rows)
        last = max(float(s) for s, _ in rows) if rows else t0
        lat = sorted(float(l) * 1000 for _, l in rows)
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
        elapsed = last - t0
        print(f"RESULT workload=W11 peer=celery-{args.pool} value={done / elapsed:.3f} unit=jobs/s "
              f"lat_p50_ms={pct(0.5):.3f} lat_p99_ms={pct(0.99):.3f} n={args.n} done={done} elapsed_s={elapsed:.3f}")
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        for key in r.scan_iter(PREFIX + "*"):
            r.delete(key)
        r.delete(QUEUE)


if __name__ == "__main__":
    main()
