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

    class Meta:
        ordering = ["room", "seq"]
        # "The newest 50 of a room" and the before/after cursors all walk (room, seq).
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="post_room_seq")]

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
        }


class RoomEventKind(models.TextChoices):
    """What happened at a position of a room: every room event (roomEvents, the streams, the
    group messages) is one of these."""

    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"


CHANGES = (RoomEventKind.EDITED, RoomEventKind.DELETED)


class PostChange(models.Model):
    """An edit or a deletion of a post, at its own position in the room's order (taken from
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="postchange_room_seq")]
        indexes = [models.Index(fields=["actor", "created_at"], name="postchange_actor_recent")]

    def __str__(self):
        return f"{self.kind} post {self.post_id} at {self.seq}"

    def as_event(self):
        return {"seq": self.seq, "kind": str(self.kind), "post": self.post.as_payload()}


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
