"""One Celery task per pipeline stage, named after the stage. Payloads are ids and text."""
import functools
import logging
import time

from celery import Task, shared_task
from celery.exceptions import Reject
from django.conf import settings
from django.db import DatabaseError

from chatsite.errors import Unavailable
from posts import services
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
            services.give_up(request_id=request_id, stage=self.name)


class StageDatabaseError(DatabaseError):
    """A stage's database error, told by its kind, SQLSTATE, table and constraint only:
    PostgreSQL's own text can carry the row ("Failing row contains (..., the post, ...)"),
    and the logs must not hold people's posts."""


def told_without_row_data(stage):
    @functools.wraps(stage)
    def run(**kwargs):
        try:
            return stage(**kwargs)
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


@shared_task(name=Stage.REQUESTED.value, **STAGE)
@told_without_row_data
def new_post_requested(*, request_id, room_id, user_id, body):
    services.route_requested_post(request_id=request_id, room_id=room_id, user_id=user_id, body=body)


@shared_task(name=Stage.BOT_REPLY.value, **STAGE)
@told_without_row_data
def bot_post_request(*, room_token, body, error=False, reason=""):
    services.take_bot_reply(room_token=room_token, body=body, error=error, reason=reason)


@shared_task(name=Stage.ACCEPTED.value, **STAGE)
@told_without_row_data
def new_post_accepted(*, request_id, room_id, user_id, body):
    services.accept_post(request_id=request_id, room_id=room_id, user_id=user_id, body=body)


@shared_task(name=Stage.ERROR.value, **STAGE)
@told_without_row_data
def new_post_error(*, request_id, room_id, user_id, body, reason):
    services.reject_post(request_id=request_id, room_id=room_id, user_id=user_id, body=body, reason=reason)
