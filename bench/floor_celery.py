"""Floor (a): what a post's pipeline would cost if its stages did nothing.

Two no-op tasks, the first publishing the second exactly as a stage publishes the next one
(`apply_async(kwargs=..., retry=True, retry_policy=...)`), with a payload of a post's size,
on the broker settings of chatsite/celery.py: acks late, reject on
worker lost, prefetch 1, publisher confirms, persistent messages, a durable queue (a quorum
queue where the app's would be one). The worker
runs with the Procfile `worker` line's flags (pool, concurrency, gossip, mingle, log level),
only `-A bench.floor_celery -Q <its own queue> -n floor-...` differ (bench/floors.py).

Stage 2 appends "<n> <sent ns> <done ns>" to a file (O_APPEND, one write each, atomic under
PIPE_BUF): the benchmark tails it to keep K chains in flight and to time each one, without
adding a broker round trip that the floor would then count.

Configured from the environment: AMQP_URL, BENCH_FLOOR_QUEUE, BENCH_FLOOR_DONE_FILE.
"""
import os
import time

from celery import Celery
from kombu import Exchange, Queue

STAGE_1 = "bench.floor.stage1"
STAGE_2 = "bench.floor.stage2"
# The app's own publish retry policy (posts/modes.py).
RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}

_done_fd = None


def _record(n, sent_ns):
    global _done_fd
    if _done_fd is None:
        _done_fd = os.open(os.environ["BENCH_FLOOR_DONE_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_done_fd, f"{n} {sent_ns} {time.monotonic_ns()}\n".encode())


def quorum_queues(broker_url):
    """The app's rule (chatsite/settings.py): BROKER_QUORUM_QUEUES, by default on for a cluster."""
    switch = os.environ.get("BROKER_QUORUM_QUEUES", "").strip().lower()
    return switch in ("1", "true", "yes", "on") if switch else ";" in broker_url


def configured_app(broker_url, queue):
    """A Celery app on chatsite/celery.py's reliability settings, consuming `queue`."""
    app = Celery("bench_floor", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_enable_prefetch_count_reduction=False,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_queues=(Queue(queue, Exchange(queue, type="direct", durable=True), routing_key=queue, durable=True,
                           queue_arguments={"x-queue-type": "quorum"} if quorum_queues(broker_url) else {}),),
        task_default_queue=queue,
        task_default_exchange=queue,
        task_default_routing_key=queue,
    )
    return app


def make_app(broker_url, queue):
    app = configured_app(broker_url, queue)

    @app.task(name=STAGE_1, shared=False)
    def stage1(**payload):
        app.tasks[STAGE_2].apply_async(kwargs=payload, retry=True, retry_policy=RETRY_POLICY)

    @app.task(name=STAGE_2, shared=False)
    def stage2(**payload):
        _record(payload["n"], payload["sent_ns"])

    return app


app = make_app(
    os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"),
    os.environ.get("BENCH_FLOOR_QUEUE", "bench-floor"),
)
