"""Hand a payload to the next stage of the pipeline, by the stage's name."""
import logging

from celery import current_app

from chatsite.errors import Unavailable

log = logging.getLogger("posts.pipeline")

# Fail fast when the broker is gone: the caller answers UNAVAILABLE instead of hanging.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def send_stage(stage, **payload):
    """Publish `payload` to the task named `stage` (runs inline in the embedded mode)."""
    task = current_app.tasks[stage]
    try:
        task.apply_async(kwargs=payload, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # kombu/amqp raise many types; all mean "not taken"
        log.error("stage=%s request_id=%s publish failed: %r", stage, payload.get("request_id"), exc)
        raise Unavailable("The chat can't take posts right now; try again.") from exc
