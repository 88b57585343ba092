"""A post's subscription result is computed once per query shape and process, not per subscriber."""
import asyncio
import json

import pytest
from channels.layers import channel_layers, get_channel_layer
from asgiref.testing import ApplicationCommunicator

from chatsite.asgi import application
from chatsite import graphql_ws
from posts import events
from posts.stages import Event
from tests.clients import InProcess, sign_up
from tests.helpers import user_with_token
from tests.stack import await_until

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIBERS = 60
QUERY = 'subscription { postCreated(input: {roomId: "general"}) { id author body } }'
OTHER_SHAPE = 'subscription { postCreated(input: {roomId: "general"}) { body isBot } }'
# Resuming subscribers differ in `after`, which chooses the stream, not the rendering.
RESUMING = "subscription($after: Int) { postCreated(input: {roomId: \"general\", after: $after}) { seq body } }"


@pytest.fixture
def fresh_layer():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


class Socket(ApplicationCommunicator):
    """A WebSocket client speaking ASGI to the application in this process (channels'
    WebsocketCommunicator needs daphne, which we don't serve with)."""

    def __init__(self):
        super().__init__(
            application,
            {"type": "websocket", "path": "/graphql/", "headers": [], "subprotocols": ["graphql-transport-ws"],
             "query_string": b"", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)},
        )

    async def connect(self):
        await self.send_input({"type": "websocket.connect"})
        return (await self.receive_output(5))["type"] == "websocket.accept"

    async def send_json_to(self, message):
        await self.send_input({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive_json_from(self, timeout=5):
        return json.loads((await self.receive_output(timeout))["text"])

    async def disconnect(self):
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(5)


async def healthz(staff_token):
    """This process's /healthz/ figures, asked over ASGI as a client would."""
    http = ApplicationCommunicator(
        application,
        {"type": "http", "method": "GET", "path": "/healthz/", "query_string": b"", "scheme": "http",
         "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {staff_token}".encode())],
         "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)},
    )
    await http.send_input({"type": "http.request", "body": b""})
    start, body = await http.receive_output(5), await http.receive_output(5)
    assert start["status"] == 200, start
    return json.loads(body["body"])


async def subscribed(token, query, variables=None):
    ws = Socket()
    assert await ws.connect()
    await ws.send_json_to({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert (await ws.receive_json_from(timeout=5))["type"] == "connection_ack"
    await ws.send_json_to({"type": "subscribe", "id": "p", "payload": {"query": query, "variables": variables or {}}})
    return ws


def test_many_subscribers_share_one_execution_per_query_shape(client, general, fresh_layer, monkeypatch, settings):
    settings.WEBSOCKET_MAX_CONNECTIONS_PER_USER = 1000  # one user stands for many readers here
    token, _, _ = sign_up(InProcess(client))
    _, staff_token = user_with_token("staff", staff=True)
    executions = []
    real_execute = graphql_ws.execute

    def counting_execute(*args, **kwargs):
        executions.append(args[1])
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(graphql_ws, "execute", counting_execute)
    post = {"id": "41", "room_id": "general", "seq": 1, "user_id": "1", "author": "ann", "body": "to all",
            "is_bot": False, "created_at": "2026-11-29T00:00:00+00:00", "request_id": "r-41"}

    async def scenario():
        sockets = [await subscribed(token, QUERY) for _ in range(SUBSCRIBERS)]
        sockets += [await subscribed(token, OTHER_SHAPE) for _ in range(3)]
        sockets += [await subscribed(token, RESUMING, {"after": 0}) for _ in range(5)]
        async def all_listening():
            return (await healthz(staff_token))["room_streams"]["subscribers"] == len(sockets)

        await await_until(all_listening, 10, "every subscription to listen to the room")
        # Announced, not stored: the room's position says nothing is missing before seq 1.
        await get_channel_layer().group_send(events.room_group(post["room_id"]), events.message(Event.POST_CREATED, events.room_group(post["room_id"]), post, None))
        frames = [await ws.receive_json_from(timeout=5) for ws in sockets]
        for ws in sockets:
            await ws.disconnect()
        return frames

    frames = asyncio.run(scenario())
    assert [f["payload"]["data"]["postCreated"] for f in frames[:SUBSCRIBERS]] == [
        {"id": "41", "author": "ann", "body": "to all"}
    ] * SUBSCRIBERS
    assert [f["payload"]["data"]["postCreated"] for f in frames[SUBSCRIBERS:-5]] == [{"body": "to all", "isBot": False}] * 3
    assert [f["payload"]["data"]["postCreated"] for f in frames[-5:]] == [{"seq": 1, "body": "to all"}] * 5
    assert len(executions) == 3, "one execution per query shape, whatever the number of subscribers"


def test_the_shared_renderings_stay_within_their_byte_bound(monkeypatch):
    from graphql import parse

    from chatsite.schema import schema

    renderings = graphql_ws.Renderings(schema, max_bytes=100_000)
    document = parse('subscription { postCreated(input: {roomId: "general"}) { body } }')
    for n in range(200):
        post = {"id": str(n), "room_id": "general", "seq": n, "user_id": None, "author": "a", "body": "x" * 2000,
                "is_bot": False, "created_at": "2026-11-29T00:00:00+00:00"}
        renderings.render((("post", n), "shape"), document, post, {}, None, None)
    assert renderings.bytes <= 100_000
    assert sum(len(v) for v in renderings.kept.values()) == renderings.bytes
    assert 40 <= len(renderings.kept) < 200
