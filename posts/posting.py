"""Posting, in the order a post takes it: every rule and every stage of a post's way from
createPost to the room, top to bottom (SPEC section 3; docs/architecture.md).

1. `request_post` (createPost): check, record the request, publish `new.post.requested`.
2. `new_post_requested`: a command goes to the bot (stockbot/tasks.py, `bot.command.received`,
   which answers with `bot.post.request`), any other post on to `new.post.accepted`.
3. `bot_post_request`: the bot's answer, its room taken from the signed room token.
4. `new_post_accepted`: store the post once, at the room's next position; after commit, the
   room's group message `new.post.created` (posts/events.py) reaches every web process.
5. `new_post_error`: the requester alone hears why nothing was posted.

Each stage is a Celery task named after the stage (`stage_task`, posts/tasks.py); a stage
hands on to the next through the mode (posts/modes.py): the broker on the full stack, a
thread of the web process when embedded.
"""
import functools
import logging
import math
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chatsite import sql, throttle
from chatsite.auth import require_user
from chatsite.errors import BadUserInput, Forbidden, RateLimited
from chatsite.metrics import POSTS_FAILED, POSTS_STORED, counts_post_requests
from chatsite.text import clean_text, has_visible_text
from posts import events
from posts.mentions import record_mentions
from posts.models import Post, PostRequest
from posts.modes import admit, publish_stage
from posts.room_tokens import InvalidRoomToken, issue_room_token, verify_room_token
from posts.stages import Stage
from posts.tasks import stage_task
from posts.threads import replies_stored, reply_target
from rooms.models import Room
from rooms.selectors import room_for

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


def ensure_open(room):
    """A locked room can be read, but nothing in it posted, edited or deleted (but by a
    moderator deleting)."""
    if room.locked:
        raise Forbidden(f"The room {room.name!r} is locked.")
    return room


def room_open_for_posts(user, room_id):
    """The room `user` may post in: one they can see (NotFound otherwise), not locked."""
    return ensure_open(room_for(user, room_id))


def check_rate(recent, what):
    """The rate limit, for every kind of write: at most RATE_LIMIT_POSTS of `recent` (one
    user's rows, by `created_at`) in any RATE_LIMIT_WINDOW_SECONDS."""
    until = throttle.free_again_at(
        recent, at="created_at", limit=settings.RATE_LIMIT_POSTS, window_seconds=settings.RATE_LIMIT_WINDOW_SECONDS
    )
    if until is not None:
        wait = (until - timezone.now()).total_seconds()
        raise RateLimited(
            f"Slow down: at most {settings.RATE_LIMIT_POSTS} {what} in {settings.RATE_LIMIT_WINDOW_SECONDS:g} "
            f"seconds; try again in {max(1, math.ceil(wait))} seconds."
        )


def check_post_rate(user):
    """check_rate for createPost: the user's requests in the window counted by one statement
    (chatsite/sql.py); only when they reach the limit does check_rate say until when."""
    since = timezone.now() - timedelta(seconds=settings.RATE_LIMIT_WINDOW_SECONDS)
    created = sql.column(PostRequest, "created_at")
    [recent] = sql.one(
        f"SELECT COUNT(*) FROM {sql.table(PostRequest)} WHERE {sql.column(PostRequest, 'user')} = %s AND {created} >= %s",
        [user.pk, sql.value(PostRequest, "created_at", since)],
    )
    if recent >= settings.RATE_LIMIT_POSTS:
        check_rate(PostRequest.objects.filter(user=user), "posts")


def is_command(body):
    return body.lstrip().startswith("/")


@counts_post_requests
def request_post(*, user, room_id, body, client_id=None, reply_to=None):
    """createPost: check everything, record the request, hand it to the pipeline.
    `reply_to`: the public id of the post it answers, in the same room (posts/threads.py).

    Returns the request id. Either the pipeline has the post or nothing was stored.
    """
    user = require_user(user)
    room = room_open_for_posts(user, room_id)
    body = validate_body(body)
    command = is_command(body)
    if command and reply_to:
        raise BadUserInput("A command can't be a reply: send it in the room.")
    parent, thread = reply_target(room, reply_to)
    client_id = clean_text(client_id or "", field="clientId").strip() or None
    if client_id and len(client_id) > CLIENT_ID_MAX_LENGTH:
        raise BadUserInput(f"clientId can have at most {CLIENT_ID_MAX_LENGTH} characters.")
    admit()

    with transaction.atomic():
        # Lock the user's row: one user's requests are counted (and numbered) one at a time,
        # whichever web process they reach. `no_key`: the foreign-key checks of other
        # transactions (a post by this user) share the row without waiting, so none deadlock.
        User = get_user_model()
        sql.one(f"SELECT 1 FROM {sql.table(User)} WHERE {sql.column(User, 'id')} = %s{sql.lock()}", [user.pk])
        if client_id:
            earlier = PostRequest.objects.filter(user=user, client_id=client_id).first()
            if earlier is not None:
                log.info("stage=createPost request_id=%s client_id=%s repeated", earlier.request_id, client_id)
                return earlier.request_id
        check_post_rate(user)
        request = PostRequest.objects.create(
            user=user, room=room, client_id=client_id, body=body, is_command=command, reply_to_id=parent, thread_id=thread
        )
        log.info("stage=createPost request_id=%s room=%s user=%s", request.request_id, room.pk, user.pk)
        # Full stack: published inside the transaction, so if the broker refuses, the request
        # row rolls back. Embedded: the stage starts once this commits (posts/embedded.py).
        publish_stage(
            Stage.REQUESTED,
            request_id=str(request.request_id),
            room_id=room.pk,
            user_id=user.pk,
            body=body,
        )
    return request.request_id


@stage_task(Stage.REQUESTED)
def new_post_requested(*, request_id, room_id, user_id, body):
    """new.post.requested: commands go to the bot with a signed room token, posts go on."""
    if is_command(body):
        token = issue_room_token(request_id=request_id, room_id=room_id, user_id=user_id)
        log.info("stage=%s request_id=%s to=bot", Stage.REQUESTED, request_id)
        publish_stage(Stage.BOT_COMMAND, request_id=request_id, body=body, room_token=token)
    else:
        log.info("stage=%s request_id=%s to=accepted", Stage.REQUESTED, request_id)
        publish_stage(Stage.ACCEPTED, request_id=request_id, room_id=room_id, user_id=user_id, body=body)


@stage_task(Stage.BOT_REPLY)
def bot_post_request(*, room_token, body, error=False, reason=""):
    """bot.post.request: the room and requester come from the verified token only."""
    try:
        claims = verify_room_token(room_token)
    except InvalidRoomToken as exc:
        log.warning("stage=%s request_id=? refused: room token %s", Stage.BOT_REPLY, exc)
        return
    request_id = claims["request_id"]
    log.info("stage=%s request_id=%s error=%s", Stage.BOT_REPLY, request_id, bool(error))
    if error:
        publish_stage(
            Stage.ERROR,
            request_id=request_id,
            room_id=claims["room_id"],
            user_id=claims["user_id"],
            body=body,
            reason=reason or "The bot could not answer.",
        )
    else:
        publish_stage(Stage.ACCEPTED, request_id=request_id, room_id=claims["room_id"], user_id=None, body=body)


@stage_task(Stage.ACCEPTED)
def new_post_accepted(*, request_id, room_id, user_id, body):
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
        author, batch = settings.BOT_AUTHOR, [(str(request_id), body, None, None)]
    else:
        request = _committed_request(request_id, user_id)
        if request is None:
            return None
        request_number, author = request
    with transaction.atomic():
        # `no_key`, as for the user's row in request_post: new requests' foreign-key checks on
        # the room don't wait for this lock, nor deadlock with it.
        locked = sql.one(
            f"SELECT {sql.column(Room, 'last_seq')} FROM {sql.table(Room)} WHERE {sql.column(Room, 'id')} = %s{sql.lock()}",
            [room_id],
        )
        if locked is None:
            log.warning("stage=%s request_id=%s dropped: room %s is gone", Stage.ACCEPTED, request_id, room_id)
            return None
        [last_seq] = locked
        if user_id is None:
            stored = Post.objects.filter(request_id=request_id).exists()
        else:
            pending = _pending_plain_posts(request_number, room_id, user_id)
            stored = not pending or pending[-1][0] != request_number
            batch = [(str(rid), *rest) for _, rid, *rest in pending]
        if stored:
            log.info("stage=%s request_id=%s already stored", Stage.ACCEPTED, request_id)
            return None
        posts = Post.objects.bulk_create(
            Post(
                room_id=room_id,
                user_id=user_id,
                author=author,
                body=text,
                is_bot=user_id is None,
                request_id=rid,
                seq=last_seq + n,
                reply_to_id=parent,
                thread_id=thread,
            )
            for n, (rid, text, parent, thread) in enumerate(batch, start=1)
        )
        sql.run(
            f"UPDATE {sql.table(Room)} SET {sql.column(Room, 'last_seq')} = %s WHERE {sql.column(Room, 'id')} = %s",
            [last_seq + len(posts), room_id],
        )
        record_mentions(posts)
        replies_stored(posts)
        stored_ids = [sql.value(PostRequest, "request_id", rid) for rid, *_ in batch]
        sql.run(
            f"UPDATE {sql.table(PostRequest)} SET {sql.column(PostRequest, 'state')} = %s"
            f" WHERE {sql.column(PostRequest, 'request_id')} IN ({', '.join(['%s'] * len(stored_ids))})",
            [PostRequest.State.STORED.value, *stored_ids],
        )
        announced = [(post.as_payload(), post.request_id) for post in posts]
        transaction.on_commit(lambda: [events.post_created(p, r) for p, r in announced])
    POSTS_STORED.inc(len(posts))
    for post in posts[:-1]:
        log.info(
            "stage=%s request_id=%s post_id=%s seq=%s stored before request %s, sent later by the same user",
            Stage.ACCEPTED, post.request_id, post.pk, post.seq, request_id,
        )
    log.info("stage=%s request_id=%s post_id=%s seq=%s stored", Stage.ACCEPTED, request_id, posts[-1].pk, posts[-1].seq)
    return posts[-1]


def _committed_request(request_id, user_id):
    """(the request's number, its sender's username) once createPost's transaction has
    committed it; None (logged) if its sender is gone or it never commits.

    createPost publishes inside its transaction (so a refused publish stores nothing), so
    this stage can run a moment before that commit: wait for the row. A request that never
    appears was rolled back after its message left, and is not stored."""
    User = get_user_model()
    deadline = time.monotonic() + REQUEST_COMMIT_WAIT_SECONDS
    while True:
        found = sql.one(
            f"SELECT r.{sql.column(PostRequest, 'id')}, u.{sql.column(User, 'username')}"
            f" FROM {sql.table(PostRequest)} r JOIN {sql.table(User)} u ON u.{sql.column(User, 'id')} = r.{sql.column(PostRequest, 'user')}"
            f" WHERE r.{sql.column(PostRequest, 'request_id')} = %s",
            [sql.value(PostRequest, "request_id", request_id)],
        )
        if found is not None:
            return found
        if not User.objects.filter(pk=user_id).exists():  # its requests went with it
            log.warning("stage=%s request_id=%s dropped: user %s is gone", Stage.ACCEPTED, request_id, user_id)
            return None
        if time.monotonic() > deadline:
            log.warning("stage=%s request_id=%s dropped: createPost never committed it", Stage.ACCEPTED, request_id)
            return None
        time.sleep(0.005)


def _pending_plain_posts(request_number, room_id, user_id):
    """(number, request id, body, replied-to post, thread root) of the sender's plain posts
    in this room that are not stored yet, requested up to this one (included), oldest first:
    this one is last unless it is stored already."""
    c = functools.partial(sql.column, PostRequest)
    found = sql.rows(
        f"SELECT {c('id')}, {c('request_id')}, {c('body')}, {c('reply_to')}, {c('thread')} FROM {sql.table(PostRequest)}"
        f" WHERE {c('user')} = %s AND {c('room')} = %s AND {c('state')} = %s AND {c('is_command')} = %s AND {c('id')} <= %s"
        f" ORDER BY {c('id')}",
        [user_id, room_id, PostRequest.State.PENDING.value, False, request_number],
    )
    return [(number, uuid.UUID(str(rid)), body, parent, thread) for number, rid, body, parent, thread in found]


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
    publish_stage(
        Stage.ERROR,
        request_id=str(request_id),
        room_id=request.room_id,
        user_id=request.user_id,
        body=request.body,
        reason=GAVE_UP_REASON,
    )


@stage_task(Stage.ERROR)
def new_post_error(*, request_id, room_id, user_id, body, reason):
    """new.post.error: tell the requester alone why nothing was posted."""
    log.info("stage=%s request_id=%s user=%s reason=%s", Stage.ERROR, request_id, user_id, reason)
    PostRequest.objects.filter(request_id=request_id).exclude(state=PostRequest.State.STORED).update(
        state=PostRequest.State.FAILED
    )
    events.post_error(
        {"request_id": str(request_id), "room_id": room_id, "user_id": str(user_id), "body": body, "reason": reason}
    )
    POSTS_FAILED.inc()
