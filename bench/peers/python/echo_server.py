#!/usr/bin/python3
"""W6 echo server for CPython asyncio and uvloop, with streams or a protocol.

Usage: /usr/bin/python3 echo_server.py --loop asyncio|uvloop --api streams|protocol --port P

Listens on 127.0.0.1:P, prints READY once listening, echoes every byte back, and
exits 0 on SIGTERM or SIGINT. TCP_NODELAY is set on every connection (asyncio and
uvloop already do so by default; it is set explicitly so every peer server matches).
"""

import argparse
import asyncio
import signal
import socket
import sys


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.transport.write(data)


async def echo_stream(reader, writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(args):
    loop = asyncio.get_running_loop()
    if args.api == "protocol":
        server = await loop.create_server(EchoProtocol, "127.0.0.1", args.port, backlog=512)
    else:
        server = await asyncio.start_server(echo_stream, "127.0.0.1", args.port, backlog=512)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("READY", flush=True)
    await stop.wait()
    server.close()
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    p.add_argument("--api", choices=["streams", "protocol"], default="protocol")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    if args.loop == "uvloop":
        import uvloop
        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        sys.exit(runner.run(main(args)))
