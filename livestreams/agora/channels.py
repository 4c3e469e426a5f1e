"""Agora channel names made from stream titles (spec §5).

Agora requires a channel name of fewer than 64 bytes: a new name has at most
`MAX_CHANNEL_BYTES` (63). Names made before this limit was right (up to 64 bytes)
are stored as they are and keep working: nothing reads them back through here."""

import secrets

from django.utils.text import slugify

MAX_CHANNEL_BYTES = 63
SUFFIX_HEX_DIGITS = 4
FALLBACK_BASE = "stream"

_TURKISH = str.maketrans(
    {
        "ç": "c", "Ç": "c",
        "ğ": "g", "Ğ": "g",
        "ı": "i", "İ": "i",
        "ö": "o", "Ö": "o",
        "ş": "s", "Ş": "s",
        "ü": "u", "Ü": "u",
    }
)  # fmt: skip


def channel_base(title: str) -> str:
    """The title transliterated, ASCII only (one byte a character), slugified and
    cut to leave room for the dash and the suffix."""
    slug = slugify(title.translate(_TURKISH))  # NFKD, drops what is not ASCII, lower case
    room = MAX_CHANNEL_BYTES - 1 - SUFFIX_HEX_DIGITS
    slug = slug[:room].strip("-_")
    return slug or FALLBACK_BASE


def new_channel_name(title: str) -> str:
    """`<base>-<4 random hex digits>`; the caller makes sure it is unique."""
    return f"{channel_base(title)}-{secrets.token_hex(SUFFIX_HEX_DIGITS // 2)}"
