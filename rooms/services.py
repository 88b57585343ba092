import re

from django.db import IntegrityError, transaction

from chatsite.errors import BadUserInput
from rooms.models import Room

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
NAME_MAX_LENGTH = 100


def create_room(*, room_id, name):
    room_id = (room_id or "").strip()
    name = (name or "").strip()
    if not SLUG_PATTERN.match(room_id):
        raise BadUserInput("A room id is a slug: 1 to 50 lower-case letters, digits, '-' or '_'.")
    if not name or len(name) > NAME_MAX_LENGTH:
        raise BadUserInput(f"A room name has 1 to {NAME_MAX_LENGTH} characters.")
    try:
        with transaction.atomic():
            if Room.objects.filter(pk=room_id).exists():
                raise BadUserInput(f"A room {room_id!r} exists already.")
            return Room.objects.create(id=room_id, name=name)
    except IntegrityError:
        raise BadUserInput(f"A room {room_id!r} exists already.")
