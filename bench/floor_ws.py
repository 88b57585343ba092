"""Floor (c): the cost of writing a frame to a WebSocket, with the leanest server at hand.

A `websockets` asyncio server: every connection on `/` joins a set; each text frame that
arrives on `/publish` is written to all of them with `websockets.broadcast()` (one encoded
frame, written to each socket without awaiting). Per delivery this is close to what the
kernel and Python must spend at least; STACK.md measured ~100,000 deliveries per CPU-s.

HTTP GET /ready answers 200 with the number of connections.
Run: python -m bench.floor_ws --port PORT
"""
import argparse
import asyncio
import http

from websockets.asyncio.server import broadcast, serve

CLIENTS = set()


async def handler(ws):
    if ws.request.path == "/publish":
        async for frame in ws:
            broadcast(CLIENTS, frame)
        return
    CLIENTS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        CLIENTS.discard(ws)


def process_request(connection, request):
    if request.path == "/ready":
        return connection.respond(http.HTTPStatus.OK, f"{len(CLIENTS)}\n")
    return None


async def main(port):
    async with serve(
        handler, "127.0.0.1", port, process_request=process_request,
        compression=None, ping_interval=None, max_size=65536,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
