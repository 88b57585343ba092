"""The one place where the two modes differ: how a stage is handed on and how a group
message reaches the web processes. Chosen once, by settings.CHAT_MODE.

- `FullStack` (AMQP_URL set): a stage is a Celery message on RabbitMQ, published inside the
  caller's transaction (a refused publish rolls the request back: UNAVAILABLE); a group
  message goes to channels_rabbitmq's `groups` exchange through Celery's producer pool (its
  own layer can't be driven from a Celery task: STACK.md); createPost is refused while the
  `posts` queue is too far behind.
- `Embedded` (no broker): a stage runs in the web process once the caller's transaction
  commits, on a small pool of threads (posts/embedded.py), or inline outside a server
  (tests, shell); a group message goes to the in-memory layer of the one web process.

Everything else (the rules, the stages' code, the room streams) is the same in both.
"""
import logging
import threading
import time
from functools import lru_cache

import msgpack
from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.module_loading import import_string
from kombu import Exchange

from chatsite import metrics
from chatsite.errors import Unavailable

log = logging.getLogger("posts.pipeline")

# Fail fast when the broker is gone: the caller answers UNAVAILABLE instead of hanging.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# How old the `posts` queue's backlog figure may be (one passive declare per process this often).
BACKLOG_CHECK_SECONDS = 0.25


class FullStack:
    # Declared exactly as channels_rabbitmq declares it (direct, not durable).
    groups_exchange = Exchange(settings.GROUPS_EXCHANGE, type="direct", durable=False, auto_delete=False)

    def __init__(self):
        self.backlog = QueueBacklog("posts")

    def publish_stage(self, stage, payload):
        try:
            current_app.tasks[stage].apply_async(
                kwargs=payload,
                # The message's headers name the request, not the post: Celery's default is a
                # repr of the arguments (the text), which costs CPU and shows in broker tools.
                argsrepr="()",
                kwargsrepr=f"{{'request_id': {payload.get('request_id')!r}}}",
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
            )
        except Exception as exc:  # kombu/amqp raise many types; all mean "not taken"
            log.error("stage=%s request_id=%s publish failed: %r", stage, payload.get("request_id"), exc)
            raise Unavailable("The chat can't take posts right now; try again.") from exc

    def send_to_group(self, group, message):
        with current_app.producer_pool.acquire(block=True, timeout=5) as producer:
            producer.publish(
                msgpack.packb({"__asgi_group__": group, **message}),
                exchange=self.groups_exchange,
                declare=[self.groups_exchange],
                routing_key=group,
                content_encoding="binary",
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
            )

    def admit(self):
        """Refuse new posts while the pipeline is too far behind, rather than queue them for
        minutes: past PIPELINE_MAX_BACKLOG waiting messages, createPost answers UNAVAILABLE."""
        if settings.PIPELINE_MAX_BACKLOG <= 0:
            return
        waiting = self.backlog()
        if waiting > settings.PIPELINE_MAX_BACKLOG:
            log.warning("stage=createPost refused: %s messages wait on the posts queue", waiting)
            raise Unavailable(Unavailable.busy_message)


class Embedded:
    def publish_stage(self, stage, payload):
        from posts import embedded

        if embedded.in_server():
            embedded.send_after_commit(stage, payload)
        else:  # tests, shell: inline, eagerly (tasks are always eager here)
            current_app.tasks[stage].apply_async(kwargs=payload)

    def send_to_group(self, group, message):
        async_to_sync(get_channel_layer().group_send)(group, message)

    def admit(self):
        pass  # no queue to fall behind on: the stage pools run what comes, in order


class QueueBacklog:
    """How many messages wait on a queue, asked of the broker at most every `every` seconds
    per process (a passive declare on a pooled connection: one round trip)."""

    def __init__(self, queue, every=BACKLOG_CHECK_SECONDS):
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
                    with current_app.pool.acquire(block=True, timeout=1) as connection:
                        self.waiting = connection.default_channel.queue_declare(self.queue, passive=True).message_count
                except Exception as exc:  # the publish that follows will say UNAVAILABLE if it must
                    log.warning("stage=createPost backlog of %s unknown: %r", self.queue, exc)
                    self.waiting = 0
        return self.waiting


@lru_cache(maxsize=None)
def _mode(path):
    return import_string(path)()


def mode():
    """This process's mode (settings.CHAT_MODE)."""
    return _mode(settings.CHAT_MODE)


def publish_stage(stage, **payload):
    """Hand `payload` to the task named `stage` (see the mode)."""
    mode().publish_stage(str(stage), payload)


def send_to_group(group, message):
    """A group message to every web process. At most once by design: the database is the
    record, and clients catch up from it; a failure is logged, never raised."""
    try:
        mode().send_to_group(group, message)
    except Exception:
        log.exception("stage=%s request_id=%s group=%s fan-out failed", message["type"], message.get("request_id"), group)
        metrics.lost(message["type"]).inc()
        return
    metrics.sent(message["type"]).inc()
    log.info("stage=%s request_id=%s group=%s sent", message["type"], message.get("request_id"), group)


def admit():
    mode().admit()
