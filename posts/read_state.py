"""Read state: how far each person has read each room, what is new there for them, and
whether they muted it. markRead moves it (never back); muteRoom sets the flag; the counts
are read with it, in one snapshot."""
from django.conf import settings
from django.db import transaction

from chatsite import throttle
from chatsite.auth import require_user
from chatsite.errors import BadUserInput
from posts import events, selectors
from posts.models import ReadState
from rooms.selectors import room_for


def mark_read(*, user, room_id, seq):
    """markRead: the user has seen the room up to position `seq` (never moves back). Their
    other sessions hear of it, to update their unread counts. Returns the read state.
    Rate limited: MARK_READ_RATE_LIMIT calls per user in MARK_READ_WINDOW_SECONDS."""
    user = require_user(user)
    room = room_for(user, room_id)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise BadUserInput("`seq` must be a position in the room (an integer, 0 or more).")
    throttle.take(
        "mark-read", user.pk, limit=settings.MARK_READ_RATE_LIMIT,
        window_seconds=settings.MARK_READ_WINDOW_SECONDS, what="markRead calls",
    )
    seq = min(seq, room.last_seq)
    with transaction.atomic():
        state, _ = ReadState.objects.select_for_update().get_or_create(user=user, room=room)
        moved = seq > state.last_read_seq
        if moved:
            state.last_read_seq = seq
            state.save(update_fields=["last_read_seq", "updated_at"])
        read = selectors.read_states(user, [room.pk])[room.pk]
        if moved:
            transaction.on_commit(lambda: events.read_state(user.pk, read))
    return read


def mute_room(*, user, room_id, muted):
    """muteRoom: a muted room raises no notification and its unread count is never red (the
    count itself stays). The user's other sessions hear of it (readStateChanged). Returns the
    read state. Rate limited: MUTE_ROOM_RATE_LIMIT calls per user a minute."""
    user = require_user(user)
    room = room_for(user, room_id)
    if not isinstance(muted, bool):
        raise BadUserInput("`muted` must be true or false.")
    throttle.take(
        "mute-room", user.pk, limit=settings.MUTE_ROOM_RATE_LIMIT, window_seconds=throttle.MINUTE, what="muteRoom calls",
    )
    with transaction.atomic():
        state, _ = ReadState.objects.select_for_update().get_or_create(user=user, room=room)
        changed = state.muted != muted
        if changed:
            state.muted = muted
            state.save(update_fields=["muted", "updated_at"])
        read = selectors.read_states(user, [room.pk])[room.pk]
        if changed:
            transaction.on_commit(lambda: events.read_state(user.pk, read))
    return read
