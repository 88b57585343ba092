"""Reactions: a person adds or removes an emoji on a post. One of a fixed set
(REACTION_EMOJI: bounded, and drawn the same everywhere); once per person and emoji. Each
change takes its own position in the room (a `PostChange` of kind REACTED, as an edit does,
posts/changes.py) and carries the post's counts as they are after it, so live readers and
resuming ones agree on them. Rate limited like every write."""
from chatsite.auth import require_user
from chatsite.errors import BadUserInput
from posts.models import PostChange, Reaction, RoomEventKind

# The emoji a post can get, in the order they are shown.
REACTION_EMOJI = ("👍", "👎", "😄", "🎉", "😕", "❤️", "🚀", "👀", "🙏", "😂", "😮", "✅")
# The names kept with a post's counts, per emoji (shown on hover, "and N more" past them).
REACTION_NAMES_MAX = 10


def validate_emoji(emoji):
    if emoji not in REACTION_EMOJI:
        raise BadUserInput(f"A reaction is one of: {' '.join(REACTION_EMOJI)}.")
    return emoji


def react(*, user, post_id, emoji, on):
    """addReaction (`on`) and removeReaction: the post's payload as it is after the change.
    Adding one already there, or removing one that isn't, changes nothing and announces
    nothing. A post the user can't see, or a deleted one, is NOT_FOUND; a locked room
    FORBIDDEN."""
    from posts.changes import change_post, ensure_open

    user = require_user(user)
    emoji = validate_emoji(emoji)

    def check(post, room):
        ensure_open(room)
        mine = Reaction.objects.filter(post=post, user=user, emoji=emoji)
        if on:
            if mine.exists():
                return None
            Reaction.objects.create(post=post, user=user, emoji=emoji)
        elif not mine.delete()[0]:
            return None
        post.reactions = _recount(post, emoji, user, on)
        return {"fields": ["reactions"], "emoji": emoji, "added": on}

    return change_post(
        user,
        post_id,
        RoomEventKind.REACTED,
        check,
        recent=PostChange.objects.filter(actor=user, kind=RoomEventKind.REACTED),
        what="reactions",
    )


def _recount(post, emoji, user, added):
    """The post's kept counts after `user` added or removed `emoji` (under the room's lock,
    so changes are counted one at a time): the count moves by one; the names are the first
    REACTION_NAMES_MAX to react, refilled from the rows when one of them leaves."""
    summary = dict(post.reactions or {})
    entry = summary.get(emoji) or {"count": 0, "users": []}
    count, names = entry["count"], list(entry["users"])
    if added:
        count += 1
        if len(names) < REACTION_NAMES_MAX:
            names.append(user.username)
    else:
        count = max(0, count - 1)
        if user.username in names:
            names = list(
                Reaction.objects.filter(post=post, emoji=emoji)
                .order_by("id")
                .values_list("user__username", flat=True)[:REACTION_NAMES_MAX]
            )
    if count:
        summary[emoji] = {"count": count, "users": names}
    else:
        summary.pop(emoji, None)
    return summary
