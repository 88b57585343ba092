"""A post's subscription result is computed once per query shape and process, not per subscriber."""
import asyncio

import pytest
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator

from chatsite.asgi import application
from posts import consumers
from tests.graphql_client import InProcess, sign_up

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIBERS = 60
QUERY = 'subscription { postCreated(input: {roomId: "general"}) { id author body } }'
OTHER_SHAPE = 'subscription { postCreated(input: {roomId: "general"}) { body isBot } }'


@pytest.fixture
def fresh_layer():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def subscribed(token, query):
    ws = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-transport-ws"])
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert (await ws.receive_json_from(timeout=5))["type"] == "connection_ack"
    await ws.send_json_to({"type": "subscribe", "id": "p", "payload": {"query": query}})
    return ws


def test_many_subscribers_share_one_execution_per_query_shape(client, general, fresh_layer, monkeypatch):
    token, _, _ = sign_up(InProcess(client))
    executions = []
    real_execute = consumers.execute

    def counting_execute(*args, **kwargs):
        executions.append(args[1])
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(consumers, "execute", counting_execute)
    post = {"id": "41", "room_id": "general", "user_id": "1", "author": "ann", "body": "to all",
            "is_bot": False, "created_at": "2026-11-29T00:00:00+00:00"}

    async def scenario():
        sockets = [await subscribed(token, QUERY) for _ in range(SUBSCRIBERS)]
        sockets += [await subscribed(token, OTHER_SHAPE) for _ in range(3)]
        await asyncio.sleep(0.2)  # let every subscription join its group
        await get_channel_layer().group_send(
            "room.general", {"type": "new.post.created", "request_id": "r-41", "post": post}
        )
        frames = [await ws.receive_json_from(timeout=5) for ws in sockets]
        for ws in sockets:
            await ws.disconnect()
        return frames

    frames = asyncio.run(scenario())
    assert [f["payload"]["data"]["postCreated"] for f in frames[:SUBSCRIBERS]] == [
        {"id": "41", "author": "ann", "body": "to all"}
    ] * SUBSCRIBERS
    assert [f["payload"]["data"]["postCreated"] for f in frames[SUBSCRIBERS:]] == [{"body": "to all", "isBot": False}] * 3
    assert len(executions) == 2, "one execution per query shape, whatever the number of subscribers"
