"""Test helpers shared by the suites: rows made as the pipeline would make them."""
import uuid

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from posts.mentions import record_mentions
from posts.models import Post
from rooms.models import Room
from tests.graphql_client import new_username


def add_post(room, body, author="someone", is_bot=False):
    """A stored post at the room's next position, without going through the pipeline."""
    room_id = getattr(room, "pk", room)
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room_id)
        room.last_seq += 1
        room.save(update_fields=["last_seq"])
        post = Post.objects.create(
            room=room, author=author, body=body, is_bot=is_bot, request_id=uuid.uuid4(), seq=room.last_seq
        )
        record_mentions([post])
        return post


def add_posts(room, count, body, author="someone"):
    """`count` posts (`body` formatted with their number `n`) in one statement: a room as
    large as a test needs, quickly."""
    room_id = getattr(room, "pk", room)
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room_id)
        posts = Post.objects.bulk_create(
            Post(room=room, author=author, body=body.format(n=n), request_id=uuid.uuid4(), seq=room.last_seq + 1 + n)
            for n in range(count)
        )
        room.last_seq += count
        room.save(update_fields=["last_seq"])
        record_mentions(posts)
    return posts


def user_with_token(prefix="user", *, username=None, staff=False):
    """A user (no password: hashing one takes longer than most tests) and an access token."""
    user = get_user_model().objects.create_user(username=username or new_username(prefix), is_staff=staff)
    return user, str(AccessToken.for_user(user))
