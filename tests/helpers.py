"""Test helpers shared by the suites: rows made as the pipeline would make them."""
import uuid

from django.db import transaction

from posts.models import Post
from rooms.models import Room


def add_post(room, body, author="someone", is_bot=False):
    """A stored post at the room's next position, without going through the pipeline."""
    room_id = getattr(room, "pk", room)
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room_id)
        room.last_seq += 1
        room.save(update_fields=["last_seq"])
        return Post.objects.create(
            room=room, author=author, body=body, is_bot=is_bot, request_id=uuid.uuid4(), seq=room.last_seq
        )
