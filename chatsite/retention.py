"""Rows kept only as long as a rule needs them, then deleted by a sweep that runs every
RETENTION_SWEEP_SECONDS.

- An `Attempt` (chatsite/throttle.py) for the longest window any throttle looks back over
  (`throttle.longest_window_seconds()`: LOGIN_LOCKOUT_SECONDS, 15 minutes, by default).
- A `PostRequest` while it is pending (the pipeline needs it: the sender's order, the text
  for a postError); once stored or failed, for CLIENT_ID_RETENTION_SECONDS (a repeated
  clientId returns the first request, 24 hours by default), and never less than the post
  rate limit's window, which counts it.

Where it runs: in each `posts` worker of the full stack (chatsite/celery.py), and in the
embedded web process (`SweepsInEmbeddedMode`, at the ASGI server's start). Deleting what
is past its time is idempotent, so several workers sweeping costs a little and changes
nothing. Rows go in batches, each its own short transaction: SQLite's one write lock is
never held for long, and a first sweep of a large table doesn't hold up posting.
"""
import asyncio
import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Attempt
from chatsite import metrics, throttle
from posts.models import PostRequest

log = logging.getLogger("chatsite.retention")

BATCH = 5000
MIN_INTERVAL_SECONDS = 0.1  # RETENTION_SWEEP_SECONDS=0 must not make a busy loop


def request_retention_seconds():
    return max(settings.CLIENT_ID_RETENTION_SECONDS, settings.RATE_LIMIT_WINDOW_SECONDS)


def _delete(queryset):
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if ids:
            deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < BATCH:
            return deleted


def sweep():
    """Delete the rows no rule needs any more; {"attempts": n, "post_requests": n}."""
    now = timezone.now()
    attempts = _delete(Attempt.objects.filter(at__lt=now - timedelta(seconds=throttle.longest_window_seconds())))
    requests = _delete(
        PostRequest.objects.exclude(state=PostRequest.State.PENDING).filter(
            created_at__lt=now - timedelta(seconds=request_retention_seconds())
        )
    )
    log.info("retention sweep: deleted %d attempts, %d post requests", attempts, requests)
    return {"attempts": attempts, "post_requests": requests}


_lock = threading.Lock()
_stop = threading.Event()
_thread = None


def start_sweeping():
    """Sweep now and every RETENTION_SWEEP_SECONDS on a thread of this process (one per
    process, however often this is called)."""
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()
        _thread = threading.Thread(target=_sweep_until_stopped, name="retention-sweeps", daemon=True)
        _thread.start()


def stop_sweeping():
    _stop.set()


def _sweep_until_stopped():
    while not _stop.is_set():
        try:
            sweep()
        except Exception:  # the database away for a moment: the next sweep catches up
            log.exception("retention sweep failed")
        finally:
            connection.close()  # this thread's; on PostgreSQL, back to the pool
        _stop.wait(max(settings.RETENTION_SWEEP_SECONDS, MIN_INTERVAL_SECONDS))


class SweepsInEmbeddedMode:
    """ASGI middleware: answers the server's lifespan messages, and in embedded mode starts
    the sweeps when the server starts (the full stack's workers run them there). It starts
    the process's metrics endpoint too (chatsite/metrics.py; a taken port stops the server)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            return await self.application(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    metrics.serve(loop=asyncio.get_running_loop())
                except OSError as exc:
                    await send({"type": "lifespan.startup.failed", "message": f"METRICS_PORT: {exc}"})
                    return
                if settings.EMBEDDED:
                    start_sweeping()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                stop_sweeping()
                await send({"type": "lifespan.shutdown.complete"})
                return
