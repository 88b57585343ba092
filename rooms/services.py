"""The room rules: creating rooms, private rooms' members, and direct messages."""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from chatsite import throttle
from chatsite.auth import require_user
from chatsite.errors import BadUserInput, Forbidden, NotFound
from chatsite.text import clean_text, has_visible_text
from rooms.models import DIRECT_ROOM_PREFIX, ROOM_ID_MAX_LENGTH, ROOM_ID_PATTERN, Room, RoomMember
from rooms.selectors import can_add_members, can_see, direct_room_id, find_room, visible_rooms

NAME_MAX_LENGTH = 100


def _refuse_past_room_limit(user):
    throttle.refuse_past("room-user", user.pk, limit=settings.ROOMS_PER_MINUTE, window_seconds=throttle.MINUTE,
                         what="rooms created")


def create_room(*, room_id, name, user=None, is_private=False):
    """A new room. `user`: its creator, who may create so many a minute, and the first member
    of a private room."""
    if user is not None:
        _refuse_past_room_limit(user)
    room_id = clean_text(room_id or "", field="A room id").strip()
    name = clean_text(name or "", field="A room name", allow_bidi=False).strip()
    if not ROOM_ID_PATTERN.match(room_id):
        raise BadUserInput(f"A room id is a slug: 1 to {ROOM_ID_MAX_LENGTH} lower-case letters, digits, '-' or '_'.")
    if room_id.startswith(DIRECT_ROOM_PREFIX):
        raise BadUserInput(f"Room ids starting with {DIRECT_ROOM_PREFIX!r} are kept for direct messages.")
    if not has_visible_text(name) or len(name) > NAME_MAX_LENGTH:
        raise BadUserInput(f"A room name has 1 to {NAME_MAX_LENGTH} characters, some of them visible.")
    try:
        with transaction.atomic():
            # Ids are one namespace (the room's address), so a taken id is refused whoever
            # holds it; names need only differ among the rooms the creator can see, so a
            # private room's name tells no one outside it anything.
            if Room.objects.filter(pk=room_id).exists():
                raise id_taken(room_id)
            if _rooms_seen_by(user).filter(name__iexact=name).exists():
                raise BadUserInput(f"A room named {name!r} exists already.")
            room = Room.objects.create(id=room_id, name=name, is_private=bool(is_private), created_by=user)
            if is_private and user is not None:
                RoomMember.objects.create(room=room, user=user, added_by=user)
            if user is not None:
                throttle.record("room-user", user.pk)
            return room
    except IntegrityError:
        raise id_taken(room_id)


def id_taken(room_id):
    """The one answer for a taken id, whoever holds it: a private room's id tells an
    outsider that much and no more (not whether it is private, nor anything of it)."""
    return BadUserInput(f"The room id {room_id!r} is taken.")


def _rooms_seen_by(user):
    return Room.objects.filter(is_private=False) if user is None else visible_rooms(user)


def _active_user(username):
    """The active user with this username (as typed, any case), or NotFound."""
    found = None
    if isinstance(username, str) and username.strip() and len(username) <= 150:
        # Text no username can contain (NUL, lone surrogates) is no user's: not sent to the database.
        clean_text(username, field="A username")
        found = get_user_model().objects.filter(username__iexact=username.strip(), is_active=True).first()
    if found is None:
        raise NotFound(f"There is no user {username!r}.")
    return found


def add_room_member(*, user, room_id, username):
    """addRoomMember: the private room's creator, or a moderator, adds someone to it.
    Adding a member twice changes nothing. Returns the room."""
    user = require_user(user)
    room = find_room(room_id)
    if not (user.is_staff or can_see(user, room)):
        raise NotFound(f"There is no room {room_id!r}.")
    if not room.is_private:
        raise BadUserInput("A public room has no member list: everyone can read it already.")
    if room.is_direct:
        raise BadUserInput("A direct message is between its two people; create a private room for more.")
    if not can_add_members(user, room):
        raise Forbidden("Only the room's creator or a moderator can add members.")
    member = _active_user(username)
    RoomMember.objects.get_or_create(room=room, user=member, defaults={"added_by": user})
    return room


def open_direct_room(*, user, username):
    """openDirectMessage: the private room of `user` and `username`, the same one whoever
    opens it, created the first time (which counts toward the room-creation limit)."""
    user = require_user(user)
    other = _active_user(username)
    if other.pk == user.pk:
        raise BadUserInput("A direct message needs someone else: you can't open one with yourself.")
    room_id = direct_room_id(user.pk, other.pk)
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        _refuse_past_room_limit(user)
        first, second = sorted((user, other), key=lambda person: person.pk)
        name = f"{first.username} & {second.username}"[:NAME_MAX_LENGTH]
        try:
            with transaction.atomic():
                room = Room.objects.create(
                    id=room_id, name=name, is_private=True, is_direct=True, created_by=user
                )
                throttle.record("room-user", user.pk)
        except IntegrityError:  # the other person opened it at the same moment
            room = Room.objects.get(pk=room_id)
    if not room.is_direct:
        # Only a moderator in the admin can make a room with a direct room's address.
        raise BadUserInput(f"The room {room_id!r} is not a direct message; ask a moderator.")
    for person in (user, other):
        RoomMember.objects.get_or_create(room=room, user=person, defaults={"added_by": user})
    return room
