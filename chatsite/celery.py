"""The Celery app and all of its configuration: the pipeline's queues, routes and reliability
settings, the worker's handling of messages it can't run, and its database connections.

Everything Celery is told is here. chatsite/settings.py says only which broker (AMQP_URL) and
so which mode: embedded (no broker) runs every stage inline, in the process that sends it.
"""
import logging
import os

from celery import Celery
from celery.signals import task_postrun, worker_init, worker_ready, worker_shutdown
from celery.worker.consumer import Consumer
from django.conf import settings
from django.db import close_old_connections
from kombu import Exchange, Queue

from posts.stages import Stage

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

app = Celery("chatsite")

log = logging.getLogger("chatsite.celery")

# Where a message no worker can run is set aside (rejected by the worker, routed by RabbitMQ):
# a poison message (not JSON, no task, missing fields) and a stage that failed for good.
# Kept for an operator to read, bounded in time and number.
DEAD_LETTERS = Exchange("dead-letters", type="fanout", durable=True)
DEAD_LETTER_QUEUE_NAME = "dead-letters"


def queue_arguments(**arguments):
    """A pipeline queue's arguments. With BROKER_QUORUM_QUEUES, a quorum queue: replicated on
    (up to) three of the cluster's nodes, so a lost node loses no message; a message is
    confirmed to the publisher once a majority holds it. RabbitMQ dead-letters from a quorum
    queue at least once (not at most once, its default) only with `reject-publish`
    overflow; none of these queues has a length limit of its own but `dead-letters`."""
    if not settings.BROKER_QUORUM_QUEUES:
        return arguments
    quorum = {"x-queue-type": "quorum"}
    if "x-dead-letter-exchange" in arguments:
        quorum |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    return quorum | arguments


def pipeline_queue(name):
    """`posts` or `stockbot`: durable, on a direct exchange of its name, set aside when dead."""
    exchange = Exchange(name, type="direct", durable=True)
    arguments = queue_arguments(**{"x-dead-letter-exchange": DEAD_LETTERS.name})
    return Queue(name, exchange, routing_key=name, durable=True, queue_arguments=arguments)


def dead_letter_queue():
    return Queue(
        DEAD_LETTER_QUEUE_NAME, DEAD_LETTERS, durable=True,
        queue_arguments=queue_arguments(**{"x-message-ttl": 7 * 24 * 3600 * 1000, "x-max-length": 100_000}),
    )


def configuration():
    """Read when Celery first needs its configuration (Django's settings are loaded by then;
    this module is imported while they load, so it can't read them at import time)."""
    return {
        # A cluster's nodes, `;`-separated: a process connects to one and, when it goes, to
        # the next (round robin), publishers and consumers alike.
        "broker_url": ";".join(settings.AMQP_URLS) or "memory://",
        "task_always_eager": settings.EMBEDDED,
        "task_eager_propagates": False,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A stage that failed for good is rejected, so RabbitMQ sets it aside in `dead-letters`.
        "task_acks_on_failure_or_timeout": False,
        # After a broker reconnect with tasks in flight, Celery lowers the prefetch count and
        # raises it again from each finishing task's thread with a synchronous basic.qos: with
        # `-P threads` several threads then read the one consumer socket at once and the worker
        # hangs for good (seen with py-spy in tests/faults: every thread and the main loop in
        # basic_qos, 8 messages unacknowledged, the queue growing). Keep the prefetch count as it is.
        "worker_enable_prefetch_count_reduction": False,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "broker_transport_options": {"confirm_publish": True},
        "broker_connection_retry_on_startup": True,
        # A channel error while (re)connecting is retried like a lost connection, not the
        # worker's end. On a cluster, right after a node is lost, redeclaring the worker's
        # exclusive control queue on another node is refused (RESOURCE_LOCKED) until the
        # cluster has noticed the loss: seen in tests/faults/test_cluster.py.
        "broker_channel_error_retry": True,
        "worker_hijack_root_logger": False,
        # Durable queues; Celery publishes persistent messages by default.
        # Classic or quorum queues (BROKER_QUORUM_QUEUES): Celery finds quorum queues here and
        # then gives each consumer its own prefetch count (a quorum queue refuses a global QoS).
        "task_queues": (pipeline_queue("posts"), pipeline_queue("stockbot")),
        "worker_detect_quorum_queues": True,
        "task_default_queue": "posts",
        # Every stage runs on the `posts` queue but the bot's, which runs where Stooq can be reached.
        "task_routes": {
            str(stage): {"queue": "stockbot", "routing_key": "stockbot"}
            if stage == Stage.BOT_COMMAND
            else {"queue": "posts", "routing_key": "posts"}
            for stage in Stage
        },
        "worker_consumer": f"{__name__}:SettingAsideConsumer",
        # Database connections in a worker. Celery's Django fix-up closes every connection (and,
        # in a prefork child, the whole pool) before and after each task unless
        # CELERY_DB_REUSE_MAX is set: two new PostgreSQL sessions per post, the worker's largest
        # cost in the benchmark. So it reuses them, and we hand the connection back to the
        # process's pool after each task ourselves (return_database_connections below: Django
        # closes one that failed or was left unusable, e.g. after a database restart; the pool
        # then opens a fresh one).
        "CELERY_DB_REUSE_MAX": 1_000_000,
    }


app.add_defaults(configuration)
app.autodiscover_tasks()


@task_postrun.connect
def return_database_connections(task=None, **kwargs):
    if task is not None and task.request.is_eager:
        return  # inline (embedded mode, tests): the caller owns the connection and transaction
    close_old_connections()


class SettingAsideConsumer(Consumer):
    """Celery's consumer, but a message it can't run is rejected into the dead-letter queue
    (Celery acks an undecodable one: gone) and logged by its headers and size, never its
    body, which may be someone's post.

    Without Celery's "native delayed delivery", which it switches on for quorum queues: it
    declares 28 more quorum queues and works only for topic exchanges (ours are direct). A
    stage's retry (a countdown) is held by the worker until it is due, as on classic queues;
    with quorum queues the prefetch count is fixed, so a worker holding retries takes that
    many fewer new messages meanwhile."""

    class Blueprint(Consumer.Blueprint):
        default_steps = [step for step in Consumer.Blueprint.default_steps if not step.endswith(":DelayedDelivery")]

    def on_decode_error(self, message, exc):
        self._set_aside(message, exc)

    def on_invalid_task(self, body, message, exc):
        self._set_aside(message, exc)

    def on_unknown_message(self, body, message):
        self._set_aside(message, "no task header")

    def on_unknown_task(self, body, message, exc):
        self._set_aside(message, f"no task named {(message.headers or {}).get('task')!r}")

    def _set_aside(self, message, why):
        headers = message.headers if isinstance(message.headers, dict) else {}
        log.error(
            "stage=%s request_id=? message %s set aside in %s: %s (%s, %d bytes)",
            str(headers.get("task", "?"))[:100], str(headers.get("id", "?"))[:100], DEAD_LETTER_QUEUE_NAME,
            str(why)[:200], message.content_type, len(message.body or b""),
        )
        message.reject_log_error(log, self.connection_errors, requeue=False)



@worker_init.connect
def declare_dead_letters(**kwargs):
    """Before the worker consumes: RabbitMQ drops what it dead-letters to a missing exchange."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=None, interval_start=1, interval_step=1, interval_max=5)
        dead_letter_queue()(connection.default_channel).declare()


@worker_ready.connect
def sweep_old_rows(sender=None, **kwargs):
    """The full stack's retention sweeps (chatsite/retention.py) run in each worker of the
    `posts` queue: no process to add, and nothing lost if one is stopped."""
    if sender is None or sender.app is not app:
        return
    consumed = app.amqp.queues.consume_from
    if consumed is None or "posts" in consumed:  # None: every queue
        from chatsite.retention import start_sweeping

        start_sweeping()


@worker_shutdown.connect
def stop_sweeps(**kwargs):
    from chatsite import retention

    retention.stop_sweeping()
