"""Test helpers every suite uses: users, rooms and posts, made as the application makes them
(or through the API as a client would), and what the database holds of them. The application
modules the suites need beyond models are imported here, not in each suite, so that a move
in the application is followed in one place."""
import itertools
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from chatsite.errors import ChatError
from posts import posting as pipeline_stages  # noqa: F401 (request_post and each stage, in order)
from posts.mentions import record_mentions
from posts.models import Post, PostChange, PostRequest
from posts.public_ids import public_post_id  # noqa: F401 (the tests name posts as clients do)
from posts.room_tokens import issue_room_token  # noqa: F401 (what the route stage signs for the bot)
from rooms.models import Room
from tests.clients import CREATE_POST, POSTS, data, new_username
from tests.stack import wait_until

_rooms = itertools.count(1)


def on_the_full_stack(test):
    """Marks a test of the started full stack (skipped without AMQP_URL), on committed rows
    (the started processes see them)."""
    return pytest.mark.fullstack(pytest.mark.django_db(transaction=True)(test))


# --- users and rooms ---


def user_with_token(prefix="user", *, username=None, staff=False, password=None):
    """A user and an access token. No password unless asked: hashing one takes longer than
    most tests."""
    user = get_user_model().objects.create_user(
        username=username or new_username(prefix), password=password, is_staff=staff
    )
    return user, token_for(user)


def token_for(user):
    """An access token for `user`."""
    return str(AccessToken.for_user(user))


def named_user(prefix="user"):
    """(username, access token) of a new user."""
    user, token = user_with_token(prefix)
    return user.username, token


def chatter(prefix="user"):
    """(access token, user id, username) of a new user, as `sign_up` returns them."""
    user, token = user_with_token(prefix)
    return token, str(user.pk), user.username


def make_room(room_id=None, *, prefix="room", name=None, **fields):
    """A new room (`prefix`-n unless `room_id` is given)."""
    room_id = room_id or f"{prefix}-{next(_rooms)}"
    return Room.objects.create(id=room_id, name=name or room_id.title(), **fields)


# --- posts stored directly, at the room's next positions ---


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


# --- posts through the API, as a client sends them ---


def create_post(gql, token, body, room="general", client_id=None):
    """createPost as a client sends it; the whole answer (errors included)."""
    post = {"roomId": room, "body": body}
    if client_id is not None:
        post["clientId"] = client_id
    return gql(CREATE_POST, {"input": post}, token=token)


def posted(gql, token, body, room="general", client_id=None):
    """createPost, accepted: its request id."""
    payload = data(create_post(gql, token, body, room, client_id), "createPost")
    assert payload["success"] is True, payload
    return payload["requestId"]


def history(gql, token, room="general", **cursor):
    """The `posts` query's page, asserting it has no errors."""
    return data(gql(POSTS, {"input": {"roomId": room, **cursor}}, token=token), "posts")


# --- what the pipeline stored ---


def stored_post(request_id, timeout=20):
    """The post a request became, once the pipeline has stored it."""
    return wait_until(lambda: Post.objects.filter(request_id=request_id).first(), timeout, f"post {request_id} to be stored")


def post_now(gql, token, body, room="general"):
    """createPost, accepted and stored: the post."""
    return stored_post(posted(gql, token, body, room))


def stored_sequence(room_id):
    """(position, row id) of the room's stored posts, in order."""
    return list(Post.objects.filter(room_id=room_id).order_by("seq").values_list("seq", "id"))


def post_table_sizes():
    """How many rows the post tables hold (posts, changes, requests)."""
    return [model.objects.count() for model in (Post, PostChange, PostRequest)]


def outcome(call):
    """"OK", or the code of the error a client would see: for rules called directly."""
    try:
        call()
        return "OK"
    except ChatError as error:
        return error.code
