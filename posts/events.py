"""The chat's events on the channel layer: which group each goes to, and its message.

Every message carries its `group`, so a receiver (the WebSocket transport, a process's room
stream) routes it without knowing the chat; the payload sits under the event's own key.
"""
from chatsite.ws_protocol import CLOSE_FORBIDDEN, CONNECTION_CLOSE
from posts.stages import Event

# Where each event's payload sits in its group message.
PAYLOAD_KEY = {Event.POST_CREATED: "post", Event.POST_CHANGED: "change", Event.POST_ERROR: "error"}


def room_group(room_id):
    return f"room.{room_id}"


def user_group(user_id):
    return f"user.{user_id}"


def post_created(post, request_id=None):
    group = room_group(post["room_id"])
    return group, _message(Event.POST_CREATED, group, post, request_id)


def post_changed(change):
    """An edit or deletion: {"seq": its position in the room, "kind", "post": the post now}."""
    group = room_group(change["post"]["room_id"])
    return group, _message(Event.POST_CHANGED, group, change, None)


def post_error(error):
    group = user_group(error["user_id"])
    return group, _message(Event.POST_ERROR, group, error, error["request_id"])


def user_deactivated(user_id):
    """Every open connection of the user closes with 4403."""
    group = user_group(user_id)
    return group, {"type": CONNECTION_CLOSE, "group": group, "code": CLOSE_FORBIDDEN[0]}


def _message(event, group, payload, request_id):
    return {"type": str(event), "group": group, "request_id": str(request_id), PAYLOAD_KEY[event]: payload}
