"""Turn a post body into a bot command, or say why it isn't one."""
from dataclasses import dataclass


class CommandError(Exception):
    """A reason a person can read."""


@dataclass(frozen=True)
class StockCommand:
    code: str


COMMANDS = {"stock": "/stock=<code>, e.g. /stock=aapl.us"}


def parse_command(body):
    text = body.strip()
    name, sep, argument = text[1:].partition("=")
    name = name.strip().lower()
    if name == "stock":
        code = argument.strip()
        if not sep or not code:
            raise CommandError("The stock command needs a code, e.g. /stock=aapl.us")
        if len(code) > 20 or any(ch.isspace() for ch in code):
            raise CommandError(f"{code[:20]!r} is not a stock code.")
        return StockCommand(code=code)
    known = ", ".join(COMMANDS.values())
    shown = text.split("=")[0].split()[0][:30] if text.strip("/ ") else "/"
    raise CommandError(f"Unknown command {shown!r}. Commands: {known}")
