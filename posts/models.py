import uuid

from django.conf import settings
from django.db import models


class PostRequest(models.Model):
    """One accepted createPost call: the rate limit counts these, clientId dedupes them, and
    their order (`id`, given as each request commits) is the order its sender sent them in."""

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
    # `services.accept_post`), so it must not depend on this request's own message.
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

    class Meta:
        ordering = ["room", "seq"]
        # "The newest 50 of a room" and the before/after cursors all walk (room, seq).
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="post_room_seq")]

    def __str__(self):
        return f"{self.author}: {self.body[:40]}"

    def as_payload(self):
        """The post as every client sees it: GraphQL queries, subscriptions, group messages."""
        return {
            "id": str(self.pk),
            "room_id": self.room_id,
            "seq": self.seq,
            "user_id": str(self.user_id) if self.user_id is not None else None,
            "author": self.author,
            "body": self.body,
            "is_bot": self.is_bot,
            "created_at": self.created_at.isoformat(),
        }
