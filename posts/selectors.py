"""Reads of posts: a room's history in its order (`seq`), oldest first, and its events
(posts created, edited, deleted) in the same order."""

from django.db.models import BooleanField, Func, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from chatsite.errors import BadUserInput
from posts.models import Post, PostChange, PostMention, ReadState, RoomEventKind
from rooms.models import Room
from rooms.selectors import find_room, room_for

HISTORY_MAX = 50


def position(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadUserInput(f"`{name}` must be a post's `seq` (an integer, 0 or more).")
    return value


def room_history(*, user, room_id, before=None, after=None, limit=HISTORY_MAX):
    """Post payloads of a room `user` can see (NotFound otherwise), oldest first.

    No cursor: the newest `limit`. `before`: the newest `limit` with a smaller seq (paging
    back). `after`: the oldest `limit` with a greater seq (catching up).
    """
    if limit is None or not 1 <= limit <= HISTORY_MAX:
        raise BadUserInput(f"`limit` must be between 1 and {HISTORY_MAX}.")
    before, after = position(before, "before"), position(after, "after")
    if before is not None and after is not None:
        raise BadUserInput("Give `before` or `after`, not both.")
    room_for(user, room_id)
    if after is not None:
        return posts_after(room_id, after, limit)
    posts = live_posts(room_id)
    if before is not None:
        posts = posts.filter(seq__lt=before)
    return [post.as_payload() for post in reversed(posts.order_by("-seq")[:limit])]


def posts_after(room_id, after, limit):
    """The oldest `limit` posts of a room with a greater seq than `after`."""
    return [post.as_payload() for post in live_posts(room_id).filter(seq__gt=after).order_by("seq")[:limit]]


def live_posts(room_id):
    """A room's posts that are not deleted (with the rows their payloads show)."""
    return Post.shown().filter(room_id=room_id, deleted_at__isnull=True)


def replayed_changes(room_id):
    """A room's edits and deletions as a replay shows them: a deleted post's edits are not
    among them (its deletion is all there is to show of it)."""
    return PostChange.objects.filter(room_id=room_id).exclude(
        kind=RoomEventKind.EDITED, post__deleted_at__isnull=False
    )


def events_after(room_id, after, limit):
    """The oldest `limit` events of a room after position `after`, in position order:
    {"seq", "kind": "created" | "edited" | "deleted" | "reacted", "post": the post as it is
    now, and for "reacted" "reaction": the change}.
    The room as it is now: a deleted post's replay is its deletion only (neither its
    creation nor its edits, which would show it again)."""
    created = [
        {"seq": post["seq"], "kind": RoomEventKind.CREATED.value, "post": post} for post in posts_after(room_id, after, limit)
    ]
    changes = [
        change.as_event()
        for change in replayed_changes(room_id).filter(seq__gt=after).select_related("post", "post__reply_to", "post__thread").order_by("seq")[:limit]
    ]
    return sorted(created + changes, key=lambda event: event["seq"])[:limit]


def missed_more_than(room_id, after, limit):
    """Whether the room has more than `limit` events after position `after` (positions of
    removed posts, and the edits of deleted ones, don't count)."""
    posts = Post.objects.filter(room_id=room_id, deleted_at__isnull=True, seq__gt=after).order_by("seq")[: limit + 1].count()
    if posts > limit:
        return True
    return posts + replayed_changes(room_id).filter(seq__gt=after).order_by("seq")[: limit + 1 - posts].count() > limit


def room_position(room_id):
    """The newest position handed out in the room (0 for none; NotFound for no room)."""
    newest = Room.objects.filter(pk=room_id).values_list("last_seq", flat=True).first()
    if newest is None:
        find_room(room_id)  # raises NotFound
    return newest


# Unread and mention counts stop at this many: a count of 100 means "100 or more" (the
# room list shows "100+"), and counting reads at most that many rows, however many posts
# the room holds.
UNREAD_COUNT_MAX = 100


def capped_count(rows, cap=UNREAD_COUNT_MAX):
    """COUNT of `rows` (a subquery on the room two levels up), reading at most `cap` of them."""
    first = rows.order_by("seq").values("pk")[:cap]
    return Coalesce(
        Subquery(rows.model.objects.filter(pk__in=first).order_by().annotate(n=Func("pk", function="COUNT", output_field=IntegerField())).values("n")),
        Value(0),
    )


def is_muted(user, room_id):
    """Whether the user muted the room (muteRoom)."""
    return ReadState.objects.filter(user=user, room_id=room_id, muted=True).exists()


def read_states(user, room_ids):
    """{room id: {"room_id", "last_read_seq", "unread_count", "mention_count", "position",
    "muted"}} for the user: posts by others after their read position, those of them that mention
    them (each count at most UNREAD_COUNT_MAX), and the room's newest position at that
    moment. All of it in one statement, so one snapshot: a client adds the posts it sees
    live with a greater `seq` than `position`, and counts each post once, whichever way it
    came."""
    from rooms.models import Room

    last_read = Coalesce(
        Subquery(ReadState.objects.filter(user=user, room_id=OuterRef("pk")).values("last_read_seq")[:1]),
        Value(0),
        output_field=IntegerField(),
    )
    muted = Coalesce(
        Subquery(ReadState.objects.filter(user=user, room_id=OuterRef("pk")).values("muted")[:1]),
        Value(False),
        output_field=BooleanField(),
    )
    room, read_up_to = OuterRef(OuterRef("pk")), OuterRef(OuterRef("read_up_to"))
    unread = Post.objects.filter(room_id=room, deleted_at__isnull=True, seq__gt=read_up_to).exclude(user=user)
    # Mentions are rows (posts/mentions.py), gone with their post's deletion.
    mentions = PostMention.objects.filter(user=user, room_id=room, seq__gt=read_up_to)
    rows = (
        Room.objects.filter(pk__in=list(room_ids))
        .annotate(read_up_to=last_read)
        .annotate(unread=capped_count(unread), mentions=capped_count(mentions), muted=muted)
        .values_list("pk", "read_up_to", "unread", "mentions", "last_seq", "muted")
    )
    return {
        room_id: {
            "room_id": room_id,
            "last_read_seq": read_up_to,
            "unread_count": unread_count,
            "mention_count": mention_count,
            "position": position,
            "muted": bool(muted),
        }
        for room_id, read_up_to, unread_count, mention_count, position, muted in rows
    }
