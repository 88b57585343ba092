import re

from django.conf import settings
from django.db import models

ROOM_ID_MAX_LENGTH = 50
# A room's id is its slug: what `createRoom` accepts and what finding a room expects.
ROOM_ID_PATTERN = re.compile(rf"^[a-z0-9][a-z0-9_-]{{0,{ROOM_ID_MAX_LENGTH - 1}}}$")
# Ids of direct-message rooms (`dm-<smaller user id>-<larger user id>`): createRoom refuses
# them, so no one can take a direct room's address before it is opened.
DIRECT_ROOM_PREFIX = "dm-"


class Room(models.Model):
    """A chat room; its id is its slug (`general`). A private room is seen only by its
    members (RoomMember); a direct room is a private room of two (`dm-3-7`)."""

    id = models.SlugField(primary_key=True, max_length=ROOM_ID_MAX_LENGTH)
    name = models.CharField(max_length=100)
    locked = models.BooleanField(default=False, help_text="A locked room refuses new posts.")
    is_private = models.BooleanField(
        default=False, help_text="Only its members can see, read, subscribe to and post in a private room."
    )
    is_direct = models.BooleanField(
        default=False, editable=False, help_text="A direct message: a private room of exactly two people."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The newest position handed out in this room's stream (`Post.seq`); see
    # `posts.posting.new_post_accepted` for why taking one locks the row until commit.
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RoomMember(models.Model):
    """A member of a private room (public rooms have no member list: everyone may read them)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_memberships")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="room_member_once")]
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.user} in {self.room_id}"
