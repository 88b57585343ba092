"""Post ids as clients see them: opaque, so they tell nothing of how much is posted elsewhere.

Rows are numbered by one sequence for every room, private ones included; shown as they are,
the gap between two posts of a public room would count what was posted everywhere else in
between. Clients get the number through a keyed permutation of 64-bit numbers (a four-round
Feistel network whose round function is HMAC-SHA256 under a key derived from SECRET_KEY),
written in base 36: the same post always has the same id, every id names one post, and
without the key neither order nor gaps can be read from them. A post's place in its room is
its `seq`, which is public by design.

Changing SECRET_KEY changes every post's id (the posts, their order and `seq` stay).
"""
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings

ROUNDS = 4
HALF = 32
MASK = (1 << HALF) - 1
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_LENGTH = 13  # 36**13 > 2**64


@lru_cache(maxsize=4)
def _round_keys(secret):
    base = hmac.new(secret.encode(), b"chat post ids", hashlib.sha256).digest()
    return tuple(hmac.new(base, bytes([n]), hashlib.sha256).digest() for n in range(ROUNDS))


def _f(key, half):
    return int.from_bytes(hmac.new(key, half.to_bytes(4, "big"), hashlib.sha256).digest()[:4], "big")


def _permute(number, keys):
    left, right = number >> HALF, number & MASK
    for key in keys:
        left, right = right, left ^ _f(key, right)
    return (left << HALF) | right


def _unpermute(number, keys):
    left, right = number >> HALF, number & MASK
    for key in reversed(keys):
        left, right = right ^ _f(key, left), left
    return (left << HALF) | right


def _base36(number):
    digits = []
    while True:
        number, digit = divmod(number, 36)
        digits.append(DIGITS[digit])
        if not number:
            return "".join(reversed(digits))


def public_post_id(pk):
    """The id clients see for the post whose row number is `pk`."""
    return _base36(_permute(int(pk), _round_keys(settings.SECRET_KEY)))


def post_pk(public_id):
    """The row number of the post a client's id names, or None if it names none."""
    if not isinstance(public_id, str) or not 0 < len(public_id) <= MAX_LENGTH:
        return None
    try:
        number = int(public_id, 36)
    except ValueError:
        return None
    if number >> (2 * HALF) or _base36(number) != public_id:  # one spelling per id
        return None
    pk = _unpermute(number, _round_keys(settings.SECRET_KEY))
    return pk if 0 < pk < (1 << 63) else None
