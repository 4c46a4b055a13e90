#!/usr/bin/python3
"""W9 WebSocket echo server for aiohttp on CPython asyncio or uvloop: path /ws, every text message sent back.

Usage: /usr/bin/python3 ws_echo.py --loop asyncio|uvloop --port P

Listens on 127.0.0.1:P, prints READY once listening, exits 0 on SIGTERM or SIGINT.
Needs Debian's python3-aiohttp (and python3-uvloop for --loop uvloop).
"""

import argparse
import asyncio
import signal
import sys

from aiohttp import WSMsgType, web


async def echo(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def main(port):
    app = web.Application()
    app.router.add_get("/ws", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=512)
    await site.start()
    print("READY", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    if a.loop == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(a.port))
    sys.exit(0)
