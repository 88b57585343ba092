"""Replies and threads. createPost may name the post it replies to (`replyTo`, in the same
room); the reply shows that post's author and first line, and joins its thread: the thread
of the post it answers, whose root is the first post of it (threads are flat: a reply to a
reply is in the same thread, as in Slack or Zulip). The root keeps its count of replies and
the newest one's time, changed under the room's lock as replies are stored and deleted.

A thread is read in order, paged (`thread_posts`), and followed live through the room's
events (a reply's event names its thread)."""
from django.db.models import F, Max, Q

from chatsite.errors import BadUserInput, NotFound
from posts.models import Post
from posts.public_ids import post_pk
from posts.selectors import HISTORY_MAX, position
from rooms.selectors import room_for


def reply_target(room, reply_to):
    """The (post replied to, thread root) pks for a createPost in `room` naming `reply_to`
    (a public post id), or (None, None) for no reply. The post must be in the same room and
    not deleted: NOT_FOUND otherwise (a post in another room is no post here)."""
    if reply_to is None or reply_to == "":
        return None, None
    pk = post_pk(reply_to) if isinstance(reply_to, str) else None
    parent = (
        Post.objects.filter(pk=pk, room_id=room.pk, deleted_at__isnull=True).values_list("pk", "thread_id").first()
        if pk is not None
        else None
    )
    if parent is None:
        raise NotFound("The post to reply to is not in this room (or was deleted).")
    parent_pk, parent_thread = parent
    return parent_pk, parent_thread or parent_pk


def replies_stored(posts):
    """Inside new_post_accepted's transaction, the room's row locked: each thread root
    counts its new replies among `posts`, and each reply gets the rows its payload shows
    (the post it answers, its root, as they are now). A statement per thread and one read
    for them all; none for plain posts."""
    counted = {}
    for post in posts:
        if post.thread_id is not None:
            n, _ = counted.get(post.thread_id, (0, None))
            counted[post.thread_id] = (n + 1, post.created_at)
    if not counted:
        return
    for root, (n, newest) in counted.items():
        Post.objects.filter(pk=root).update(reply_count=F("reply_count") + n, last_reply_at=newest)
    shown = Post.objects.in_bulk(set(counted) | {post.reply_to_id for post in posts if post.reply_to_id})
    for post in posts:
        if post.thread_id is not None:
            post.thread = shown.get(post.thread_id)
            post.reply_to = shown.get(post.reply_to_id)


def reply_deleted(post):
    """Inside a deletion's transaction (the room's row locked): a deleted reply leaves its
    thread's count, and the newest reply's time is the newest one left."""
    if post.thread_id is None:
        return
    replies = Post.objects.filter(thread_id=post.thread_id, deleted_at__isnull=True).exclude(pk=post.pk)
    found = replies.aggregate(newest=Max("created_at"))
    root = post.thread
    root.reply_count = replies.count()
    root.last_reply_at = found["newest"]
    Post.objects.filter(pk=root.pk).update(reply_count=root.reply_count, last_reply_at=root.last_reply_at)


def thread_posts(*, user, post_id, before=None, after=None, limit=HISTORY_MAX):
    """The thread of post `post_id` (any post of it), oldest first, as `posts` pages a
    room: its root first (shown as deleted if it was), then its replies that are not
    deleted. No cursor: the newest `limit`; `before`/`after` a seq."""
    if limit is None or not 1 <= limit <= HISTORY_MAX:
        raise BadUserInput(f"`limit` must be between 1 and {HISTORY_MAX}.")
    before, after = position(before, "before"), position(after, "after")
    if before is not None and after is not None:
        raise BadUserInput("Give `before` or `after`, not both.")
    pk = post_pk(post_id) if isinstance(post_id, str) else None
    found = Post.objects.filter(pk=pk).values_list("room_id", "thread_id").first() if pk is not None else None
    if found is None:
        raise NotFound("No such post.")
    room_id, thread_id = found
    room_for(user, room_id)  # NotFound for a room the user can't see: no post for them
    root = thread_id or pk
    posts = Post.shown().filter(Q(pk=root) | Q(thread_id=root, deleted_at__isnull=True))
    if after is not None:
        return [post.as_payload() for post in posts.filter(seq__gt=after).order_by("seq")[:limit]]
    if before is not None:
        posts = posts.filter(seq__lt=before)
    return [post.as_payload() for post in reversed(posts.order_by("-seq")[:limit])]
