"""What the throttles count (chatsite/throttle.py), in the database so every process counts
the same attempts."""
from django.db import models
from django.utils import timezone


class Attempt(models.Model):
    kind = models.CharField(max_length=20)  # e.g. "login-failure", "signup-address"
    key = models.CharField(max_length=200)  # a username, a client address, a user id
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "key", "at"], name="attempt_kind_key_at"),
            # The retention sweep deletes by age alone (chatsite/retention.py).
            models.Index(fields=["at"], name="attempt_at"),
        ]
