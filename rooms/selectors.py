"""Reads of rooms, and the one access rule: a public room is everyone's, a private room its
members' alone. Every path that reads, subscribes to or posts in a room finds it through
`room_for`, so a private room you are not in answers exactly as a room that doesn't exist."""
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Q, Subquery

from chatsite import sql
from chatsite.errors import NotFound
from rooms.models import DIRECT_ROOM_PREFIX, ROOM_ID_PATTERN, Room, RoomMember


def _no_such_room(room_id):
    return NotFound(f"There is no room {room_id!r}.")


def find_room(room_id):
    """The room with this id, or NotFound (an id that can't be a room's is not looked up).
    No access check: for the pipeline's own stages and moderators; readers use `room_for`."""
    if not isinstance(room_id, str) or not ROOM_ID_PATTERN.match(room_id):
        raise _no_such_room(room_id)
    room = sql.by_pk(Room, room_id)
    if room is None:
        raise _no_such_room(room_id)
    return room


def is_member(user, room):
    if getattr(user, "pk", None) is None:
        return False
    return RoomMember.objects.filter(room_id=room.pk, user_id=user.pk).exists()


def can_see(user, room):
    """Whether `user` may see, read, subscribe to and post in `room` (locks aside)."""
    return not room.is_private or is_member(user, room)


def room_for(user, room_id):
    """The room `user` may use, or NotFound: the same error, word for word, for a private
    room they are not in as for no room at all, so its existence doesn't leak."""
    room = find_room(room_id)
    if not can_see(user, room):
        raise _no_such_room(room_id)
    return room


def can_add_members(user, room):
    """Whether `user` may add members to `room`: a private room (not a direct one) that they
    created, or any such room for a moderator."""
    if not room.is_private or room.is_direct:
        return False
    return bool(user.is_staff) or (room.created_by_id is not None and room.created_by_id == user.pk)


def visible_rooms(user):
    """The rooms `user` sees, by name: every public room and the private rooms they are in.
    Each carries `direct_with`: for a direct room, the other member's username."""
    mine = RoomMember.objects.filter(user_id=user.pk).values("room_id")
    other_member = (
        RoomMember.objects.filter(room_id=OuterRef("pk")).exclude(user_id=user.pk).values("user__username")[:1]
    )
    return (
        Room.objects.filter(Q(is_private=False) | Q(pk__in=mine))
        .annotate(direct_with=Subquery(other_member))
        .order_by("name")
    )


def member_names(room):
    """The usernames of a private room's members, in the order they joined."""
    return list(RoomMember.objects.filter(room_id=room.pk).values_list("user__username", flat=True))


def direct_room_id(user_id, other_id):
    """The id of two people's direct room: `dm-<smaller user id>-<larger user id>`."""
    low, high = sorted((int(user_id), int(other_id)))
    return f"{DIRECT_ROOM_PREFIX}{low}-{high}"


def direct_room_with(user, username):
    """The direct room of `user` and the active user `username`, if it was opened already."""
    other = get_user_model().objects.filter(username__iexact=username, is_active=True).values_list("pk", flat=True).first()
    if other is None or other == user.pk:
        return None
    return Room.objects.filter(pk=direct_room_id(user.pk, other), is_direct=True, members__user=user).first()
