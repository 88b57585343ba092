"""Throttles on what a person or a client address may try: counted in the database, so the
same for every process; each refusal says when to try again. The numbers are settings.

Counting and recording an attempt is one step (`take`, `reserve`): under the lock of its
(kind, key), so attempts that arrive at once, in any threads or processes, are counted one
after the other and none slips past the limit between the check and the record."""
import math
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from accounts.models import Attempt
from chatsite.errors import RateLimited

# How far back the per-minute throttles look: logins per address, rooms per user.
MINUTE = 60


def longest_window_seconds():
    """How far back any throttle looks at an attempt: an older Attempt row counts for
    nothing (chatsite/retention.py deletes it)."""
    return max(settings.LOGIN_LOCKOUT_SECONDS, settings.SIGNUP_WINDOW_SECONDS, MINUTE)


def _since(seconds):
    return timezone.now() - timedelta(seconds=seconds)


def _key(key):
    return str(key)[:200]


def _refusal(what, until):
    wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
    return RateLimited(f"Too many {what}: try again in {wait} seconds.")


def _hold(kind, key):
    """Inside a transaction: wait for, and hold until it ends, the lock of (kind, key).
    PostgreSQL: a transaction-level advisory lock on the pair's hash. SQLite: the
    transaction took the database's write lock when it began (SQLITE_OPTIONS' IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{kind}\n{key}"])


def record(kind, key):
    """Count one attempt; its id, for `release`."""
    return Attempt.objects.create(kind=kind, key=_key(key)).pk


def release(attempt_id):
    """Take back an attempt `reserve` counted that turned out not to count."""
    Attempt.objects.filter(pk=attempt_id).delete()


def free_again_at(rows, *, at, limit, window_seconds):
    """The sliding window, for every throttle and rate limit: None while `rows` (one actor's)
    hold fewer than `limit` within the last `window_seconds` by their `at` field; else when
    the oldest of those leaves the window, and the next one fits."""
    found = rows.filter(**{f"{at}__gte": _since(window_seconds)}).aggregate(n=Count("pk"), oldest=Min(at))
    return window_full_until(found["n"], found["oldest"], limit=limit, window_seconds=window_seconds)


def window_full_until(count, oldest, *, limit, window_seconds):
    """`free_again_at` from the window's count and oldest time, however they were counted."""
    if count < limit:
        return None
    return oldest + timedelta(seconds=window_seconds)


def refuse_past(kind, key, *, limit, window_seconds, what):
    """RateLimited while `key` has `limit` `kind` attempts within the sliding window."""
    until = free_again_at(Attempt.objects.filter(kind=kind, key=_key(key)), at="at", limit=limit, window_seconds=window_seconds)
    if until is not None:
        raise _refusal(what, until)


def take(kind, key, *, limit, window_seconds, what):
    """Count one attempt, unless `key` is past its limit (then RateLimited, not counted)."""
    with transaction.atomic():
        _hold(kind, key)
        refuse_past(kind, key, limit=limit, window_seconds=window_seconds, what=what)
        record(kind, key)


def refuse_if_locked(kind, key, *, limit, window_seconds, lockout_seconds, what):
    """After `limit` attempts within the window, every attempt is refused for
    `lockout_seconds` from the last of them (refusals don't count, so it ends)."""
    found = Attempt.objects.filter(kind=kind, key=_key(key), at__gte=_since(window_seconds)).aggregate(
        n=Count("id"), newest=Max("at")
    )
    if found["n"] >= limit:
        until = found["newest"] + timedelta(seconds=lockout_seconds)
        if until > timezone.now():
            raise _refusal(what, until)


def reserve(kind, key, *, limit, window_seconds, lockout_seconds, what):
    """`refuse_if_locked`, and if not locked, count one attempt now, before the caller
    finds out whether it fails: of attempts made at once, no more than `limit` go on.
    Returns the attempt's id, to `release` if it did not fail."""
    with transaction.atomic():
        _hold(kind, key)
        refuse_if_locked(
            kind, key, limit=limit, window_seconds=window_seconds, lockout_seconds=lockout_seconds, what=what
        )
        return record(kind, key)
