"""The post rules, in one place: createPost and every pipeline stage call these."""
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chatsite.auth import require_user
from chatsite.errors import BadUserInput, Forbidden, RateLimited
from posts import fanout
from posts.models import Post, PostRequest
from posts.pipeline import send_stage
from posts.room_tokens import InvalidRoomToken, issue_room_token, verify_room_token
from rooms.models import Room
from rooms.selectors import find_room

log = logging.getLogger("posts.pipeline")

CLIENT_ID_MAX_LENGTH = 100


def validate_body(body):
    if body is None or not body.strip():
        raise BadUserInput("A post can't be empty.")
    if len(body) > settings.POST_MAX_LENGTH:
        raise BadUserInput(f"A post can have at most {settings.POST_MAX_LENGTH} characters.")
    return body


def room_open_for_posts(room_id):
    room = find_room(room_id)
    if room.locked:
        raise Forbidden(f"The room {room.name!r} is locked.")
    return room


def is_command(body):
    return body.lstrip().startswith("/")


def request_post(*, user, room_id, body, client_id=None):
    """createPost: check everything, record the request, hand it to the pipeline.

    Returns the request id. Either the pipeline has the post or nothing was stored.
    """
    user = require_user(user)
    room = room_open_for_posts(room_id)
    body = validate_body(body)
    client_id = (client_id or "").strip() or None
    if client_id and len(client_id) > CLIENT_ID_MAX_LENGTH:
        raise BadUserInput(f"clientId can have at most {CLIENT_ID_MAX_LENGTH} characters.")

    with transaction.atomic():
        # Lock the user's row: one user's requests are counted one at a time, whichever
        # web process they reach.
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        if client_id:
            earlier = PostRequest.objects.filter(user=user, client_id=client_id).first()
            if earlier is not None:
                log.info("stage=createPost request_id=%s client_id=%s repeated", earlier.request_id, client_id)
                return earlier.request_id
        window_start = timezone.now() - timedelta(seconds=settings.RATE_LIMIT_WINDOW_SECONDS)
        if PostRequest.objects.filter(user=user, created_at__gte=window_start).count() >= settings.RATE_LIMIT_POSTS:
            raise RateLimited(
                f"Slow down: at most {settings.RATE_LIMIT_POSTS} posts in {settings.RATE_LIMIT_WINDOW_SECONDS} seconds."
            )
        request = PostRequest.objects.create(user=user, room=room, client_id=client_id)
        log.info("stage=createPost request_id=%s room=%s user=%s", request.request_id, room.pk, user.pk)
        # Published inside the transaction: if the broker refuses, the request row rolls back.
        send_stage(
            "new.post.requested",
            request_id=str(request.request_id),
            room_id=room.pk,
            user_id=user.pk,
            body=body,
        )
    return request.request_id


def route_requested_post(*, request_id, room_id, user_id, body):
    """new.post.requested: commands go to the bot with a signed room token, posts go on."""
    if is_command(body):
        token = issue_room_token(request_id=request_id, room_id=room_id, user_id=user_id)
        log.info("stage=new.post.requested request_id=%s to=bot", request_id)
        send_stage("bot.command.received", request_id=request_id, body=body, room_token=token)
    else:
        log.info("stage=new.post.requested request_id=%s to=accepted", request_id)
        send_stage("new.post.accepted", request_id=request_id, room_id=room_id, user_id=user_id, body=body)


def take_bot_reply(*, room_token, body, error=False, reason=""):
    """bot.post.request: the room and requester come from the verified token only."""
    try:
        claims = verify_room_token(room_token)
    except InvalidRoomToken as exc:
        log.warning("stage=bot.post.request request_id=? refused: room token %s", exc)
        return
    request_id = claims["request_id"]
    log.info("stage=bot.post.request request_id=%s error=%s", request_id, bool(error))
    if error:
        send_stage(
            "new.post.error",
            request_id=request_id,
            room_id=claims["room_id"],
            user_id=claims["user_id"],
            body=body,
            reason=reason or "The bot could not answer.",
        )
    else:
        send_stage("new.post.accepted", request_id=request_id, room_id=claims["room_id"], user_id=None, body=body)


def accept_post(*, request_id, room_id, user_id, body):
    """new.post.accepted: store the post once per request, then announce it after commit.

    `user_id` None means the bot speaks.
    """
    if user_id is None:
        author = settings.BOT_AUTHOR
    else:
        author = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
        if author is None:
            log.warning("stage=new.post.accepted request_id=%s dropped: user %s is gone", request_id, user_id)
            return None
    if not Room.objects.filter(pk=room_id).exists():
        log.warning("stage=new.post.accepted request_id=%s dropped: room %s is gone", request_id, room_id)
        return None
    with transaction.atomic():
        post, created = Post.objects.get_or_create(
            request_id=request_id,
            defaults={
                "room_id": room_id,
                "user_id": user_id,
                "author": author,
                "body": body,
                "is_bot": user_id is None,
            },
        )
        if created:
            payload = post.as_payload()
            transaction.on_commit(lambda: fanout.post_created(request_id=request_id, post=payload))
    log.info(
        "stage=new.post.accepted request_id=%s post_id=%s %s", request_id, post.pk, "stored" if created else "already stored"
    )
    return post


def reject_post(*, request_id, room_id, user_id, body, reason):
    """new.post.error: tell the requester alone why nothing was posted."""
    log.info("stage=new.post.error request_id=%s user=%s reason=%s", request_id, user_id, reason)
    fanout.post_error(
        request_id=request_id,
        error={
            "request_id": str(request_id),
            "room_id": room_id,
            "user_id": str(user_id),
            "body": body,
            "reason": reason,
        },
    )
