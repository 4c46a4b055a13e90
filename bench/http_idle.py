#!/usr/bin/python3
"""Aio.Http under many connections: idle keep-alive memory, and a slowloris attack.

    /usr/bin/python3 bench/http_idle.py [--conns 10000] [--slow 1000] [--seconds 10]

1. Starts `Aio.Bench.dll http-server` (core 0), opens --conns connections, sends one GET / on each and reads the
   answer, then leaves them idle (keep-alive). Reports the server's RSS growth per connection (VmRSS from
   /proc/PID/status, after a settle) and checks that every connection is still open.
2. Slowloris: opens --slow more connections that each send a partial head and then one header byte per second,
   while one ordinary client sends sequential GET / on a fresh connection for --seconds; reports how many it got
   and their worst latency. The server must keep serving (the request-headers timeout, 30 s, ends the slow ones).
Prints RESULT lines.
"""

import argparse
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AIO_DLL = os.path.join(ROOT, "bench", "Aio.Bench", "bin", "Release", "net10.0", "Aio.Bench.dll")
REQ = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read_response(s):
    data = b""
    while b"Hello, World!" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--slow", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(["taskset", "-c", "0", "dotnet", AIO_DLL, "http-server", "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert "READY" in proc.stdout.readline()
        warm = socket.create_connection(("127.0.0.1", port))
        for _ in range(2000):
            warm.sendall(REQ)
            read_response(warm)
        time.sleep(1)
        before = rss_kib(proc.pid)
        conns = []
        for i in range(a.conns):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(REQ)
            conns.append(s)
            if len(conns) % 500 == 0:
                for c in conns[-500:]:
                    read_response(c)
        for c in conns[len(conns) - len(conns) % 500:]:
            read_response(c)
        time.sleep(2)
        after = rss_kib(proc.pid)
        per_conn = (after - before) * 1024 / a.conns
        # Still open and still served: one more request on every 100th connection.
        for c in conns[::100]:
            c.sendall(REQ)
            read_response(c)
        print(f"RESULT workload=http-idle peer=aio conns={a.conns} rss_before_kib={before} rss_after_kib={after} "
              f"bytes_per_conn={per_conn:.0f}", flush=True)

        slow = []
        for i in range(a.slow):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
            slow.append(s)
        client = socket.create_connection(("127.0.0.1", port))
        served, worst = 0, 0.0
        end = time.time() + a.seconds
        next_drip = time.time()
        while time.time() < end:
            if time.time() >= next_drip:
                for s in slow:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
                next_drip = time.time() + 1
            t0 = time.time()
            client.sendall(REQ)
            read_response(client)
            worst = max(worst, time.time() - t0)
            served += 1
        print(f"RESULT workload=slowloris peer=aio slow_conns={a.slow} seconds={a.seconds} served={served} "
              f"worst_latency_ms={worst * 1000:.1f}", flush=True)
        for s in conns + slow:
            s.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    sys.exit(main())
