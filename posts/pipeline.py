"""Hand a payload to the next stage of the pipeline, by the stage's name."""
import logging

from celery import current_app

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
