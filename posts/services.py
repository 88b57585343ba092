"""The post rules, in one place: createPost and every pipeline stage call these."""
import logging
import math
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from chatsite.auth import require_user
from chatsite import throttle
from chatsite.errors import BadUserInput, Forbidden, NotFound, RateLimited
from chatsite.text import clean_text, has_visible_text
from posts import fanout, pipeline, selectors
from posts.mentions import record_mentions, rerecord_mentions
from posts.models import Post, PostChange, PostRequest, ReadState, TypingAnnouncement
from posts.pipeline import send_stage
from posts.public_ids import post_pk
from posts.stages import Stage
from posts.room_tokens import InvalidRoomToken, issue_room_token, verify_room_token
from rooms.models import Room
from rooms.selectors import can_see, find_room, room_for

log = logging.getLogger("posts.pipeline")

CLIENT_ID_MAX_LENGTH = 100
# How long a stage waits for createPost's transaction to commit the request it carries.
REQUEST_COMMIT_WAIT_SECONDS = 5


def validate_body(body):
    body = clean_text(body if body is not None else "", field="A post", multiline=True)
    if not has_visible_text(body):
        raise BadUserInput("A post can't be empty (or made only of spaces and invisible characters).")
    if len(body) > settings.POST_MAX_LENGTH:
        raise BadUserInput(f"A post can have at most {settings.POST_MAX_LENGTH} characters.")
    return body


def room_open_for_posts(user, room_id):
    """The room `user` may post in: one they can see (NotFound otherwise), not locked."""
    room = room_for(user, room_id)
    if room.locked:
        raise Forbidden(f"The room {room.name!r} is locked.")
    return room


def check_rate(recent, what):
    """The rate limit, for every kind of write: at most RATE_LIMIT_POSTS of `recent` (one
    user's rows, by `created_at`) in any RATE_LIMIT_WINDOW_SECONDS."""
    window_start = timezone.now() - timedelta(seconds=settings.RATE_LIMIT_WINDOW_SECONDS)
    counted = recent.filter(created_at__gte=window_start).aggregate(n=Count("pk"), oldest=Min("created_at"))
    if counted["n"] >= settings.RATE_LIMIT_POSTS:
        wait = (counted["oldest"] - window_start).total_seconds()
        raise RateLimited(
            f"Slow down: at most {settings.RATE_LIMIT_POSTS} {what} in {settings.RATE_LIMIT_WINDOW_SECONDS:g} "
            f"seconds; try again in {max(1, math.ceil(wait))} seconds."
        )


def is_command(body):
    return body.lstrip().startswith("/")


def request_post(*, user, room_id, body, client_id=None):
    """createPost: check everything, record the request, hand it to the pipeline.

    Returns the request id. Either the pipeline has the post or nothing was stored.
    """
    user = require_user(user)
    room = room_open_for_posts(user, room_id)
    body = validate_body(body)
    client_id = clean_text(client_id or "", field="clientId").strip() or None
    if client_id and len(client_id) > CLIENT_ID_MAX_LENGTH:
        raise BadUserInput(f"clientId can have at most {CLIENT_ID_MAX_LENGTH} characters.")
    pipeline.admit()

    with transaction.atomic():
        # Lock the user's row: one user's requests are counted (and numbered) one at a time,
        # whichever web process they reach. `no_key`: the foreign-key checks of other
        # transactions (a post by this user) share the row without waiting, so none deadlock.
        get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).exists()
        if client_id:
            earlier = PostRequest.objects.filter(user=user, client_id=client_id).first()
            if earlier is not None:
                log.info("stage=createPost request_id=%s client_id=%s repeated", earlier.request_id, client_id)
                return earlier.request_id
        check_rate(PostRequest.objects.filter(user=user), "posts")
        request = PostRequest.objects.create(
            user=user, room=room, client_id=client_id, body=body, is_command=is_command(body)
        )
        log.info("stage=createPost request_id=%s room=%s user=%s", request.request_id, room.pk, user.pk)
        # Full stack: published inside the transaction, so if the broker refuses, the request
        # row rolls back. Embedded: the stage starts once this commits (posts/embedded.py).
        send_stage(
            Stage.REQUESTED,
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
        log.info("stage=%s request_id=%s to=bot", Stage.REQUESTED, request_id)
        send_stage(Stage.BOT_COMMAND, request_id=request_id, body=body, room_token=token)
    else:
        log.info("stage=%s request_id=%s to=accepted", Stage.REQUESTED, request_id)
        send_stage(Stage.ACCEPTED, request_id=request_id, room_id=room_id, user_id=user_id, body=body)


def take_bot_reply(*, room_token, body, error=False, reason=""):
    """bot.post.request: the room and requester come from the verified token only."""
    try:
        claims = verify_room_token(room_token)
    except InvalidRoomToken as exc:
        log.warning("stage=%s request_id=? refused: room token %s", Stage.BOT_REPLY, exc)
        return
    request_id = claims["request_id"]
    log.info("stage=%s request_id=%s error=%s", Stage.BOT_REPLY, request_id, bool(error))
    if error:
        send_stage(
            Stage.ERROR,
            request_id=request_id,
            room_id=claims["room_id"],
            user_id=claims["user_id"],
            body=body,
            reason=reason or "The bot could not answer.",
        )
    else:
        send_stage(Stage.ACCEPTED, request_id=request_id, room_id=claims["room_id"], user_id=None, body=body)


def accept_post(*, request_id, room_id, user_id, body):
    """new.post.accepted: store the post once per request, at the next position of its room,
    and announce it after commit. `user_id` None means the bot speaks.

    Two rules make the room's order one that no reader can be misled by:
    - Positions are taken with the room's row locked until commit, so position n+1 can't
      commit before position n: whoever sees n+1 can see every earlier one, and a reader
      that resumes `after` a position never misses one that commits later.
    - A sender's earlier plain posts in this room that are still on their way through the
      pipeline are stored first, in the order they were sent: a user who posts A, sees it
      accepted, then posts B, never sees B placed before A, however the workers interleave.
      Their own stage then finds them stored. Bot replies take their place when they come.
    """
    if user_id is None:
        author = settings.BOT_AUTHOR
    else:
        author = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
        if author is None:
            log.warning("stage=%s request_id=%s dropped: user %s is gone", Stage.ACCEPTED, request_id, user_id)
            return None
        request_number = _committed_request_number(request_id)
        if request_number is None:
            log.warning("stage=%s request_id=%s dropped: createPost never committed it", Stage.ACCEPTED, request_id)
            return None
    with transaction.atomic():
        # `no_key`, as for the user's row in request_post: new requests' foreign-key checks on
        # the room don't wait for this lock, nor deadlock with it.
        last_seq = (
            Room.objects.select_for_update(no_key=True).filter(pk=room_id).values_list("last_seq", flat=True).first()
        )
        if last_seq is None:
            log.warning("stage=%s request_id=%s dropped: room %s is gone", Stage.ACCEPTED, request_id, room_id)
            return None
        stored = Post.objects.filter(request_id=request_id).first()
        if stored is not None:
            log.info("stage=%s request_id=%s post_id=%s already stored", Stage.ACCEPTED, request_id, stored.pk)
            return stored
        batch = [(str(request_id), body)]
        if user_id is not None:
            batch[:0] = [(str(rid), text) for rid, text in _senders_earlier_posts(request_number, room_id, user_id)]
        posts = Post.objects.bulk_create(
            Post(
                room_id=room_id,
                user_id=user_id,
                author=author,
                body=text,
                is_bot=user_id is None,
                request_id=rid,
                seq=last_seq + n,
            )
            for n, (rid, text) in enumerate(batch, start=1)
        )
        Room.objects.filter(pk=room_id).update(last_seq=last_seq + len(posts))
        record_mentions(posts)
        PostRequest.objects.filter(request_id__in=[rid for rid, _ in batch]).update(state=PostRequest.State.STORED)
        announced = [(post.as_payload(), post.request_id) for post in posts]
        transaction.on_commit(lambda: [fanout.post_created(post=p, request_id=r) for p, r in announced])
    for post in posts[:-1]:
        log.info(
            "stage=%s request_id=%s post_id=%s seq=%s stored before request %s, sent later by the same user",
            Stage.ACCEPTED, post.request_id, post.pk, post.seq, request_id,
        )
    log.info("stage=%s request_id=%s post_id=%s seq=%s stored", Stage.ACCEPTED, request_id, posts[-1].pk, posts[-1].seq)
    return posts[-1]


def _committed_request_number(request_id):
    """The request's number once createPost's transaction has committed it, or None.

    createPost publishes inside its transaction (so a refused publish stores nothing), so
    this stage can run a moment before that commit: wait for the row. A request that never
    appears was rolled back after its message left, and is not stored."""
    deadline = time.monotonic() + REQUEST_COMMIT_WAIT_SECONDS
    while True:
        number = PostRequest.objects.filter(request_id=request_id).values_list("id", flat=True).first()
        if number is not None or time.monotonic() > deadline:
            return number
        time.sleep(0.005)


def _senders_earlier_posts(request_number, room_id, user_id):
    """(request id, body) of the sender's plain posts in this room requested before this one
    and not stored yet, oldest first."""
    return list(
        PostRequest.objects.filter(
            user_id=user_id, room_id=room_id, state=PostRequest.State.PENDING, is_command=False, id__lt=request_number
        )
        .order_by("id")
        .values_list("request_id", "body")
    )


GAVE_UP_REASON = "The chat could not post this; please send it again."


def give_up(*, request_id, stage):
    """A stage failed for good: unless the post was stored after all, its requester hears
    so (through new.post.error), with the text they sent."""
    try:
        request = PostRequest.objects.filter(request_id=uuid.UUID(str(request_id))).first()
    except ValueError:  # a poison message's "request id"
        return
    if request is None or request.state == PostRequest.State.STORED:
        return
    log.warning("stage=%s request_id=%s given up: the requester is told", stage, request_id)
    send_stage(
        Stage.ERROR,
        request_id=str(request_id),
        room_id=request.room_id,
        user_id=request.user_id,
        body=request.body,
        reason=GAVE_UP_REASON,
    )


def reject_post(*, request_id, room_id, user_id, body, reason):
    """new.post.error: tell the requester alone why nothing was posted."""
    log.info("stage=%s request_id=%s user=%s reason=%s", Stage.ERROR, request_id, user_id, reason)
    PostRequest.objects.filter(request_id=request_id).exclude(state=PostRequest.State.STORED).update(
        state=PostRequest.State.FAILED
    )
    fanout.post_error(
        error={
            "request_id": str(request_id),
            "room_id": room_id,
            "user_id": str(user_id),
            "body": body,
            "reason": reason,
        },
    )


# --- edits and deletions ---


def edit_post(*, user, post_id, body):
    """editPost: the author changes a plain post's text, within POST_EDIT_WINDOW_SECONDS.
    Returns the post's payload as it is now."""
    user = require_user(user)
    body = validate_body(body)
    if is_command(body):
        raise BadUserInput("A post can't be edited into a command; send the command as a new post.")

    def check(post, room):
        if post.is_bot:
            raise Forbidden("The bot's posts can't be edited.")
        if post.user_id != user.pk:
            raise Forbidden("You can only edit your own posts.")
        if room.locked:
            raise Forbidden(f"The room {room.name!r} is locked.")
        window = settings.POST_EDIT_WINDOW_SECONDS
        if timezone.now() - post.created_at > timedelta(seconds=window):
            raise Forbidden(f"A post can be edited for {window // 60} minutes after it is sent.")
        if post.body == body:
            return False  # nothing to change
        post.body, post.edited_at = body, timezone.now()
        return True

    return _change_post(user, post_id, PostChange.Kind.EDITED, check)


def delete_post(*, user, post_id):
    """deletePost (and the admin): the author deletes their post, a moderator any post.
    The text is gone from every reader's view; the audit keeps it for moderators."""
    user = require_user(user)
    moderator = user.is_staff

    def check(post, room):
        if not moderator:
            if post.user_id != user.pk:
                raise Forbidden("You can only delete your own posts.")
            if room.locked:
                raise Forbidden(f"The room {room.name!r} is locked.")
        post.body, post.deleted_at = "", timezone.now()
        return True

    return _change_post(user, post_id, PostChange.Kind.DELETED, check, any_room=moderator)


def _change_post(user, post_id, kind, check, any_room=False):
    """One change of one post, at the room's next position, announced after commit.
    A post in a private room the user is not in is no post for them (unless `any_room`: a
    moderator deleting)."""
    post_id = _post_pk(post_id)
    room_id = Post.objects.filter(pk=post_id, deleted_at__isnull=True).values_list("room_id", flat=True).first()
    if room_id is None or not (any_room or can_see(user, find_room(room_id))):
        raise NotFound("No such post.")
    # Edits and deletions share the post rate limit's numbers, counted apart.
    check_rate(PostChange.objects.filter(actor=user), "edits or deletions")
    with transaction.atomic():
        # The room's row, as when a post is stored: one position at a time, in commit order.
        room = Room.objects.select_for_update(no_key=True).filter(pk=room_id).first()
        post = Post.objects.filter(pk=post_id, deleted_at__isnull=True).first() if room else None
        if post is None:
            raise NotFound("No such post.")
        previous_body = post.body
        if not check(post, room):
            return post.as_payload()
        room.last_seq += 1
        Room.objects.filter(pk=room.pk).update(last_seq=room.last_seq)
        post.save(update_fields=["body", "edited_at", "deleted_at"])
        rerecord_mentions(post)
        if kind == PostChange.Kind.DELETED:
            # The text as sent (kept for ordering, see accept_post) goes too: the audit alone keeps it.
            PostRequest.objects.filter(request_id=post.request_id).update(body="")
        change = PostChange.objects.create(
            room=room, seq=room.last_seq, post=post, kind=kind, actor=user, previous_body=previous_body
        )
        event = {"seq": change.seq, "kind": str(kind), "post": post.as_payload()}
        transaction.on_commit(lambda: fanout.post_changed(change=event))
    log.info("stage=%s post_id=%s seq=%s user=%s", kind, post.pk, change.seq, user.pk)
    return event["post"]


def _post_pk(post_id):
    """The row of the post a client names by its public id (posts.public_ids)."""
    pk = post_pk(post_id)
    if pk is None:
        raise NotFound("No such post.")
    return pk




# --- read state ---


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
        transaction.on_commit(lambda: fanout.read_state(user_id=user.pk, read=read))
    return read


# --- typing ---


def typing(*, user, room_id):
    """sendTyping: tell the room's readers that `user` is typing. Announced at most once per
    TYPING_INTERVAL_SECONDS per user and room, whichever web processes the calls reach (more
    often is not an error: clients call it as keys are pressed); the announcement itself is
    never stored, readers drop it after TYPING_SHOWN_SECONDS."""
    user = require_user(user)
    room = room_open_for_posts(user, room_id)
    if not _claim_typing_turn(user.pk, room.pk):
        return False
    fanout.typing(
        who={
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
