"""Traffic and readers for the fault tests, and the reckoning at the end.

`Traffic`: several users post to one room from threads, each retrying a post whose answer
was lost (a dropped connection, a timeout) with the same clientId, as a real client does.
`Reader`: a subscriber that stays connected as long as the server lets it and resumes
`after` its last position when it doesn't. `reckon` then checks that every accepted post is
stored exactly once, in its room, and that every reader received the room's stored
sequence, nothing missing, nothing twice, in order.
"""
import asyncio
import collections
import json
import threading
import time
from contextlib import contextmanager

import requests
from django.db import connection
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from posts.models import Post
from posts.public_ids import post_pk
from tests.clients import CREATE_POST
from tests.helpers import stored_sequence
from tests.stack import wait_until

RESUME = "subscription($input: PostCreatedInput!) { postCreated(input: $input) { id seq author body } }"
POST_ERROR = "subscription { postError { requestId body reason } }"


def graphql(web, query, variables, token, timeout=10):
    """One request; the JSON answer, or None when no answer came back."""
    try:
        response = requests.post(
            f"{web.url}/graphql/",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except requests.RequestException:
        return None
    assert response.status_code < 500, f"HTTP {response.status_code}: {response.text[:500]}"
    return response.json()


class Traffic:
    """Users posting `user #n` to one room, each on a web process of its own, every `pace` s."""

    def __init__(self, webs, room_id, users, pace=0.3):
        self.webs, self.room_id, self.users, self.pace = webs, room_id, users, pace
        self.accepted = []  # bodies createPost accepted
        self.refused = collections.Counter()  # error code -> how many
        self.refused_bodies = []  # bodies refused at their only attempt: must never be stored
        self.uncertain = []  # an answer was lost, then refused: stored at most once
        self.answers = []  # (monotonic time asked, time answered, "OK" or the error code)
        self.stop_event = threading.Event()
        self.threads = [
            threading.Thread(target=self._post, args=(n, username, token), daemon=True)
            for n, (username, token) in enumerate(users)
        ]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(60)

    def _post(self, n, username, token):
        web = self.webs[n % len(self.webs)]
        count = 0
        while not self.stop_event.is_set():
            body = f"{username} #{count}"
            count += 1
            variables = {"input": {"roomId": self.room_id, "body": body, "clientId": body}}
            lost = False
            while True:
                asked = time.monotonic()
                answer = graphql(web, CREATE_POST, variables, token)
                if answer is not None:
                    break
                lost = True
                time.sleep(0.2)
            if "errors" not in answer and answer["data"]["createPost"]["success"]:
                self.accepted.append(body)
                self.answers.append((asked, time.monotonic(), "OK"))
            else:
                code = answer["errors"][0]["extensions"]["code"]
                self.refused[code] += 1
                self.answers.append((asked, time.monotonic(), code))
                (self.uncertain if lost else self.refused_bodies).append(body)
            self.stop_event.wait(self.pace)

    def wait_for(self, accepted, timeout=60):
        """Until at least `accepted` more posts were accepted than now."""
        goal = len(self.accepted) + accepted
        wait_until(lambda: len(self.accepted) >= goal, timeout, f"{accepted} more accepted posts")


class Reader:
    """A subscriber on one web process, in a thread with its own event loop."""

    def __init__(self, web, token, room_id):
        self.web, self.token, self.room_id = web, token, room_id
        self.received = []  # (seq, id), across every connection
        self.received_at = []  # the monotonic time each of `received` came
        self.connections = 0
        self.surprises = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    @property
    def last(self):
        return self.received[-1][0] if self.received else 0

    def __enter__(self):
        self.thread.start()
        wait_until(lambda: self.connections, 15, "the reader to subscribe")
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(30)

    async def _run(self):
        # Stopped only by the test (after the reckoning): anything else is a reconnect.
        while not self.stop_event.is_set():
            try:
                await self._session()
            except (ConnectionClosed, OSError, TimeoutError, InvalidStatus):
                pass
            except Exception as exc:  # kept for the reckoning's message; the reader goes on
                self.surprises.append(repr(exc))
            await asyncio.sleep(0.5)

    async def _session(self):
        async with aconnect(self.web.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
            variables = {"input": {"roomId": self.room_id, "after": self.last}}
            await ws.send(json.dumps({"type": "subscribe", "id": "p", "payload": {"query": RESUME, "variables": variables}}))
            self.connections += 1
            while not self.stop_event.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                if message["type"] != "next" or "errors" in message["payload"]:
                    # The server could not serve the subscription (e.g. UNAVAILABLE while
                    # the database is away): a real client resumes a moment later.
                    return
                post = message["payload"]["data"]["postCreated"]
                self.received.append((post["seq"], post_pk(post["id"])))
                self.received_at.append(time.monotonic())


@contextmanager
def posting_and_reading(stack, room_id, users, reader_tokens=None):
    """`users` posting to the room through both web processes, and a reader on each (as the
    first two users unless `reader_tokens` says), for the block: yields (traffic, readers)."""
    reader_tokens = reader_tokens or [token for _, token in users[:2]]
    readers = [Reader(stack.web1, reader_tokens[0], room_id), Reader(stack.web2, reader_tokens[1], room_id)]
    with readers[0], readers[1], Traffic([stack.web1, stack.web2], room_id, users) as traffic:
        yield traffic, readers


def reckon(traffic, readers, room_id, expected_extra=0, timeout=90):
    """Every accepted post stored exactly once, in its room; nothing refused stored; every
    reader received the room's stored sequence. `expected_extra`: posts that are not the
    traffic's own (the bot's quotes, say)."""
    traffic.stop()  # no post in flight while we count
    connection.close()  # the test's own session may have been cut (a database restart)
    accepted = set(traffic.accepted)
    assert len(accepted) == len(traffic.accepted), "createPost accepted one clientId twice"

    def stored_bodies():
        return collections.Counter(Post.objects.filter(room_id=room_id).values_list("body", flat=True))

    def all_stored():
        bodies = stored_bodies()
        return all(bodies[body] for body in accepted)

    try:
        wait_until(all_stored, timeout, f"{len(accepted)} accepted posts to be stored")
    except AssertionError as exc:
        missing = sorted(body for body in accepted if not stored_bodies()[body])
        raise AssertionError(f"{exc}; never stored: {missing}") from None
    time.sleep(1)  # anything stored twice would land now
    bodies = stored_bodies()
    twice = {body: n for body, n in bodies.items() if n > 1}
    assert not twice, f"stored more than once: {twice}"
    refused_stored = [body for body in traffic.refused_bodies if bodies[body]]
    assert not refused_stored, f"refused, yet stored: {refused_stored}"
    unexpected = set(bodies) - accepted - set(traffic.uncertain)
    assert len(unexpected) == expected_extra, f"stored without being accepted: {unexpected}"
    elsewhere = Post.objects.filter(body__in=accepted).exclude(room_id=room_id).count()
    assert elsewhere == 0, "an accepted post was stored in another room"

    stored = stored_sequence(room_id)
    final = stored[-1][0]
    for reader in readers:
        wait_until(lambda r=reader: r.last >= final, timeout,
                   f"the reader on {reader.web.label} to catch up (it saw {reader.surprises[-3:]})")
    for reader in readers:
        assert reader.received == stored, (
            f"reader on {reader.web.label} ({reader.connections} connections): "
            f"missing {sorted(set(stored) - set(reader.received))[:5]}, "
            f"{len(reader.received) - len(set(reader.received))} twice"
        )
    return stored
