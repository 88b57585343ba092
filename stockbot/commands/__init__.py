"""The bot's commands: a registry of modules, one per command, found in this package.

Each module (stockbot/commands/<name>.py) defines `COMMAND = Command(...)`: the name typed
after `/`, its usage and one line of help, and a handler that turns the argument into a
`Reply` or raises `CommandError` with a reason a person can read. Adding a command is adding
a module. Every command runs in the `bot` process (the `stockbot` queue), its reply carried
back by `bot.post.request` with the signed room token, as the quote's is.
"""
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

# An argument longer than this is refused before any handler sees it.
ARGUMENT_MAX_LENGTH = 200


class CommandError(Exception):
    """A reason a person can read: the requester alone sees it, and nothing is posted."""


@dataclass(frozen=True)
class Reply:
    """What the bot answers: posted in the room for everyone, or (`private`) shown to the
    requester alone, as an error is, with `text` as its reason."""

    text: str
    private: bool = False


@dataclass(frozen=True)
class Command:
    name: str  # lower case, what follows `/`
    usage: str  # e.g. "/stock=<code>"
    help: str  # one line
    handler: Callable[[str], Reply]  # the argument (stripped, maybe empty) -> Reply


def _discover():
    found = {}
    for module_info in pkgutil.iter_modules(__path__):
        command = importlib.import_module(f"{__name__}.{module_info.name}").COMMAND
        assert command.name == module_info.name and command.name not in found, command
        found[command.name] = command
    return dict(sorted(found.items()))


COMMANDS = _discover()


def command_list():
    """Every command's usage, by name: what an unknown command's reason lists."""
    return ", ".join(command.usage for command in COMMANDS.values())


def split_command(body):
    """`/name=argument` or `/name argument` -> (name lower-cased, argument stripped)."""
    text = body.strip()[1:]
    end = next((i for i, ch in enumerate(text) if ch == "=" or ch.isspace()), len(text))
    return text[:end].lower(), text[end + 1:].strip()


def parse_command(body):
    """(command, argument) for a body starting with `/`, or CommandError saying why not."""
    name, argument = split_command(body)
    command = COMMANDS.get(name)
    if command is None:
        shown = "/" + name[:30] if name else "/"
        raise CommandError(f"Unknown command {shown!r}. Commands: {command_list()}")
    if len(argument) > ARGUMENT_MAX_LENGTH:
        raise CommandError(f"The {command.usage} command takes at most {ARGUMENT_MAX_LENGTH} characters after its name.")
    return command, argument


def run_command(body):
    """The bot's Reply to a command body; CommandError (and the handler's own errors that a
    person can read) propagate to the caller."""
    command, argument = parse_command(body)
    return command.handler(argument)
