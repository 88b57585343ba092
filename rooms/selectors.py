from chatsite.errors import NotFound
from rooms.models import Room


def find_room(room_id):
    """The room with this id, or NotFound."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise NotFound(f"There is no room {room_id!r}.")
    return room
