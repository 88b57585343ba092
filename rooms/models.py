import re

from django.db import models

ROOM_ID_MAX_LENGTH = 50
# A room's id is its slug: what `createRoom` accepts and what finding a room expects.
ROOM_ID_PATTERN = re.compile(rf"^[a-z0-9][a-z0-9_-]{{0,{ROOM_ID_MAX_LENGTH - 1}}}$")


class Room(models.Model):
    """A chat room; its id is its slug (`general`)."""

    id = models.SlugField(primary_key=True, max_length=ROOM_ID_MAX_LENGTH)
    name = models.CharField(max_length=100)
    locked = models.BooleanField(default=False, help_text="A locked room refuses new posts.")
    created_at = models.DateTimeField(auto_now_add=True)
    # The newest position handed out in this room's stream (`Post.seq`); see
    # `posts.services.accept_post` for why taking one locks the row until commit.
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
