"""The chat's events on the channel layer: which group each goes to, its message, and the
sending (through the mode, posts/modes.py: at most once, after the change has committed).

Every message carries its `group`, so a receiver (the WebSocket transport, a process's room
stream) routes it without knowing the chat; the payload sits under the event's own key.
"""
import uuid

from chatsite.ws_protocol import CLOSE_FORBIDDEN, CONNECTION_CLOSE
from posts.modes import send_to_group
from posts.stages import Event

# Where each event's payload sits in its group message.
PAYLOAD_KEY = {
    Event.POST_CREATED: "post",
    Event.POST_CHANGED: "change",
    Event.POST_ERROR: "error",
    Event.READ_STATE: "read",
    Event.TYPING: "typing",
    Event.PRESENCE: "presence",
}


def room_group(room_id):
    return f"room.{room_id}"


def typing_group(room_id):
    """Apart from the room's group: typing listeners get typing only, and the room stream
    (every post) never wakes them."""
    return f"typing.{room_id}"


def presence_group(room_id):
    return f"presence.{room_id}"


def user_group(user_id):
    return f"user.{user_id}"


def post_created(post, request_id=None):
    group = room_group(post["room_id"])
    send_to_group(group, message(Event.POST_CREATED, group, post, request_id))


def post_changed(change):
    """An edit or deletion: {"seq": its position in the room, "kind", "post": the post now}."""
    group = room_group(change["post"]["room_id"])
    send_to_group(group, message(Event.POST_CHANGED, group, change, None))


def post_error(error):
    group = user_group(error["user_id"])
    send_to_group(group, message(Event.POST_ERROR, group, error, error["request_id"]))


def read_state(user_id, read):
    """The user read a room further: their other sessions update their unread counts."""
    group = user_group(user_id)
    # Its own id: a subscription's rendering is shared by (type, id), and no two are alike.
    send_to_group(group, message(Event.READ_STATE, group, read, uuid.uuid4().hex))


def typing(who):
    """Someone is typing in a room: never stored, shown by readers until it expires."""
    group = typing_group(who["room_id"])
    send_to_group(group, message(Event.TYPING, group, who, uuid.uuid4().hex))


def presence(snapshot):
    """Who has the room open now (the whole list, numbered): one message per change."""
    group = presence_group(snapshot["room_id"])
    send_to_group(group, message(Event.PRESENCE, group, snapshot, f"{snapshot['room_id']}:{snapshot['version']}"))


def user_deactivated(user_id):
    """Every open connection of the user closes with 4403."""
    group = user_group(user_id)
    send_to_group(group, {"type": CONNECTION_CLOSE, "group": group, "code": CLOSE_FORBIDDEN[0]})


def message(event, group, payload, request_id):
    """A group message of `event`, its payload under the event's key."""
    return {"type": str(event), "group": group, "request_id": str(request_id), PAYLOAD_KEY[event]: payload}
