"""One Celery task per pipeline stage, named after the stage. Payloads are ids and text."""
import logging

from celery import Task, shared_task
from django.db import DatabaseError

from chatsite.errors import Unavailable
from posts import services
from posts.stages import Stage

log = logging.getLogger("posts.pipeline")


class PostStage(Task):
    """A stage of a user's post. One that fails for good (its retries spent, or an error no
    retry can mend) tells the requester in a postError, never fails in silence."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        request_id = kwargs.get("request_id")
        log.error("stage=%s request_id=%s failed for good: %s", self.name, request_id, type(exc).__name__)
        if request_id and self.name != Stage.ERROR:
            services.give_up(request_id=request_id, stage=self.name)


# Late acks and reject-on-worker-lost come from the app's settings; a stage that fails on
# the database (restart, failover) is retried with backoff rather than lost.
STAGE = {
    "base": PostStage,
    "autoretry_for": (DatabaseError, Unavailable),
    "retry_backoff": True,
    "retry_backoff_max": 30,
    "max_retries": 10,
}


@shared_task(name=Stage.REQUESTED.value, **STAGE)
def new_post_requested(*, request_id, room_id, user_id, body):
    services.route_requested_post(request_id=request_id, room_id=room_id, user_id=user_id, body=body)


@shared_task(name=Stage.BOT_REPLY.value, **STAGE)
def bot_post_request(*, room_token, body, error=False, reason=""):
    services.take_bot_reply(room_token=room_token, body=body, error=error, reason=reason)


@shared_task(name=Stage.ACCEPTED.value, **STAGE)
def new_post_accepted(*, request_id, room_id, user_id, body):
    services.accept_post(request_id=request_id, room_id=room_id, user_id=user_id, body=body)


@shared_task(name=Stage.ERROR.value, **STAGE)
def new_post_error(*, request_id, room_id, user_id, body, reason):
    services.reject_post(request_id=request_id, room_id=room_id, user_id=user_id, body=body, reason=reason)
