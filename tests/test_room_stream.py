"""One order per room, and a subscription that resumes without a gap, on the full stack.

Two `web`, two `worker`, the `bot`, as the Procfile starts them. Real WebSocket clients
(graphql-transport-ws) subscribe on both web processes, drop their connections at random
moments and resume with `after`; several users post at once, each waiting for their
previous `createPost` to be accepted. At the end every subscriber's sequence must equal
the room's stored sequence, and each user's posts must be in the order they were sent.
"""
import asyncio
import json
import random
import uuid

import pytest
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed

from posts.models import Post
from posts.public_ids import post_pk
from rooms.models import Room
from tests.clients import OverHttp, Socket
from tests.helpers import history, make_room, named_user, posted, stored_sequence
from tests.stack import await_until, wait_until

pytestmark = [pytest.mark.fullstack, pytest.mark.django_db(transaction=True)]

RESUME = "subscription($input: PostCreatedInput!) { postCreated(input: $input) { id seq author body } }"


@pytest.fixture(scope="module")
def two_workers(full_stack):
    """The shared stack, with a second `posts` worker: the room's posts are stored by two
    processes that commit in either order."""
    second = full_stack.worker("worker")
    second.wait_ready()
    yield full_stack
    second.stop()
    full_stack.processes.remove(second)


class Resumer:
    """A reader that drops its connection at random moments and resumes `after` the last
    position it received, on a web process of its own."""

    def __init__(self, web, token, room_id, rng):
        self.web, self.token, self.room_id, self.rng = web, token, room_id, rng
        self.received = []  # (seq, id) in arrival order, across every connection
        self.reconnects = 0
        self.sessions = 0  # connections acknowledged

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
            self.sessions += 1
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
    room_id = make_room(prefix="stream").pk
    users = [named_user("streamer") for _ in range(6)]
    readers_token = named_user("streamer")[1]
    rng = random.Random(7)
    posts_each = 10  # the rate limit allows 10 a user in any 5 s
    sent = {username: [] for username, _ in users}  # plain bodies in the order each user sent them

    async def post_all(username, token, web):
        for n in range(posts_each):
            body = "/stock=aapl.us" if n == 4 else f"{username} #{n}"
            await asyncio.to_thread(posted, OverHttp(web.url), token, body, room_id)
            if not body.startswith("/"):
                sent[username].append(body)
            await asyncio.sleep(rng.uniform(0, 0.03))

    async def scenario():
        done = asyncio.Event()
        readers = [Resumer(webs[n % 2], readers_token, room_id, random.Random(n)) for n in range(6)]
        reading = [asyncio.ensure_future(r.run(done)) for r in readers]

        async def all_connected():
            return all(reader.sessions for reader in readers)

        await await_until(all_connected, 20, "every reader's first connection")
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
    room_id = make_room(prefix="stream").pk
    users = [named_user("streamer")[1] for _ in range(25)]

    for n in range(100):
        token = users[n % len(users)]
        page = history(OverHttp(stack.web1.url), token, room_id)
        newest = page[-1]["seq"] if page else 0
        web = (stack.web1, stack.web2)[n % 2]
        with Socket(web.ws_url).init(token) as ws:
            ws.subscribe(RESUME, {"input": {"roomId": room_id, "after": newest}}, op_id="p")
            # At once: no waiting for the subscription to be live on the server.
            for body in (f"post {n}", f"fence {n}"):
                posted(OverHttp(stack.web1.url), token, body, room_id)
            bodies = [ws.next_payload("p", timeout=15)["postCreated"]["body"] for _ in range(2)]
            # The post, then the fence posted after it: nothing missed, nothing twice between.
            assert bodies == [f"post {n}", f"fence {n}"], f"round {n}: {bodies}"


def test_resuming_too_far_behind_says_so_with_a_code(two_workers, settings):
    stack = two_workers
    room_id = make_room(prefix="stream").pk
    token = named_user("streamer")[1]
    # 1,005 posts, then positions up to 5,000 whose posts a moderator deleted.
    Post.objects.bulk_create(
        Post(room_id=room_id, author="old", body=f"old {n}", request_id=uuid.uuid4(), seq=n) for n in range(1, 1006)
    )
    Room.objects.filter(pk=room_id).update(last_seq=5000)
    with Socket(stack.web2.ws_url).init(token) as ws:
        # far: 1,004 posts to replay (over 1,000); near: none, however many positions were freed.
        for op_id, after in (("far", 1), ("beyond", 9000), ("near", 1005)):
            ws.subscribe(RESUME, {"input": {"roomId": room_id, "after": after}}, op_id=op_id)
        replies = {}
        while len(replies) < 2:
            message = ws.recv(timeout=10)
            replies[message["id"]] = message
        assert replies["far"]["type"] == "error"
        assert replies["far"]["payload"][0]["extensions"]["code"] == "TOO_FAR_BEHIND"
        assert "reload" in replies["far"]["payload"][0]["message"]
        assert replies["beyond"]["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # The near one is live and stays so: a new post reaches it.
        posted(OverHttp(stack.web1.url), token, "still here", room_id)
        message = ws.recv(timeout=15)
        assert (message["id"], message["payload"]["data"]["postCreated"]["seq"]) == ("near", 5001)
