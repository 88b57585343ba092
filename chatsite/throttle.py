"""Throttles on what a person or a client address may try: counted in the database, so the
same for every process; each refusal says when to try again. The numbers are settings."""
import math
from datetime import timedelta

from django.db.models import Count, Max, Min
from django.utils import timezone

from accounts.models import Attempt
from chatsite.errors import RateLimited


def _since(seconds):
    return timezone.now() - timedelta(seconds=seconds)


def _refusal(what, until):
    wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
    return RateLimited(f"Too many {what}: try again in {wait} seconds.")


def record(kind, key):
    Attempt.objects.create(kind=kind, key=str(key)[:200])


def refuse_past(kind, key, *, limit, window_seconds, what):
    """RateLimited while `key` has `limit` `kind` attempts within the sliding window."""
    found = Attempt.objects.filter(kind=kind, key=str(key)[:200], at__gte=_since(window_seconds)).aggregate(
        n=Count("id"), oldest=Min("at")
    )
    if found["n"] >= limit:
        raise _refusal(what, found["oldest"] + timedelta(seconds=window_seconds))


def take(kind, key, *, limit, window_seconds, what):
    """Count one attempt, unless `key` is past its limit (then RateLimited, not counted)."""
    refuse_past(kind, key, limit=limit, window_seconds=window_seconds, what=what)
    record(kind, key)


def refuse_if_locked(kind, key, *, limit, window_seconds, lockout_seconds, what):
    """After `limit` attempts within the window, every attempt is refused for
    `lockout_seconds` from the last of them (refusals don't count, so it ends)."""
    found = Attempt.objects.filter(kind=kind, key=str(key)[:200], at__gte=_since(window_seconds)).aggregate(
        n=Count("id"), newest=Max("at")
    )
    if found["n"] >= limit:
        until = found["newest"] + timedelta(seconds=lockout_seconds)
        if until > timezone.now():
            raise _refusal(what, until)
