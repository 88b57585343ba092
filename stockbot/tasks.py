"""bot.command.received: run a command from the registry (stockbot/commands/) and answer
with its reply, or with the reason it failed."""
import logging

from celery import shared_task

from chatsite import metrics
from chatsite.errors import Unavailable
from posts.modes import publish_stage
from posts.stages import Stage
from stockbot.commands import CommandError, run_command

log = logging.getLogger("stockbot")


def answer_command(body):
    """The bot's reply to a command: (text, error, reason). A reply for the room is
    (text, False, ""); one for the requester alone, a failure or a private reply such as
    /help's, is (the original body, True, the reason or the reply's text)."""
    try:
        reply = run_command(body)
    except CommandError as exc:
        return body, True, str(exc)
    if reply.private:
        return body, True, reply.text
    return reply.text, False, ""


@shared_task(name=Stage.BOT_COMMAND.value, autoretry_for=(Unavailable,), retry_backoff=True, max_retries=5)
@metrics.timed(Stage.BOT_COMMAND)
def bot_command_received(*, request_id, body, room_token):
    text, error, reason = answer_command(body)
    log.info("stage=%s request_id=%s error=%s %s", Stage.BOT_COMMAND, request_id, error, reason.partition("\n")[0])
    publish_stage(Stage.BOT_REPLY, room_token=room_token, body=text, error=error, reason=reason)
