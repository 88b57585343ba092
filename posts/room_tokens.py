"""The signed room token a bot command carries: the bot never chooses the room it posts in."""
from datetime import datetime, timezone

import jwt
from django.conf import settings

AUDIENCE = "chat:room-token"
ALGORITHM = "HS256"


class InvalidRoomToken(Exception):
    pass


def issue_room_token(*, request_id, room_id, user_id, now=None):
    issued = now or datetime.now(timezone.utc)
    claims = {
        "aud": AUDIENCE,
        "rid": str(request_id),
        "room": room_id,
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + settings.ROOM_TOKEN_LIFETIME,
    }
    return jwt.encode(claims, settings.SECRET_KEY, algorithm=ALGORITHM)


def verify_room_token(token):
    """The claims {request_id, room_id, user_id} of a genuine, unexpired token."""
    try:
        claims = jwt.decode(
            token,
            settings.SECRET_KEY,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "aud", "rid", "room", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidRoomToken(str(exc)) from exc
    return {"request_id": claims["rid"], "room_id": claims["room"], "user_id": claims["sub"]}
