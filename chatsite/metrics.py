"""Prometheus metrics of one process (a `web`, a `worker` or the `bot`), every metric of the
chat defined here; docs/operations.md lists them and what an alert on each means.

Each process serves its own, at http://METRICS_ADDR:METRICS_PORT/metrics (127.0.0.1 by
default: not public), from a thread of prometheus_client's; METRICS_PORT unset or 0: none.
A web starts it with the server (chatsite/retention.py's lifespan), a Celery worker when it
starts (`worker_init`, below). Several processes on one machine each need a port of their own.

What a post costs here is a few counter adds; what a reader's event costs is one plain
integer add (a `Tally`). Labels are only a stage, an event type or an error code: bounded.
Figures that already exist are read at each scrape, not kept twice: the web process's
/healthz/ figures (chatsite/health.py, read on its event loop, where they live) and the
queues' backlog (posts/modes.py's QueueBacklog, which createPost's admission uses too).
"""
import asyncio
import functools
import logging
import threading

from celery.signals import task_failure, task_retry, worker_init
from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from chatsite.errors import ChatError

log = logging.getLogger("chatsite.metrics")

# How long a scrape waits for the web process's event loop to read its figures.
FIGURES_WAIT_SECONDS = 2
# The queues whose waiting messages are shown (`posts` shares createPost's figure).
QUEUES = ("posts", "stockbot", "dead-letters")

POSTS_REQUESTED = Counter("chat_posts_requested", "createPost calls (web)")
POSTS_REFUSED = Counter("chat_posts_refused", "createPost calls refused, by error code (web)", ["reason"])
POSTS_STORED = Counter("chat_posts_stored", "Posts stored, the bot's included (worker)")
POSTS_FAILED = Counter("chat_posts_failed", "Posts whose requester got a postError instead (worker)")
STAGE_SECONDS = Histogram(
    "chat_stage_seconds", "How long each run of a pipeline stage took (worker, bot)", ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STAGE_RETRIES = Counter("chat_stage_retries", "Stage runs that failed and were retried later (worker, bot)", ["stage"])
STAGE_FAILURES = Counter("chat_stage_failures", "Stages that failed for good, set aside in dead-letters (worker, bot)", ["stage"])
GROUP_MESSAGES_SENT = Counter("chat_group_messages_sent", "Group messages published, by event (any process)", ["event"])
GROUP_MESSAGES_LOST = Counter("chat_group_messages_lost", "Group messages that could not be published, by event", ["event"])


class Tally:
    """A counter for a path run per event and reader: a plain add, no lock (only the web
    process's event loop adds to it), read at each scrape."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


GROUP_MESSAGES_RECEIVED = Tally()  # chatsite/groups.py: each group message this web process got
SUBSCRIPTION_EVENTS_SENT = Tally()  # chatsite/graphql_ws.py: each event written to a subscriber


class Tallies:
    def describe(self):
        return []

    def collect(self):
        yield CounterMetricFamily(
            "chat_group_messages_received", "Group messages this web process received from the channel layer",
            value=GROUP_MESSAGES_RECEIVED.value,
        )
        yield CounterMetricFamily(
            "chat_subscription_events_sent", "Subscription events written to readers' WebSockets (web)",
            value=SUBSCRIPTION_EVENTS_SENT.value,
        )


class PerLabel:
    """`metric`'s child for a label value, found once (prometheus_client's `labels()` checks
    and locks on every call)."""

    def __init__(self, metric):
        self.metric, self.children = metric, {}

    def __call__(self, value):
        child = self.children.get(value)
        if child is None:
            child = self.children[value] = self.metric.labels(value)
        return child


sent, lost = PerLabel(GROUP_MESSAGES_SENT), PerLabel(GROUP_MESSAGES_LOST)


def counts_post_requests(request_post):
    """createPost's counters: every call, and every refusal by its error code."""

    @functools.wraps(request_post)
    def counted(*args, **kwargs):
        POSTS_REQUESTED.inc()
        try:
            return request_post(*args, **kwargs)
        except ChatError as error:
            POSTS_REFUSED.labels(error.code).inc()
            raise

    return counted


def timed(stage):
    """Each run of the decorated stage is timed under its name."""
    seconds = STAGE_SECONDS.labels(str(stage))

    def decorate(run):
        @functools.wraps(run)
        def timed_run(*args, **kwargs):
            with seconds.time():
                return run(*args, **kwargs)

        return timed_run

    return decorate


@task_retry.connect
def count_retry(sender=None, **kwargs):
    STAGE_RETRIES.labels(getattr(sender, "name", "?")).inc()


@task_failure.connect
def count_failure(sender=None, **kwargs):
    STAGE_FAILURES.labels(getattr(sender, "name", "?")).inc()


class WebFigures:
    """/healthz/'s figures of a web process as gauges `chat_web_<figure>[_<key>]`, read on
    the server's event loop (they belong to it) at each scrape."""

    def __init__(self, loop):
        self.loop = loop

    def describe(self):
        return []  # never read at registration: that runs on the loop, which would wait on itself

    def collect(self):
        from chatsite import health

        async def read():
            return health.figures()

        try:
            figures = asyncio.run_coroutine_threadsafe(read(), self.loop).result(FIGURES_WAIT_SECONDS)
        except Exception as exc:  # the loop is stopping or stuck: no figures this time
            log.warning("web figures not read: %r", exc)
            return
        for name, value in figures.items():
            parts = value.items() if isinstance(value, dict) else [(None, value)]
            for key, number in parts:
                if isinstance(number, (int, float)):
                    metric = f"chat_web_{name}" + (f"_{key}" if key else "")
                    yield GaugeMetricFamily(metric, f"/healthz/ figure {name}" + (f" {key}" if key else ""), value=number)


class QueueFigures:
    """Messages waiting on the pipeline's queues (full stack), asked of the broker."""

    def __init__(self):
        from posts.modes import QueueBacklog, mode

        self.backlogs = {queue: QueueBacklog(queue) for queue in QUEUES}
        self.backlogs["posts"] = mode().backlog  # the figure createPost's admission reads

    def describe(self):
        return []

    def collect(self):
        gauge = GaugeMetricFamily("chat_queue_messages", "Messages waiting on a pipeline queue", labels=["queue"])
        for queue, backlog in self.backlogs.items():
            gauge.add_metric([queue], backlog())
        yield gauge


_serving = None
_lock = threading.Lock()


def serve(loop=None):
    """Serve this process's metrics on METRICS_PORT (once; none when it is 0). `loop`: a web
    process's event loop, whose /healthz/ figures are shown too. Raises OSError when the
    port is taken: a process told to show its metrics doesn't run without them."""
    global _serving
    from django.conf import settings

    if not settings.METRICS_PORT:
        return None
    with _lock:
        if _serving is None:
            disable_created_metrics()  # the `_created` twin of every counter: noise here
            _serving = start_http_server(settings.METRICS_PORT, addr=settings.METRICS_ADDR)
            REGISTRY.register(Tallies())
            if not settings.EMBEDDED:
                REGISTRY.register(QueueFigures())
            if loop is not None:
                REGISTRY.register(WebFigures(loop))
            log.info("metrics at http://%s:%s/metrics", settings.METRICS_ADDR, settings.METRICS_PORT)
    return _serving


@worker_init.connect
def serve_worker_metrics(**kwargs):
    try:
        serve()
    except OSError as exc:  # Celery logs and swallows a handler's exceptions: stop the worker
        log.error("METRICS_PORT: %s", exc)
        raise SystemExit(1) from None
