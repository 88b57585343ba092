"""Who a post mentions: `@username` as a word, in any case (`x@bob.example` and `@bobby`
don't mention `bob`; `@bob.` and `@bob-` do). Found once, when a post is stored or edited,
and kept as `PostMention` rows: counting a reader's unread mentions reads an index, never
the posts' text."""
import re

from django.contrib.auth import get_user_model
from django.db.models.functions import Upper

from posts.models import PostMention

# An `@` not after a word character or another `@`, and the name-like run after it.
MENTION = re.compile(r"(?<![\w@])@([\w.\-]+)")
NAME_MAX_LENGTH = 150  # Django's username field


def mentioned_names(body):
    """The upper-cased names `body` mentions: each ends where a non-word character (or the
    end) follows, so `@bob.smith` names both `bob` and `bob.smith`."""
    names = set()
    for found in MENTION.finditer(body):
        run = found.group(1)
        names.add(run)
        names.update(run[:end] for end, char in enumerate(run) if end and char in ".-")
    return {name.upper() for name in names if len(name) <= NAME_MAX_LENGTH}


def record_mentions(posts):
    """Rows for the users each of `posts` (stored) mentions, its author aside."""
    wanted = {post.pk: mentioned_names(post.body) for post in posts}
    names = set().union(*wanted.values())
    if not names:
        return
    users = dict(
        get_user_model().objects.annotate(name=Upper("username")).filter(name__in=names).values_list("name", "pk")
    )
    PostMention.objects.bulk_create(
        [
            PostMention(post_id=post.pk, user_id=users[name], room_id=post.room_id, seq=post.seq)
            for post in posts
            for name in wanted[post.pk]
            if name in users and users[name] != post.user_id
        ],
        ignore_conflicts=True,
    )


def rerecord_mentions(post):
    """After an edit or a deletion (an empty body mentions no one)."""
    PostMention.objects.filter(post_id=post.pk).delete()
    record_mentions([post])
