"""Changing a post after it is stored: the author edits it (for a while), the author or a
moderator deletes it (and people react to it, posts/reactions.py). Each change takes its own
position in the room (as a post does) and reaches every reader as a room event, in the
room's one order."""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chatsite.auth import require_user
from chatsite.errors import BadUserInput, Forbidden, NotFound
from posts import events
from posts.mentions import rerecord_mentions
from posts.models import Post, PostChange, PostRequest, RoomEventKind
from posts.posting import check_rate, ensure_open, is_command, validate_body
from posts.public_ids import post_pk
from posts.threads import reply_deleted
from rooms.models import Room
from rooms.selectors import can_see, find_room

log = logging.getLogger("posts.pipeline")


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
        ensure_open(room)
        window = settings.POST_EDIT_WINDOW_SECONDS
        if timezone.now() - post.created_at > timedelta(seconds=window):
            raise Forbidden(f"A post can be edited for {window // 60} minutes after it is sent.")
        if post.body == body:
            return None  # nothing to change
        post.body, post.edited_at = body, timezone.now()
        rerecord_mentions(post)
        return {"fields": ["body", "edited_at"]}

    return change_post(user, post_id, RoomEventKind.EDITED, check)


def delete_post(*, user, post_id):
    """deletePost (and the admin): the author deletes their post, a moderator any post.
    The text is gone from every reader's view; the audit keeps it for moderators. A
    deleted reply leaves its thread's count."""
    user = require_user(user)
    moderator = user.is_staff

    def check(post, room):
        if not moderator:
            if post.user_id != user.pk:
                raise Forbidden("You can only delete your own posts.")
            ensure_open(room)
        post.body, post.deleted_at = "", timezone.now()
        rerecord_mentions(post)
        # The text as sent (kept for ordering, see new_post_accepted) goes too: the audit alone keeps it.
        PostRequest.objects.filter(request_id=post.request_id).update(body="")
        reply_deleted(post)
        return {"fields": ["body", "deleted_at"]}

    return change_post(user, post_id, RoomEventKind.DELETED, check, any_room=moderator)


def change_post(user, post_id, kind, check, any_room=False, recent=None, what="edits or deletions"):
    """One change of one post, at the room's next position, announced after commit.
    `check(post, room)`, with the room's row locked, refuses (raises), changes nothing
    (None), or changes the post: {"fields": the post's fields to save, and for a reaction
    "emoji" and "added"}. Returns the post's payload as it is now.
    A post in a private room the user is not in is no post for them (unless `any_room`: a
    moderator deleting). Rate limited on `recent`, the user's changes of this sort."""
    post_id = _post_pk(post_id)
    room_id = Post.objects.filter(pk=post_id, deleted_at__isnull=True).values_list("room_id", flat=True).first()
    if room_id is None or not (any_room or can_see(user, find_room(room_id))):
        raise NotFound("No such post.")
    # Edits and deletions share the post rate limit's numbers, counted apart (and reactions
    # apart from them).
    if recent is None:
        recent = PostChange.objects.filter(actor=user, kind__in=[RoomEventKind.EDITED, RoomEventKind.DELETED])
    check_rate(recent, what)
    with transaction.atomic():
        # The room's row, as when a post is stored: one position at a time, in commit order.
        room = Room.objects.select_for_update(no_key=True).filter(pk=room_id).first()
        post = Post.shown().filter(pk=post_id, deleted_at__isnull=True).first() if room else None
        if post is None:
            raise NotFound("No such post.")
        previous_body = post.body
        changed = check(post, room)
        if changed is None:
            return post.as_payload()
        room.last_seq += 1
        Room.objects.filter(pk=room.pk).update(last_seq=room.last_seq)
        post.save(update_fields=changed["fields"])
        change = PostChange.objects.create(
            room=room,
            seq=room.last_seq,
            post=post,
            kind=kind,
            actor=user,
            previous_body=previous_body if kind != RoomEventKind.REACTED else "",
            emoji=changed.get("emoji", ""),
            added=changed.get("added"),
        )
        event = change.as_event()
        transaction.on_commit(lambda: events.post_changed(event))
    log.info("stage=%s post_id=%s seq=%s user=%s", kind, post.pk, change.seq, user.pk)
    return event["post"]


def _post_pk(post_id):
    """The row of the post a client names by its public id (posts.public_ids)."""
    pk = post_pk(post_id)
    if pk is None:
        raise NotFound("No such post.")
    return pk
