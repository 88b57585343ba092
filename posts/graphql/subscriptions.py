"""The posts' subscriptions: each checks access when it starts, then streams a room's events
(posts/stream.py) or the messages of a group the connection listens to."""
from contextlib import aclosing

import graphene

from chatsite.db import on_db_thread
from chatsite.graphql import caller
from posts import presence, selectors
from posts.events import PAYLOAD_KEY, presence_group, typing_group, user_group
from posts.graphql.types import (
    Post,
    PostCreatedInput,
    PostError,
    Presence,
    ReadState,
    RoomEvent,
    RoomEventsInput,
    RoomInput,
    Typing,
)
from posts.stages import Event
from posts.stream import room_events, room_posts
from rooms.selectors import room_for


async def only(event, messages):
    """The messages of one kind from a group that carries several (a user's group)."""
    async with aclosing(messages) as stream:
        async for key, message in stream:
            if message.get("type") == event:
                yield key, message


async def presence_stream(room_id, messages):
    """The list now, then each newer one: listening first, so no change slips between."""
    async with aclosing(only(Event.PRESENCE, messages)) as changes:
        now = await on_db_thread(presence.current, room_id)
        yield ("presence", room_id, now["version"]), now
        version = now["version"]
        async for key, message in changes:
            snapshot = message[PAYLOAD_KEY[Event.PRESENCE]]
            if snapshot["version"] > version:
                version = snapshot["version"]
                yield key, snapshot


async def others_typing(user, messages):
    async with aclosing(only(Event.TYPING, messages)) as typing:
        async for key, message in typing:
            if message[PAYLOAD_KEY[Event.TYPING]].get("user_id") != str(user.pk):
                yield key, message


async def reader(info, room_id):
    """The caller, once they may read the room (`room_for`'s error otherwise). Membership is
    checked when subscribing: a member removed later keeps the subscription until it ends (a
    reconnect subscribes again, and is refused)."""
    user = caller(info)
    await on_db_thread(room_for, user, room_id)
    return user


def stream(output, description, input_type=None):
    """A subscription field: a stream of `output`s, given one required `input` of `input_type`
    if any. Its `subscribe_<name>` returns the events; each is the `output` itself unless a
    `resolve_<name>` takes it out of a group message."""
    arguments = {"input": input_type(required=True)} if input_type else {}
    return graphene.Field(output, required=True, description=description, **arguments)


class Subscription(graphene.ObjectType):
    """Event streams come from the WebSocket connection (`info.context.listen`)."""

    post_created = stream(
        Post,
        "Posts created in the room, in seq order. Example: "
        "subscription { postCreated(input: {roomId: \"general\", after: 41}) { seq author body } }",
        PostCreatedInput,
    )
    room_events = stream(
        RoomEvent,
        "Every change in the room (posts created, edited, deleted), in one order. Example: "
        "subscription { roomEvents(input: {roomId: \"general\", after: 41}) { seq kind post { id body editedAt } } }",
        RoomEventsInput,
    )
    post_error = stream(PostError, "The caller's own failed requests.")
    presence_changed = stream(
        Presence,
        "Who has the room open: the list now, then the whole list again after each change. "
        "Someone who leaves stays listed for a few seconds (a reload changes nothing).",
        RoomInput,
    )
    typing = stream(Typing, "Who else is typing in the room, as it happens (never replayed).", RoomInput)
    read_state_changed = stream(ReadState, "The caller read a room further, in any of their sessions.")

    async def subscribe_post_created(root, info, input):
        await reader(info, input.room_id)
        return room_posts(input.room_id, after=selectors.position(input.after, "after"), backlog=info.context.backlog)

    async def subscribe_room_events(root, info, input):
        user = await reader(info, input.room_id)
        events = room_events(input.room_id, after=selectors.position(input.after, "after"), backlog=info.context.backlog)
        return presence.while_present(input.room_id, user.pk, events)  # the reader is in the room meanwhile

    async def subscribe_post_error(root, info):
        return only(Event.POST_ERROR, info.context.listen(user_group(caller(info).pk)))

    def resolve_post_error(root, info):
        return root[PAYLOAD_KEY[Event.POST_ERROR]]

    async def subscribe_presence_changed(root, info, input):
        await reader(info, input.room_id)
        return presence_stream(input.room_id, info.context.listen(presence_group(input.room_id)))

    async def subscribe_typing(root, info, input):
        user = await reader(info, input.room_id)
        return others_typing(user, info.context.listen(typing_group(input.room_id)))

    def resolve_typing(root, info, input):
        return root[PAYLOAD_KEY[Event.TYPING]]

    async def subscribe_read_state_changed(root, info):
        return only(Event.READ_STATE, info.context.listen(user_group(caller(info).pk)))

    def resolve_read_state_changed(root, info):
        return root[PAYLOAD_KEY[Event.READ_STATE]]
