"""A room's events (posts created, edited, deleted, reacted to) as one ordered, resumable stream, for
the subscriptions of one web process. Each event has its own position (`seq`) in the room:
a post's is the post's seq, an edit's or deletion's is taken the same way (`PostChange`).

Each web process joins a room's group once (not once per subscriber, see chatsite.groups),
and keeps the room's position: the newest `seq` it has handed on. Group messages come
at most once and, from several workers, in any order, so the database is the record:

- a post at the next position goes straight to the room's subscribers;
- a post further ahead means some came late or were lost: it waits a moment (50 ms) for
  them, then the missing ones are read from the database and handed on first (a post at
  position n+1 commits after n, see `posts.posting.new_post_accepted`, so all of them are
  there), and late copies are dropped;
- every few seconds an idle room checks the database, so the last post of a burst whose
  message was lost still arrives.

A subscriber resumes with `after`: it starts listening, then reads what it missed from the
database, then goes on with the live posts, skipping what it has already sent. Nothing can
slip between the two, however long it took the process to join the room's group.
"""
import asyncio
import logging
from contextlib import nullcontext, suppress

from django.conf import settings

from chatsite import db
from chatsite.db import on_db_thread
from chatsite.errors import BadUserInput, ChatError
from chatsite.groups import PerLoop, process_groups
from posts import selectors
from posts.models import RoomEventKind
from posts.events import PAYLOAD_KEY, room_group
from posts.stages import Event

log = logging.getLogger("posts.stream")

PAGE = 200
# A subscription resuming `after` reads what it missed this many events at a time, one page
# per connection in memory (see _room_stream).
REPLAY_PAGE = 50
EVENT_BYTES = 512
POST = PAYLOAD_KEY[Event.POST_CREATED]
CHANGE = PAYLOAD_KEY[Event.POST_CHANGED]


READ_TIMEOUT_SECONDS = 10
# How long posts that came ahead of a gap wait for the missing ones before the database
# is asked (several workers store a room's posts; their messages cross on the way).
REORDER_WAIT_SECONDS = 0.05


async def read(selector, *args):
    """A database read, bounded: a stream never waits for ever on the database (a stuck
    read raises TimeoutError, which the caller logs and retries or reports)."""
    return await on_db_thread(selector, *args, timeout=READ_TIMEOUT_SECONDS)


class TooFarBehind(ChatError):
    code = "TOO_FAR_BEHIND"


def event_size(event):
    """What an event waiting for a reader is counted as (its texts: the post's, the first
    line it answers, the names of who reacted; the rest as a constant)."""
    post = event["post"]
    reply_to = post.get("reply_to") or {}
    names = sum(len(name) for reaction in post.get("reactions") or () for name in reaction["users"])
    return EVENT_BYTES + len(post.get("body") or "") + len(reply_to.get("excerpt") or "") + names


class Subscriber:
    """One subscription's inbox of events, oldest first, counted in its connection's backlog
    (chatsite.graphql_ws.Backlog), which drops a connection that falls too far behind."""

    def __init__(self, backlog=None):
        self.queue = asyncio.Queue()
        self.ended = None  # a ChatError that ends the subscription
        self.backlog = backlog

    def put(self, event):
        if self.backlog is None or self.backlog.take(event_size(event)):
            self.queue.put_nowait(event)

    async def get(self):
        event = await self.queue.get()
        if event is not None and self.backlog is not None:
            self.backlog.give(event_size(event))
        return event

    def drop_unsent(self):
        """The subscription ends: what it never sent no longer counts against its connection."""
        while not self.queue.empty():
            event = self.queue.get_nowait()
            if event is not None and self.backlog is not None:
                self.backlog.give(event_size(event))

    def end(self, error):
        self.ended = error
        self.queue.put_nowait(None)


class RoomFeed:
    """One room on one process: the group binding, the position, the local subscribers."""

    def __init__(self, streams, room_id):
        self.streams = streams
        self.room_id = room_id
        self.group = room_group(room_id)
        self.subscribers = set()
        self.position = None  # the newest seq handed on; known once joined
        self.inbox = asyncio.Queue()
        self.ahead = {}  # seq -> event, come before an earlier one
        self.gap_deadline = 0
        self.joined = asyncio.ensure_future(self._join())
        self.pump = None

    async def _join(self):
        db.lane.set(db.PROCESS_LANE)  # the room's feed serves every subscriber, not the first one's user
        await process_groups().join(self.group, self.receive)
        # Read after joining: every later post reaches us as a message or through a gap.
        self.position = await read(selectors.room_position, self.room_id)
        self.pump = asyncio.ensure_future(self._run())
        log.info("room stream %s: joined at seq %s", self.room_id, self.position)

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            # Posts that came ahead of a gap wait a moment for the missing ones (from another
            # worker, a few ms behind) before the database is asked; a quiet room asks it
            # now and then whether a last message was lost.
            wait = settings.STREAM_CHECK_SECONDS if not self.ahead else max(0, self.gap_deadline - loop.time())
            try:
                async with asyncio.timeout(wait):
                    event = await self.inbox.get()
            except TimeoutError:
                event = None
            try:
                await self._take(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("room stream %s: could not catch up from the database", self.room_id)
                await asyncio.sleep(1)

    async def _take(self, event):
        if event is None:  # the wait ran out: what is missing comes from the database
            newest = max(self.ahead) if self.ahead else None
            self.ahead.clear()
            return await self._catch_up(newest)
        seq = event["seq"]
        if seq <= self.position:
            return  # a late or repeated copy of one already handed on
        if seq > self.position + 1:
            if not self.ahead:
                self.gap_deadline = asyncio.get_running_loop().time() + REORDER_WAIT_SECONDS
            self.ahead[seq] = event
            return
        self._hand_on(event)
        while self.position + 1 in self.ahead:  # the gap is filled: the waiting ones follow
            self._hand_on(self.ahead.pop(self.position + 1))

    async def _catch_up(self, newest):
        """Hand on, from the database, every event after our position (up to `newest`)."""
        if newest is None:
            newest = await read(selectors.room_position, self.room_id)
            if newest <= self.position:
                return
        if newest - self.position > settings.STREAM_RESUME_MAX and await read(
            selectors.missed_more_than, self.room_id, self.position, settings.STREAM_RESUME_MAX
        ):
            # Far behind (a long broker outage): everyone here reloads instead of replaying.
            log.warning("room stream %s: %s positions behind, subscribers told to reload", self.room_id, newest - self.position)
            for subscriber in list(self.subscribers):
                subscriber.end(too_far_behind())
            self.position = newest
            return
        log.info("room stream %s: catching up from seq %s to %s", self.room_id, self.position, newest)
        while self.position < newest:
            page = await read(selectors.events_after, self.room_id, self.position, PAGE)
            if not page:
                self.position = newest  # gaps in positions (a removed post): nothing to hand on
                break
            for event in page:
                self._hand_on(event)

    def _hand_on(self, event):
        self.ahead.pop(event["seq"], None)
        self.position = event["seq"]
        for subscriber in self.subscribers:
            subscriber.put(event)

    def receive(self, message):
        """A group message of the room (see chatsite.groups)."""
        kind = message.get("type")
        if kind == Event.POST_CREATED and isinstance(message.get(POST), dict):
            post = message[POST]
            self.inbox.put_nowait({"seq": post["seq"], "kind": RoomEventKind.CREATED.value, "post": post})
        elif kind == Event.POST_CHANGED and isinstance(message.get(CHANGE), dict):
            self.inbox.put_nowait(message[CHANGE])

    async def close(self):
        log.info("room stream %s: left", self.room_id)
        for task in (self.joined, self.pump):
            if task is not None:
                task.cancel()
                with suppress(BaseException):
                    await task
        process_groups().discard(self.group, self.receive)


class RoomStreams:
    """The room feeds of one process (one event loop)."""

    def __init__(self):
        self.feeds = {}
        self._closing = set()  # feeds closing in the background, held so they finish

    async def subscribe(self, room_id, subscriber):
        """The room's feed, joined, with `subscriber` among its listeners."""
        while True:
            feed = self.feeds.get(room_id)
            if feed is None:
                feed = self.feeds[room_id] = RoomFeed(self, room_id)
            try:
                await asyncio.shield(feed.joined)
            except BaseException:
                # Cancelled while waiting (the client left), or the join failed: a feed that
                # nobody listens to must not stay joined.
                self._forget_if_unused(feed)
                raise
            if self.feeds.get(room_id) is feed:  # not closed by its last leaver meanwhile
                feed.subscribers.add(subscriber)
                return feed

    async def leave(self, feed, subscriber):
        feed.subscribers.discard(subscriber)
        if not feed.subscribers and self.feeds.get(feed.room_id) is feed:
            del self.feeds[feed.room_id]
            await feed.close()

    def _forget_if_unused(self, feed):
        if not feed.subscribers and self.feeds.get(feed.room_id) is feed:
            del self.feeds[feed.room_id]
            self._closing.add(task := asyncio.ensure_future(feed.close()))
            task.add_done_callback(self._closing.discard)

    def stats(self):
        return {"rooms": len(self.feeds), "subscribers": sum(len(f.subscribers) for f in self.feeds.values())}


# This process's room streams; stats(): rooms joined and subscriptions listening.
room_streams = PerLoop(RoomStreams, rooms=0, subscribers=0)
stats = room_streams.stats


def too_far_behind():
    return TooFarBehind(
        f"More than {settings.STREAM_RESUME_MAX} posts were missed: reload the room's history "
        "(`posts` without a cursor) and subscribe again with `after` set to its newest `seq`."
    )


def post_state(post):
    """What of a post can change after it is stored: its text, its thread's counts and the
    post it answers, its reactions. Renderings are shared by key, so the key holds it all."""
    thread, reply_to = post.get("thread"), post.get("reply_to")
    return (
        post.get("edited_at"),
        post.get("deleted"),
        (thread["reply_count"], thread["last_reply_at"]) if thread else None,
        (reply_to["excerpt"], reply_to["deleted"]) if reply_to else None,
        tuple((r["emoji"], r["count"], tuple(r["users"])) for r in post.get("reactions") or ()),
    )


def post_key(post):
    return ("post", post["id"], post_state(post))


def render_key(room_id, event):
    """Events read later show the post as it is then: the key tells the states apart."""
    return ("event", room_id, event["seq"], post_state(event["post"]))


def room_posts(room_id, after=None, backlog=None):
    """The room's new posts after position `after` (None: from now on), once each and in
    order, then live, as (render key, post payload) pairs. `backlog`: the connection's
    (chatsite.graphql_ws.Backlog), which bounds what is held for a slow reader."""
    return _room_stream(room_id, after, posts_only=True, backlog=backlog)


def room_events(room_id, after=None, backlog=None):
    """The room's events after position `after` (None: from now on), once each and in
    order, then live, as (render key, event) pairs. `backlog` as for room_posts."""
    return _room_stream(room_id, after, posts_only=False, backlog=backlog)


async def _room_stream(room_id, after, posts_only, backlog):
    """One generator for both (a layer less on the hot path): `posts_only` hands on created
    posts as posts, keyed by post; otherwise every event, keyed by position and state.

    What was missed is read a page at a time, and each page only in the connection's turn,
    held until the page is sent: a reader that stops reading keeps one page in memory."""
    streams = room_streams()
    subscriber = Subscriber(backlog)
    turn = backlog.turn if backlog is not None else nullcontext()
    feed = await streams.subscribe(room_id, subscriber)  # listening before reading: nothing slips
    try:
        if after is None:
            sent = feed.position
        else:
            sent = after
            newest = await read(selectors.room_position, room_id)
            if after > newest:
                raise BadUserInput(f"`after` ({after}) is beyond the room's newest position ({newest}).")
            if newest - after > settings.STREAM_RESUME_MAX and await read(
                selectors.missed_more_than, room_id, after, settings.STREAM_RESUME_MAX
            ):
                raise too_far_behind()
            more = True
            while more:
                async with turn:
                    page = await read(selectors.events_after, room_id, sent, REPLAY_PAGE)
                    more = len(page) == REPLAY_PAGE
                    for event in page:
                        sent = event["seq"]
                        if not posts_only:
                            yield render_key(room_id, event), event
                        elif event["kind"] == RoomEventKind.CREATED:
                            yield post_key(event["post"]), event["post"]
                    page = event = None
        while True:
            event = await subscriber.get()
            if event is None:
                raise subscriber.ended
            if event["seq"] > sent:
                sent = event["seq"]
                if not posts_only:
                    yield render_key(room_id, event), event
                elif event["kind"] == RoomEventKind.CREATED:
                    yield post_key(event["post"]), event["post"]
    finally:
        await streams.leave(feed, subscriber)
        subscriber.drop_unsent()
