import uuid

from django.conf import settings
from django.db import models

from posts.public_ids import public_post_id


class PostRequest(models.Model):
    """One accepted createPost call: the rate limit counts these, clientId dedupes them, and
    their order (`id`, given as each request commits) is the order its sender sent them in.
    Kept while pending, then for CLIENT_ID_RETENTION_SECONDS (chatsite/retention.py)."""

    class State(models.TextChoices):
        PENDING = "pending"
        STORED = "stored"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    request_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="post_requests")
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="post_requests")
    client_id = models.CharField(max_length=100, null=True, blank=True)
    # The text as sent: a later post of the same sender may store this one first (see
    # `posting.new_post_accepted`), so it must not depend on this request's own message.
    body = models.TextField()
    is_command = models.BooleanField(default=False)
    # A reply: the post it answers, and its thread's root (posts/threads.py), checked by
    # createPost and stored with the post, whichever request stores it.
    reply_to = models.ForeignKey("Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    thread = models.ForeignKey("Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "created_at"], name="postrequest_user_recent"),
            models.Index(
                fields=["user", "room", "id"],
                condition=models.Q(state="pending"),
                name="postrequest_user_pending",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="postrequest_one_per_client_id",
            )
        ]


class Post(models.Model):
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="posts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="posts"
    )
    author = models.CharField(max_length=150)
    body = models.TextField()
    is_bot = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The pipeline stores each request once, however often its stage runs.
    request_id = models.UUIDField(unique=True, editable=False)
    # The post's position in its room's stream (`Room.last_seq`): one order for every reader.
    seq = models.PositiveBigIntegerField(editable=False)
    # An edit or a deletion takes a position of its own (`PostChange`); a deleted post keeps
    # its row (and position) with no body: the text is only in the moderators' audit.
    edited_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A reply (posts/threads.py): the post it answers (shown with it: author, first line) and
    # its thread's root: a reply to a reply joins the same thread (threads are flat).
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    thread = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="replies"
    )
    # On a thread's root: its replies that are not deleted, and the newest one's time. Kept
    # here (changed under the room's lock with each reply), so history reads no more rows.
    reply_count = models.PositiveIntegerField(default=0, editable=False)
    last_reply_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The reactions' counts, and a few of the names, per emoji (posts/reactions.py), kept
    # with the post for the same reason; the Reaction rows are the record.
    reactions = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["room", "seq"]
        # "The newest 50 of a room" and the before/after cursors all walk (room, seq).
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="post_room_seq")]
        # A thread's posts in order (posts/threads.py).
        indexes = [models.Index(fields=["thread", "seq"], name="post_thread_seq")]

    def __str__(self):
        return f"{self.author}: {self.body[:40]}"

    def as_payload(self):
        """The post as every client sees it: GraphQL queries, subscriptions, group messages."""
        return {
            "id": public_post_id(self.pk),
            "room_id": self.room_id,
            "seq": self.seq,
            "user_id": str(self.user_id) if self.user_id is not None else None,
            "author": self.author,
            "body": self.body,
            "is_bot": self.is_bot,
            "created_at": self.created_at.isoformat(),
            "edited_at": self.edited_at.isoformat() if self.edited_at else None,
            "deleted": self.deleted_at is not None,
            "reply_to": reply_preview(self.reply_to) if self.reply_to_id else None,
            "thread": thread_summary(self.thread) if self.thread_id else thread_summary(self, only_if_replied=True),
            "reactions": reaction_counts(self.reactions),
        }

    @classmethod
    def shown(cls):
        """Posts with what their payload shows of other posts (the post replied to, the
        thread's root) in the same query."""
        return cls.objects.select_related("reply_to", "thread")


# A reply shows this much of the first line of the post it answers.
EXCERPT_MAX = 100


def reply_preview(parent):
    """What a reply shows of the post it answers: a deleted one shows that it was."""
    deleted = parent.deleted_at is not None
    line = "" if deleted else parent.body.strip().split("\n", 1)[0]
    if len(line) > EXCERPT_MAX:
        line = line[: EXCERPT_MAX - 1] + "…"
    return {"id": public_post_id(parent.pk), "author": parent.author, "excerpt": line, "deleted": deleted}


def thread_summary(root, only_if_replied=False):
    """The thread whose root is `root`: its id, how many replies, the newest one's time.
    A reply carries its thread's (so readers update the root's count as replies come and
    go); a root carries its own once it has had replies; any other post none."""
    if only_if_replied and root.reply_count == 0 and root.last_reply_at is None:
        return None
    return {
        "id": public_post_id(root.pk),
        "reply_count": root.reply_count,
        "last_reply_at": root.last_reply_at.isoformat() if root.last_reply_at else None,
    }


def reaction_counts(summary):
    """The post's reactions as clients see them: per emoji (in REACTION_EMOJI's order), the
    count and the first names (posts/reactions.py keeps `summary`)."""
    from posts.reactions import REACTION_EMOJI

    return [
        {"emoji": emoji, "count": summary[emoji]["count"], "users": list(summary[emoji]["users"])}
        for emoji in REACTION_EMOJI
        if summary.get(emoji, {}).get("count")
    ]


class RoomEventKind(models.TextChoices):
    """What happened at a position of a room: every room event (roomEvents, the streams, the
    group messages) is one of these."""

    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"
    REACTED = "reacted"


CHANGES = (RoomEventKind.EDITED, RoomEventKind.DELETED, RoomEventKind.REACTED)


class PostChange(models.Model):
    """An edit, a deletion or a reaction's change of a post, at its own position in the room's order (taken from
    `Room.last_seq` like a post's), so that readers see changes and posts in one order and
    a resuming reader gets the changes it missed. Also the moderators' audit: what the
    post said before (never shown to anyone else) and who changed it."""

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="post_changes")
    seq = models.PositiveBigIntegerField(editable=False)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=10, choices=[(kind.value, kind.label) for kind in CHANGES])
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="post_changes"
    )
    previous_body = models.TextField(blank=True)
    # A REACTED change: the emoji, and whether it was added (else removed).
    emoji = models.CharField(max_length=16, blank=True)
    added = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="postchange_room_seq")]
        indexes = [models.Index(fields=["actor", "created_at"], name="postchange_actor_recent")]

    def __str__(self):
        return f"{self.kind} post {self.post_id} at {self.seq}"

    def as_event(self):
        event = {"seq": self.seq, "kind": str(self.kind), "post": self.post.as_payload()}
        if self.kind == RoomEventKind.REACTED:
            event["reaction"] = self.reaction_change()
        return event

    def reaction_change(self):
        """A REACTED change's own: which emoji, added or removed, by whom."""
        return {"emoji": self.emoji, "added": bool(self.added), "user_id": str(self.actor_id) if self.actor_id else None}


class ReadState(models.Model):
    """How far one user has read one room (the newest position they have seen), and whether
    they muted it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="read_states")
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="read_states")
    last_read_seq = models.PositiveBigIntegerField(default=0)
    # Muted (muteRoom): the room raises no notification and its unread count is never red.
    muted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "room"], name="readstate_one_per_user_room")]


class RoomPresence(models.Model):
    """`user` has `room` open (a roomEvents subscription) on one web process, until
    `expires_at` unless that process renews it: a process that dies stops renewing."""

    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presences")
    process = models.CharField(max_length=40)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user", "process"], name="presence_one_per_process")]


class PresenceClock(models.Model):
    """A room's presence version: changes are made one at a time (this row locked) and
    numbered, so readers drop a list older than the one they have."""

    room = models.OneToOneField("rooms.Room", on_delete=models.CASCADE, primary_key=True, related_name="presence_clock")
    version = models.PositiveBigIntegerField(default=0)


class TypingAnnouncement(models.Model):
    """When `user` was last announced typing in `room`, by any web process: the throttle of
    sendTyping (see `posts.typing`). One row per user and room, overwritten."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    announced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "room"], name="typing_one_per_user_room")]


class PostMention(models.Model):
    """`post` mentions `user` (`@username`, by someone else): found when the post is stored
    or edited (`posts/mentions.py`), so a reader's mentions are an indexed count, not a
    read of every unread post's text."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions")
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="+")
    # The post's position, so "mentions after the read position" walks one index.
    seq = models.PositiveBigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="postmention_one_per_user")]
        indexes = [models.Index(fields=["user", "room", "seq"], name="postmention_user_room_seq")]


class Reaction(models.Model):
    """`user` reacted to `post` with `emoji` (one of posts.reactions.REACTION_EMOJI): once
    per person and emoji. Each change is a room event (a `PostChange` of kind REACTED)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reaction_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions")
    emoji = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "emoji", "id"]
        constraints = [models.UniqueConstraint(fields=["post", "user", "emoji"], name="reaction_once_per_user_emoji")]

    def __str__(self):
        return f"{self.emoji} on post {self.post_id}"
