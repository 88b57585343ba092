"""bot.command.received: answer a command with a quote, or with the reason it failed."""
import logging

from celery import shared_task

from chatsite import metrics
from chatsite.errors import Unavailable
from posts.modes import publish_stage
from posts.stages import Stage
from stockbot.commands import CommandError, StockCommand, parse_command
from stockbot.stooq import QuoteError, fetch_quote

log = logging.getLogger("stockbot")


def answer_command(body):
    """The bot's reply to a command: (text, error, reason)."""
    try:
        command = parse_command(body)
        if isinstance(command, StockCommand):
            return fetch_quote(command.code).as_post(), False, ""
    except (CommandError, QuoteError) as exc:
        return body, True, str(exc)
    raise AssertionError(f"unhandled command {command!r}")


@shared_task(name=Stage.BOT_COMMAND.value, autoretry_for=(Unavailable,), retry_backoff=True, max_retries=5)
@metrics.timed(Stage.BOT_COMMAND)
def bot_command_received(*, request_id, body, room_token):
    text, error, reason = answer_command(body)
    log.info("stage=%s request_id=%s error=%s %s", Stage.BOT_COMMAND, request_id, error, reason)
    publish_stage(Stage.BOT_REPLY, room_token=room_token, body=text, error=error, reason=reason)
