"""/stock=<code>: the stock's latest quote from Stooq, posted in the room."""
from stockbot.commands import Command, CommandError, Reply
from stockbot.stooq import QuoteError, fetch_quote

CODE_MAX_LENGTH = 20


def stock(code):
    if not code:
        raise CommandError("The stock command needs a code, e.g. /stock=aapl.us")
    if len(code) > CODE_MAX_LENGTH or any(ch.isspace() for ch in code):
        raise CommandError(f"{code[:CODE_MAX_LENGTH]!r} is not a stock code.")
    try:
        return Reply(fetch_quote(code).as_post())
    except QuoteError as exc:
        raise CommandError(str(exc)) from exc


COMMAND = Command(
    name="stock",
    usage="/stock=<code>",
    help="the latest price of a stock from Stooq, e.g. /stock=aapl.us",
    handler=stock,
)
