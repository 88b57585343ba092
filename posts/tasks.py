"""How a pipeline stage runs as a Celery task: `stage_task` makes a function the task named
after its stage (the stages themselves are in posts/posting.py, in the order a post takes
them). Payloads are ids and text."""
import functools
import logging
import time

from celery import Task, shared_task
from celery.exceptions import Reject
from django.conf import settings
from django.db import DatabaseError

from chatsite import metrics
from chatsite.errors import Unavailable
from posts.stages import Stage

log = logging.getLogger("posts.pipeline")


class PostStage(Task):
    """A stage of a user's post. One that fails for good (its retries spent, or an error no
    retry can mend) tells the requester in a postError, never fails in silence."""

    def retry(self, *args, **kwargs):
        """Celery drops a message whose retry it can't publish (the broker is going away):
        Reject(requeue=False), which would lose the post. Hand it back to the queue instead;
        if the broker is really gone, the unacknowledged message comes back when it returns."""
        try:
            return super().retry(*args, **kwargs)
        except Reject as reject:
            if reject.requeue:
                raise
            log.warning(
                "stage=%s request_id=%s retry not published (%r): back to the queue",
                self.name, (self.request.kwargs or {}).get("request_id"), reject.reason,
            )
            time.sleep(1)  # no hot loop while the broker is half there
            raise Reject(reject.reason, requeue=True) from None

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        request_id = kwargs.get("request_id")
        log.error("stage=%s request_id=%s failed for good: %s", self.name, request_id, type(exc).__name__)
        if request_id and self.name != Stage.ERROR:
            from posts.posting import give_up  # the stages' module imports this one

            give_up(request_id=request_id, stage=self.name)


class StageDatabaseError(DatabaseError):
    """A stage's database error, told by its kind, SQLSTATE, table and constraint only:
    PostgreSQL's own text can carry the row ("Failing row contains (..., the post, ...)"),
    and the logs must not hold people's posts."""


def told_without_row_data(stage):
    @functools.wraps(stage)
    def run(**kwargs):
        try:
            # A stage's result is nothing: what it did is in the database. (Celery logs a
            # task's return value, and a stored post's would put its text in the log.)
            stage(**kwargs)
            return None
        except StageDatabaseError:
            raise
        except DatabaseError as exc:
            cause = exc.__cause__ or exc
            diag = getattr(cause, "diag", None)
            facts = [type(exc).__name__, f"sqlstate={getattr(cause, 'sqlstate', None) or '?'}"]
            for name in ("table_name", "constraint_name"):
                if getattr(diag, name, None):
                    facts.append(f"{name.split('_')[0]}={getattr(diag, name)}")
            raise StageDatabaseError(" ".join(facts)) from None

    return run


# Late acks and reject-on-worker-lost come from the app's settings; a stage that fails on
# the database (restart, failover) is retried with backoff rather than lost.
STAGE = {
    "base": PostStage,
    "autoretry_for": (DatabaseError, Unavailable),
    "retry_backoff": True,
    "retry_backoff_max": settings.PIPELINE_RETRY_BACKOFF_MAX,
    "max_retries": settings.PIPELINE_STAGE_MAX_RETRIES,
}


def stage_task(stage):
    """The decorated function is the Celery task named `stage` (SPEC section 3): run by a
    worker (or, embedded, by the web process), retried, its database errors told without
    row data, its final failure told to the requester."""

    def register(function):
        return shared_task(name=stage.value, **STAGE)(metrics.timed(stage)(told_without_row_data(function)))

    return register
