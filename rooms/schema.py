import graphene

import posts.selectors
from posts.graphql.types import CAPPED, LAST_READ_SEQ, MENTION_COUNT, MUTED

from chatsite.graphql import caller, mutation
from rooms import services
from rooms.selectors import visible_rooms


class Room(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    created_at = graphene.DateTime(required=True)
    is_private = graphene.Boolean(
        required=True, description="Only its members see it, read it, subscribe to it and post in it."
    )
    is_direct = graphene.Boolean(
        required=True, description="A direct message: a private room of exactly two people (openDirectMessage)."
    )
    # The caller's read state (markRead), for every room of one answer in one query.
    last_read_seq = graphene.Int(required=True, description=LAST_READ_SEQ)
    unread_count = graphene.Int(required=True, description=f"Posts by others since the caller last read the room, {CAPPED}")
    mention_count = graphene.Int(required=True, description=MENTION_COUNT)
    muted = graphene.Boolean(required=True, description=MUTED)

    def resolve_last_read_seq(room, info):
        return read_state_of(room, info)["last_read_seq"]

    def resolve_unread_count(room, info):
        return read_state_of(room, info)["unread_count"]

    def resolve_mention_count(room, info):
        return read_state_of(room, info)["mention_count"]

    def resolve_muted(room, info):
        return read_state_of(room, info)["muted"]


def read_state_of(room, info):
    """The caller's read state of `room`, computed once per answer for all rooms listed."""
    states = getattr(info.context, "_read_states", None)
    if states is None or room.pk not in states:
        listed = getattr(info.context, "_rooms_listed", None) or [room.pk]
        states = info.context._read_states = posts.selectors.read_states(caller(info), set(listed) | {room.pk})
    return states[room.pk]


class CreateRoomInput(graphene.InputObjectType):
    id = graphene.ID(required=True, description='A slug, e.g. "general".')
    name = graphene.String(required=True)
    is_private = graphene.Boolean(
        default_value=False,
        description="Private: only members see it; you are its first member and add others (addRoomMember).",
    )


class AddRoomMemberInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True, description="A private room you created (any private room, for a moderator).")
    username = graphene.String(required=True, description="Who to add (an active user).")


class OpenDirectMessageInput(graphene.InputObjectType):
    username = graphene.String(required=True, description="The other person (an active user, not you).")


class Query(graphene.ObjectType):
    rooms = graphene.List(
        graphene.NonNull(Room),
        required=True,
        description="The rooms the caller can see, by name: every public room and the private rooms they are in.",
    )

    def resolve_rooms(root, info):
        rooms = list(visible_rooms(caller(info)))
        info.context._rooms_listed = [room.pk for room in rooms]
        return rooms


def create_room(info, input):
    return services.create_room(room_id=input.id, name=input.name, user=caller(info), is_private=bool(input.is_private))


def add_room_member(info, input):
    """Add someone to a private room: its creator or a moderator may (FORBIDDEN otherwise).
    A public room is BAD_USER_INPUT, an unknown user NOT_FOUND; adding a member again changes
    nothing."""
    return services.add_room_member(user=caller(info), room_id=input.room_id, username=input.username)


def open_direct_message(info, input):
    """The direct-message room of the caller and `username`: a private room of the two of
    them, the same room whoever opens it (created the first time)."""
    return services.open_direct_room(user=caller(info), username=input.username)


class Mutation(graphene.ObjectType):
    create_room = mutation(Room, CreateRoomInput, create_room)
    add_room_member = mutation(Room, AddRoomMemberInput, add_room_member)
    open_direct_message = mutation(Room, OpenDirectMessageInput, open_direct_message)
