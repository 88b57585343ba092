"""/help: the list of commands, shown to the requester alone."""
from stockbot import commands
from stockbot.commands import Command, Reply


def help_text():
    lines = [f"{command.usage}: {command.help}" for command in commands.COMMANDS.values()]
    return "Bot commands (only you see this):\n" + "\n".join(lines)


COMMAND = Command(
    name="help",
    usage="/help",
    help="this list, shown to you alone",
    handler=lambda argument: Reply(help_text(), private=True),
)
