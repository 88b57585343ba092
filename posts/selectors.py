"""Reads of posts: the history a room shows, oldest first."""

from chatsite.errors import BadUserInput
from posts.models import Post
from rooms.selectors import find_room

HISTORY_MAX = 50


def _cursor(value, name):
    if value is None:
        return None
    try:
        cursor = int(value)
    except (TypeError, ValueError):
        raise BadUserInput(f"`{name}` must be a post id.")
    if cursor < 0:
        raise BadUserInput(f"`{name}` must be a post id.")
    return cursor


def room_history(*, room_id, before=None, after=None, limit=HISTORY_MAX):
    """Post payloads of a room, oldest first.

    No cursor: the newest `limit`. `before`: the newest `limit` older than that post.
    `after`: the oldest `limit` newer than that post (catching up after a reconnect).
    """
    if limit is None or not 1 <= limit <= HISTORY_MAX:
        raise BadUserInput(f"`limit` must be between 1 and {HISTORY_MAX}.")
    before, after = _cursor(before, "before"), _cursor(after, "after")
    if before is not None and after is not None:
        raise BadUserInput("Give `before` or `after`, not both.")
    find_room(room_id)
    posts = Post.objects.filter(room_id=room_id)
    if after is not None:
        page = list(posts.filter(id__gt=after).order_by("id")[:limit])
    else:
        if before is not None:
            posts = posts.filter(id__lt=before)
        page = list(posts.order_by("-id")[:limit])[::-1]
    return [post.as_payload() for post in page]
