from django.conf import settings
from django.db import IntegrityError, transaction

from chatsite import throttle
from chatsite.errors import BadUserInput
from chatsite.text import clean_text, has_visible_text
from rooms.models import ROOM_ID_MAX_LENGTH, ROOM_ID_PATTERN, Room

NAME_MAX_LENGTH = 100


def create_room(*, room_id, name, user=None):
    """A new room. `user`: its creator, who may create so many a minute."""
    if user is not None:
        throttle.refuse_past("room-user", user.pk, limit=settings.ROOMS_PER_MINUTE, window_seconds=60,
                             what="rooms created")
    room_id = clean_text(room_id or "", field="A room id").strip()
    name = clean_text(name or "", field="A room name", allow_bidi=False).strip()
    if not ROOM_ID_PATTERN.match(room_id):
        raise BadUserInput(f"A room id is a slug: 1 to {ROOM_ID_MAX_LENGTH} lower-case letters, digits, '-' or '_'.")
    if not has_visible_text(name) or len(name) > NAME_MAX_LENGTH:
        raise BadUserInput(f"A room name has 1 to {NAME_MAX_LENGTH} characters, some of them visible.")
    try:
        with transaction.atomic():
            if Room.objects.filter(pk=room_id).exists():
                raise BadUserInput(f"A room {room_id!r} exists already.")
            if Room.objects.filter(name__iexact=name).exists():
                raise BadUserInput(f"A room named {name!r} exists already.")
            room = Room.objects.create(id=room_id, name=name)
            if user is not None:
                throttle.record("room-user", user.pk)
            return room
    except IntegrityError:
        raise BadUserInput(f"A room {room_id!r} exists already.")
