from chatsite.errors import NotFound
from rooms.models import ROOM_ID_PATTERN, Room


def find_room(room_id):
    """The room with this id, or NotFound (an id that can't be a room's is not looked up)."""
    if not isinstance(room_id, str) or not ROOM_ID_PATTERN.match(room_id):
        raise NotFound(f"There is no room {room_id!r}.")
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise NotFound(f"There is no room {room_id!r}.")
    return room
