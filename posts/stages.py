"""The pipeline's stage names and the events it fans out, each defined once.

A stage is a Celery task named after it (SPEC section 3); an event is a Channels group
message. Import these rather than writing the strings: a typo then fails at import time.
"""
from enum import StrEnum


class Stage(StrEnum):
    REQUESTED = "new.post.requested"
    BOT_COMMAND = "bot.command.received"
    BOT_REPLY = "bot.post.request"
    ACCEPTED = "new.post.accepted"
    ERROR = "new.post.error"


class Event(StrEnum):
    POST_CREATED = "new.post.created"
    POST_CHANGED = "post.changed"
    POST_ERROR = "new.post.error.notify"
    READ_STATE = "read.state"
    TYPING = "room.typing"
    PRESENCE = "room.presence"
