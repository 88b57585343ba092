"""Text from outside, checked once at the edge, for every field a person types.

PostgreSQL can't store NUL; a lone surrogate can't be encoded at all; text made only of
invisible characters (zero-width spaces, joiners, the Hangul filler) looks empty; and
direction overrides make a name read differently from what it is. Each is refused with
BAD_USER_INPUT before anything is stored, rather than failing in a stage later.
"""
import unicodedata

from chatsite.errors import BadUserInput

# Characters that take no space: format characters (category Cf: zero-width space and
# joiners, the byte order mark, direction marks and overrides, the word joiner, the soft
# hyphen...) and the few "letters" that render as nothing.
BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0"}
# Direction overrides and isolates: they reorder what follows them on screen.
BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def is_invisible(char):
    return char.isspace() or unicodedata.category(char) == "Cf" or char in BLANK_LETTERS


def clean_text(value, *, field, multiline=False, allow_bidi=True):
    """`value` if it is text a person can read and we can store; BadUserInput otherwise."""
    if not isinstance(value, str):
        raise BadUserInput(f"{field} must be text.")
    for char in value:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise BadUserInput(f"{field} has an invalid character (a lone surrogate).")
        if code < 0x20 and not (multiline and char in "\n\t") or code == 0x7F:
            raise BadUserInput(f"{field} can't contain control characters.")
        if not allow_bidi and char in BIDI_CONTROLS:
            raise BadUserInput(f"{field} can't contain direction overrides.")
    return value


def has_visible_text(value):
    return any(not is_invisible(char) for char in value)
