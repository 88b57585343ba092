"""Floor (b): a room's fan-out through channels_rabbitmq with nothing else on the way.

A raw ASGI application (no Channels consumer, no GraphQL, no Django) served by the Procfile
`web` line's server command: each WebSocket connection puts its `send` in a set; one layer
channel, on the same RabbitmqChannelLayer configuration as chatsite/settings.py, joins one
group; each group message's `text` is written to every connection. The publisher (bench/
floors.py) sends to the `groups` exchange with kombu and msgpack exactly as posts/modes.py
does. What this process spends per delivery is what the layer and the server cost; the
chat's web process can't do less with the same server.

HTTP: `/healthz` answers 200 once started; `/ready` answers 200 once the group is joined
(and joins it on first call), with the number of connections in the body.
Configured from the environment: AMQP_URL, BENCH_FLOOR_GROUP.
"""
import asyncio
import os

SENDS = set()
_reader = None
_bound = None


async def _read_group(bound):
    from chatsite.layer import FailoverRabbitmqChannelLayer as RabbitmqChannelLayer

    layer = RabbitmqChannelLayer(host=os.environ["AMQP_URL"], local_capacity=10000, remote_capacity=10000)
    channel = await layer.new_channel("floor.")
    await layer.group_add(os.environ.get("BENCH_FLOOR_GROUP", "bench-floor"), channel)
    bound.set()
    while True:
        message = await layer.receive(channel)
        event = {"type": "websocket.send", "text": message["text"]}
        for send in list(SENDS):
            try:
                await send(event)
            except Exception:
                SENDS.discard(send)


def _ensure_reader():
    global _reader, _bound
    if _reader is None:
        _bound = asyncio.Event()
        _reader = asyncio.ensure_future(_read_group(_bound))


async def _http(scope, receive, send):
    path = scope.get("path", "")
    if path == "/ready":
        _ensure_reader()
        status = 200 if _bound.is_set() else 503
    else:
        status = 200 if path == "/healthz" else 404
    body = str(len(SENDS)).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive, send):
    for _ in range(2):  # startup, then shutdown
        message = await receive()
        kind = message["type"].rsplit(".", 1)[-1]
        await send({"type": f"lifespan.{kind}.complete"})


async def application(scope, receive, send):
    if scope["type"] == "http":
        return await _http(scope, receive, send)
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    if scope["type"] != "websocket":
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    _ensure_reader()
    SENDS.add(send)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
    finally:
        SENDS.discard(send)
