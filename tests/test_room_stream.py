"""One order per room, and a subscription that resumes without a gap, on the full stack.

Two `web`, two `worker`, the `bot`, as the Procfile starts them. Real WebSocket clients
(graphql-transport-ws) subscribe on both web processes, drop their connections at random
moments and resume with `after`; several users post at once, each waiting for their
previous `createPost` to be accepted. At the end every subscriber's sequence must equal
the room's stored sequence, and each user's posts must be in the order they were sent.
"""
import asyncio
import itertools
import json
import random
import uuid

import pytest
import requests
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from posts.models import Post
from posts.public_ids import post_pk
from rooms.models import Room
from tests.clients import CREATE_POST, POSTS, new_username
from tests.stack import wait_until

pytestmark = [pytest.mark.fullstack, pytest.mark.django_db(transaction=True)]

RESUME = "subscription($input: PostCreatedInput!) { postCreated(input: $input) { id seq author body } }"
_rooms = itertools.count(1)


@pytest.fixture(scope="module")
def two_workers(full_stack):
    """The shared stack, with a second `posts` worker: the room's posts are stored by two
    processes that commit in either order."""
    second = full_stack.worker("worker")
    second.wait_ready()
    yield full_stack
    second.stop()
    full_stack.processes.remove(second)


def make_user():
    user = get_user_model().objects.create_user(username=new_username("streamer"))
    return user.username, str(AccessToken.for_user(user))


def make_room():
    room_id = f"stream-{next(_rooms)}"
    return Room.objects.create(id=room_id, name=room_id).pk


def graphql(web, query, variables, token):
    response = requests.post(
        f"{web.url}/graphql/",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    result = response.json()
    assert response.status_code == 200 and "errors" not in result, result
    return result["data"]


def stored_sequence(room_id):
    return list(Post.objects.filter(room_id=room_id).order_by("seq").values_list("seq", "id"))


class Resumer:
    """A reader that drops its connection at random moments and resumes `after` the last
    position it received, on a web process of its own."""

    def __init__(self, web, token, room_id, rng):
        self.web, self.token, self.room_id, self.rng = web, token, room_id, rng
        self.received = []  # (seq, id) in arrival order, across every connection
        self.reconnects = 0

    @property
    def last(self):
        return self.received[-1][0] if self.received else 0

    async def run(self, done):
        while not done.is_set():
            try:
                await self._session(done)
            except (ConnectionClosed, OSError, TimeoutError):
                pass
            self.reconnects += 1
            await asyncio.sleep(self.rng.uniform(0, 0.2))

    async def _session(self, done):
        async with aconnect(self.web.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
            variables = {"input": {"roomId": self.room_id, "after": self.last}}
            await ws.send(json.dumps({"type": "subscribe", "id": "posts", "payload": {"query": RESUME, "variables": variables}}))
            # Hang up after a random number of posts, or at a random moment, or never.
            budget = self.rng.choice([2, 5, 9, 1000])
            deadline = asyncio.get_running_loop().time() + self.rng.uniform(0.05, 1.5)
            while not done.is_set() and budget > 0:
                timeout = max(0.01, deadline - asyncio.get_running_loop().time())
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                except TimeoutError:
                    if budget < 1000:
                        return  # a random moment: drop the connection
                    deadline = asyncio.get_running_loop().time() + 1
                    continue
                assert message["type"] == "next", message
                post = message["payload"]["data"]["postCreated"]
                self.received.append((post["seq"], post_pk(post["id"])))
                budget -= 1


def test_every_resuming_reader_sees_the_rooms_stored_sequence_and_each_sender_their_own_order(two_workers):
    stack = two_workers
    webs = [stack.web1, stack.web2]
    room_id = make_room()
    users = [make_user() for _ in range(6)]
    readers_token = make_user()[1]
    rng = random.Random(7)
    posts_each = 10  # the rate limit allows 10 a user in any 5 s
    sent = {username: [] for username, _ in users}  # plain bodies in the order each user sent them

    async def post_all(username, token, web):
        for n in range(posts_each):
            body = "/stock=aapl.us" if n == 4 else f"{username} #{n}"
            data = await asyncio.to_thread(
                graphql, web, CREATE_POST, {"input": {"roomId": room_id, "body": body}}, token
            )
            assert data["createPost"]["success"] is True
            if not body.startswith("/"):
                sent[username].append(body)
            await asyncio.sleep(rng.uniform(0, 0.03))

    async def scenario():
        done = asyncio.Event()
        readers = [Resumer(webs[n % 2], readers_token, room_id, random.Random(n)) for n in range(6)]
        reading = [asyncio.ensure_future(r.run(done)) for r in readers]
        await asyncio.sleep(0.3)
        await asyncio.gather(*(post_all(u, t, webs[n % 2]) for n, (u, t) in enumerate(users)))
        expected = len(users) * posts_each  # every command ends as the bot's quote
        await asyncio.to_thread(
            wait_until, lambda: Post.objects.filter(room_id=room_id).count() == expected, 60, f"{expected} stored posts"
        )
        final = (await asyncio.to_thread(stored_sequence, room_id))[-1][0]
        for reader in readers:
            await asyncio.to_thread(wait_until, lambda r=reader: r.last >= final, 30, "every reader to catch up")
        done.set()
        await asyncio.gather(*reading)
        return readers

    readers = asyncio.run(scenario())

    stored = stored_sequence(room_id)
    assert len(stored) == len(users) * posts_each
    assert [seq for seq, _ in stored] == sorted({seq for seq, _ in stored}), "one position per post"
    for reader in readers:
        assert reader.received == stored, (
            f"reader on {reader.web.label} ({reader.reconnects} reconnects): "
            f"missing {sorted(set(stored) - set(reader.received))[:5]}, "
            f"{len(reader.received) - len(set(reader.received))} twice"
        )
    assert sum(r.reconnects for r in readers) >= 12, "the readers must really have dropped and resumed"

    positions = dict(Post.objects.filter(room_id=room_id).values_list("body", "seq"))
    for username, bodies in sent.items():
        seqs = [positions[body] for body in bodies]
        assert seqs == sorted(seqs), f"{username}'s posts are out of the order they were sent: {bodies}"
    quotes = Post.objects.filter(room_id=room_id, is_bot=True).count()
    assert quotes == len(users)


def test_history_then_subscribe_after_then_post_at_once_always_delivers_the_post_once(two_workers):
    stack = two_workers
    room_id = make_room()
    users = [make_user()[1] for _ in range(25)]

    for n in range(100):
        token = users[n % len(users)]
        history = graphql(stack.web1, POSTS, {"input": {"roomId": room_id}}, token)["posts"]
        newest = history[-1]["seq"] if history else 0
        web = (stack.web1, stack.web2)[n % 2]
        with connect(web.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            variables = {"input": {"roomId": room_id, "after": newest}}
            ws.send(json.dumps({"type": "subscribe", "id": "p", "payload": {"query": RESUME, "variables": variables}}))
            # At once: no waiting for the subscription to be live on the server.
            for body in (f"post {n}", f"fence {n}"):
                graphql(stack.web1, CREATE_POST, {"input": {"roomId": room_id, "body": body}}, token)
            bodies = [json.loads(ws.recv(timeout=15))["payload"]["data"]["postCreated"]["body"] for _ in range(2)]
            # The post, then the fence posted after it: nothing missed, nothing twice between.
            assert bodies == [f"post {n}", f"fence {n}"], f"round {n}: {bodies}"


def test_resuming_too_far_behind_says_so_with_a_code(two_workers, settings):
    stack = two_workers
    room_id = make_room()
    token = make_user()[1]
    # 1,005 posts, then positions up to 5,000 whose posts a moderator deleted.
    Post.objects.bulk_create(
        Post(room_id=room_id, author="old", body=f"old {n}", request_id=uuid.uuid4(), seq=n) for n in range(1, 1006)
    )
    Room.objects.filter(pk=room_id).update(last_seq=5000)
    with connect(stack.web2.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        # far: 1,004 posts to replay (over 1,000); near: none, however many positions were freed.
        for op_id, after in (("far", 1), ("beyond", 9000), ("near", 1005)):
            variables = {"input": {"roomId": room_id, "after": after}}
            ws.send(json.dumps({"type": "subscribe", "id": op_id, "payload": {"query": RESUME, "variables": variables}}))
        replies = {}
        while len(replies) < 2:
            message = json.loads(ws.recv(timeout=10))
            replies[message["id"]] = message
        assert replies["far"]["type"] == "error"
        assert replies["far"]["payload"][0]["extensions"]["code"] == "TOO_FAR_BEHIND"
        assert "reload" in replies["far"]["payload"][0]["message"]
        assert replies["beyond"]["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # The near one is live and stays so: a new post reaches it.
        graphql(stack.web1, CREATE_POST, {"input": {"roomId": room_id, "body": "still here"}}, token)
        message = json.loads(ws.recv(timeout=15))
        assert (message["id"], message["payload"]["data"]["postCreated"]["seq"]) == ("near", 5001)
