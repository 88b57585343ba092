"""Hand a payload to the next stage of the pipeline, by the stage's name."""
import logging
import threading
import time

from celery import current_app
from django.conf import settings

from chatsite.errors import Unavailable
from posts import embedded

log = logging.getLogger("posts.pipeline")

# Fail fast when the broker is gone: the caller answers UNAVAILABLE instead of hanging.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def send_stage(stage, **payload):
    """Publish `payload` to the task named `stage`.

    Embedded (tasks always eager), inside the ASGI server: the stage starts after the
    current transaction commits, on a background thread (posts/embedded.py), so neither a
    transaction nor the request waits for it. Embedded outside a server (tests, shell): it
    runs inline, eagerly. Full stack: published to the broker, inside the transaction.
    """
    task = current_app.tasks[stage]
    if current_app.conf.task_always_eager and embedded.in_server():
        embedded.send_after_commit(stage, payload)
        return
    try:
        task.apply_async(kwargs=payload, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # kombu/amqp raise many types; all mean "not taken"
        log.error("stage=%s request_id=%s publish failed: %r", stage, payload.get("request_id"), exc)
        raise Unavailable("The chat can't take posts right now; try again.") from exc


class Backlog:
    """How many messages wait on the `posts` queue, asked of the broker at most every
    `every` seconds per process (a passive declare: one round trip)."""

    def __init__(self, queue="posts", every=0.25):
        self.queue, self.every = queue, every
        self.lock = threading.Lock()
        self.checked_at, self.waiting = float("-inf"), 0

    def __call__(self):
        now = time.monotonic()
        if now - self.checked_at < self.every:
            return self.waiting
        with self.lock:
            if now - self.checked_at >= self.every:
                self.checked_at = now
                try:
                    # A connection from Celery's pool: no new connection per check.
                    with current_app.pool.acquire(block=True, timeout=1) as connection:
                        self.waiting = connection.default_channel.queue_declare(self.queue, passive=True).message_count
                except Exception as exc:  # the publish that follows will say UNAVAILABLE if it must
                    log.warning("stage=createPost backlog of %s unknown: %r", self.queue, exc)
                    self.waiting = 0
        return self.waiting


backlog = Backlog()


def admit():
    """Refuse new posts while the pipeline is too far behind, rather than queue them for
    minutes: past PIPELINE_MAX_BACKLOG waiting messages, createPost answers UNAVAILABLE."""
    if current_app.conf.task_always_eager or settings.PIPELINE_MAX_BACKLOG <= 0:
        return
    waiting = backlog()
    if waiting > settings.PIPELINE_MAX_BACKLOG:
        log.warning("stage=createPost refused: %s messages wait on the posts queue", waiting)
        raise Unavailable(Unavailable.busy_message)
