"""Tracking codes: what a resident writes down to follow an item.

12 symbols from an alphabet without look-alikes (no 0/O, 1/I/L), drawn by `secrets`: about 59 bits, so codes can
be neither guessed nor enumerated. Shown in groups of four; typed back in any case, with or without separators, and
in full-width characters (a Chinese input method in its 全角 mode types ＡＢＣＤ－２３４５).
"""

from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 12
_SEPARATORS = re.compile(r"[\s\-_·.—–。、]")
_VALID = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


def new_tracking_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise_tracking_code(typed: str) -> str | None:
    """The stored form of what someone typed, or None if it cannot be a code."""
    raw = _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed)).upper()
    if not _VALID.match(raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))
