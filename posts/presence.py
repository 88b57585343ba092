"""Who has a room open, across every web process, for one message per change.

A reader is in a room while a roomEvents subscription of theirs is open (the room page
keeps one). Each web process counts its own readers per room (`Tracker`) and writes only
when that count goes from 0 to 1 or, after a grace period, back to 0: a reload or a
reconnect within PRESENCE_GRACE_SECONDS, to this process or another, changes nothing.
Rows carry an expiry the process renews; a process that dies stops renewing and its readers
drop out after PRESENCE_TTL_SECONDS.

Every change is made with the room's `PresenceClock` row locked and numbered, and sends the
whole list (who, and how many) to the room's presence group: each web process hands that one
message to its local subscribers, one frame each. A reader keeps the highest version.
"""
import asyncio
import logging
import uuid
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from chatsite.db import on_db_thread
from chatsite.groups import PerLoop
from posts import events
from posts.models import PresenceClock, RoomPresence

log = logging.getLogger("posts.presence")

# This process, as presence rows name it.
PROCESS = uuid.uuid4().hex
SHOWN_MAX = 50  # names in a snapshot; `count` says how many in all


def snapshot(room_id, version):
    """The room's readers now: {"room_id", "version", "count", "users": [{user_id, username}]}."""
    rows = (
        RoomPresence.objects.filter(room_id=room_id, expires_at__gt=timezone.now())
        .values_list("user_id", "user__username")
        .distinct()
        .order_by("user__username")
    )
    users = [{"user_id": str(user_id), "username": username} for user_id, username in rows[: SHOWN_MAX + 1]]
    count = len(users) if len(users) <= SHOWN_MAX else rows.count()
    return {"room_id": room_id, "version": version, "count": count, "users": users[:SHOWN_MAX]}


def current(room_id):
    """The room's list as it is, with its version (0: nobody has been here)."""
    version = PresenceClock.objects.filter(room_id=room_id).values_list("version", flat=True).first() or 0
    return snapshot(room_id, version)


def _locked_clock(room_id):
    try:
        with transaction.atomic():
            PresenceClock.objects.get_or_create(room_id=room_id)
    except IntegrityError:  # created meanwhile by another process
        pass
    return PresenceClock.objects.select_for_update().get(room_id=room_id)


def _who(room_id):
    return set(RoomPresence.objects.filter(room_id=room_id, expires_at__gt=timezone.now()).values_list("user_id", flat=True))


def change(room_id, user_id, here):
    """This process has `user_id` in the room now (`here`) or no longer. Sends the new list
    if the room's list changed (someone on another process may still hold them there)."""
    with transaction.atomic():
        clock = _locked_clock(room_id)
        before = _who(room_id)
        if here:
            RoomPresence.objects.update_or_create(
                room_id=room_id, user_id=user_id, process=PROCESS,
                defaults={"expires_at": timezone.now() + timedelta(seconds=settings.PRESENCE_TTL_SECONDS)},
            )
        else:
            RoomPresence.objects.filter(room_id=room_id, user_id=user_id, process=PROCESS).delete()
        if _who(room_id) == before:
            return None
        now = _announce(clock)
    log.info("presence room=%s user=%s here=%s version=%s count=%s", room_id, user_id, here, now["version"], now["count"])
    return now


def _announce(clock):
    """Inside the change's transaction: the room's next version, sent once it commits."""
    clock.version += 1
    clock.save(update_fields=["version"])
    now = snapshot(clock.room_id, clock.version)
    transaction.on_commit(lambda: events.presence(now))
    return now


def renew():
    """Renew this process's rows (one statement, however many readers); drop every row whose
    process stopped renewing it, and tell those rooms."""
    now = timezone.now()
    RoomPresence.objects.filter(process=PROCESS).update(expires_at=now + timedelta(seconds=settings.PRESENCE_TTL_SECONDS))
    stale_rooms = set(RoomPresence.objects.filter(expires_at__lte=now).values_list("room_id", flat=True))
    for room_id in stale_rooms:
        with transaction.atomic():
            clock = _locked_clock(room_id)
            if RoomPresence.objects.filter(room_id=room_id, expires_at__lte=timezone.now()).delete()[0]:
                _announce(clock)


class Tracker:
    """This process's readers per (room, user), on one event loop.

    Counting is synchronous (no await between a reader's arrival or departure and its
    count), so a subscription cancelled at any moment is counted out exactly as it was
    counted in. The database is brought to what the counts say by at most one writer per
    (room, user) at a time, which writes again until its row matches: a quick leave and
    return, or a second tab closed while the first one's row is being written, can't leave
    a row that nobody here holds, nor remove one somebody does."""

    def __init__(self):
        self.open = {}  # (room id, user id) -> open subscriptions here
        self.leaving = {}  # (room id, user id) -> the task that ends their presence after the grace
        self.written = set()  # (room id, user id) whose row this process has written as here
        self.writers = {}  # (room id, user id) -> the task bringing its row to the count
        self.renewing = None

    def enter(self, room_id, user_id):
        key = (room_id, user_id)
        self.open[key] = self.open.get(key, 0) + 1
        pending = self.leaving.pop(key, None)
        if pending is not None:
            pending.cancel()  # back within the grace: nothing changed
        self._sync(key)
        if self.renewing is None:
            self.renewing = asyncio.ensure_future(self._renew())

    def leave(self, room_id, user_id):
        key = (room_id, user_id)
        self.open[key] -= 1
        if self.open[key] == 0:
            del self.open[key]
            self.leaving[key] = asyncio.ensure_future(self._leave_later(key))

    def _here(self, key):
        return key in self.open or key in self.leaving

    async def _leave_later(self, key):
        await asyncio.sleep(settings.PRESENCE_GRACE_SECONDS)
        if self.leaving.get(key) is asyncio.current_task():
            del self.leaving[key]
            self._sync(key)

    def _sync(self, key):
        """Start the key's writer unless it runs (it reads the count again when it has written)."""
        if key not in self.writers and self._here(key) != (key in self.written):
            self.writers[key] = asyncio.ensure_future(self._write(key))

    async def _write(self, key):
        try:
            while (here := self._here(key)) != (key in self.written):
                try:
                    await on_db_thread(change, *key, here)
                except Exception:  # presence is a courtesy: never the reason a subscription fails
                    log.exception("presence room=%s user=%s here=%s not recorded", *key, here)
                    return  # the next arrival or departure of this reader tries again
                if here:
                    self.written.add(key)
                else:
                    self.written.discard(key)
        finally:
            del self.writers[key]

    async def _renew(self):
        while True:
            await asyncio.sleep(settings.PRESENCE_RENEW_SECONDS)
            with suppress(Exception):
                await on_db_thread(renew)

    def stats(self):
        return {"readers": len(self.open), "leaving": len(self.leaving)}


trackers = PerLoop(Tracker, readers=0, leaving=0)


async def while_present(room_id, user_id, events):
    """`events` (a room's event stream), with the reader counted in the room meanwhile."""
    tracker = trackers()
    tracker.enter(room_id, user_id)
    try:
        async for item in events:
            yield item
    finally:
        tracker.leave(room_id, user_id)
        with suppress(Exception):
            await events.aclose()
