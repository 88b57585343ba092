import uuid

from django.conf import settings
from django.db import models


class PostRequest(models.Model):
    """One accepted createPost call: the rate limit counts these, clientId dedupes them."""

    request_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="post_requests")
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="post_requests")
    client_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="postrequest_user_recent")]
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

    class Meta:
        ordering = ["id"]
        # "The newest 50 of a room" and the before/after cursors all walk (room, id).
        indexes = [models.Index(fields=["room", "id"], name="post_room_id")]

    def __str__(self):
        return f"{self.author}: {self.body[:40]}"

    def as_payload(self):
        """The post as every client sees it: GraphQL queries, subscriptions, group messages."""
        return {
            "id": str(self.pk),
            "room_id": self.room_id,
            "user_id": str(self.user_id) if self.user_id is not None else None,
            "author": self.author,
            "body": self.body,
            "is_bot": self.is_bot,
            "created_at": self.created_at.isoformat(),
        }
