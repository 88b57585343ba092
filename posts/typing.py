"""Typing: "someone is typing" reaches the room's readers, at most once per
TYPING_INTERVAL_SECONDS per person and room, across every web process; never stored."""
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from chatsite.auth import require_user
from posts import events
from posts.models import TypingAnnouncement
from posts.posting import room_open_for_posts


def typing(*, user, room_id):
    """sendTyping: tell the room's readers that `user` is typing. Announced at most once per
    TYPING_INTERVAL_SECONDS per user and room, whichever web processes the calls reach (more
    often is not an error: clients call it as keys are pressed); the announcement itself is
    never stored, readers drop it after TYPING_SHOWN_SECONDS."""
    user = require_user(user)
    room = room_open_for_posts(user, room_id)
    if not _claim_typing_turn(user.pk, room.pk):
        return False
    events.typing(
        {
            "room_id": room.pk,
            "user_id": str(user.pk),
            "username": user.username,
            "expires_in_seconds": settings.TYPING_SHOWN_SECONDS,
        }
    )
    return True


def _claim_typing_turn(user_id, room_id):
    """Whether this call is the one to announce: one statement records it unless the user was
    announced in the room less than TYPING_INTERVAL_SECONDS ago (by any process; concurrent
    calls wait for each other's row, so one of them wins). One row per user and room."""
    now = timezone.now()
    since = now - timedelta(seconds=settings.TYPING_INTERVAL_SECONDS)
    meta, ops = TypingAnnouncement._meta, connection.ops
    table, user, room, at = (
        ops.quote_name(name)
        for name in (meta.db_table, meta.get_field("user").column, meta.get_field("room").column, "announced_at")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({user}, {room}, {at}) VALUES (%s, %s, %s) "
            f"ON CONFLICT ({user}, {room}) DO UPDATE SET {at} = excluded.{at} WHERE {table}.{at} <= %s",
            [user_id, room_id, ops.adapt_datetimefield_value(now), ops.adapt_datetimefield_value(since)],
        )
        return cursor.rowcount == 1
