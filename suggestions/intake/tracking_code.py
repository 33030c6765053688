"""Tracking codes: what a resident writes down to follow an item.

12 symbols from an alphabet without look-alikes (no 0/O, 1/I/L), drawn by `secrets`: about 59 bits, so codes can
be neither guessed nor enumerated. Read out over the phone, some of the symbols left are heard or written down as
others (`READ_ALIKE`): an operator's or a grid worker's look-up finds the code a reading can only be (`reading_key`),
the public's only the code as it is. Shown in groups of four; typed back in any case, with or without separators, and
in full-width characters (a Chinese input method in its 全角 mode types ＡＢＣＤ－２３４５), and pasted with the
words around it (查询码：ABCD-EFGH-JKMN，请帮忙查一下), as residents copy it out of a chat message or a note.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 12
# Separators residents type, and those a Chinese input method puts in: a pinyin apostrophe (zmb5'5rkz), a comma.
_SEPARATOR = r"[\s\-_·.—–。、,'’]"
_SEPARATORS = re.compile(_SEPARATOR)
_VALID = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")
# A code among other words: three groups of four, separated or not, never twelve symbols cut out of a longer run of
# letters and digits (a phone or ID number typed in the wrong box).
_GROUP = rf"([{ALPHABET}]{{4}})"
_WITHIN = re.compile(rf"(?<![0-9A-Z]){_GROUP}{_SEPARATOR}*{_GROUP}{_SEPARATOR}*{_GROUP}(?![0-9A-Z])")


def new_tracking_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise_tracking_code(typed: str) -> str | None:
    """The stored form of what someone typed, or None if it cannot be a code (or holds two)."""
    text = unicodedata.normalize("NFKC", typed).upper()
    raw = _SEPARATORS.sub("", text)
    if not _VALID.match(raw):
        found = {"".join(match.groups()) for match in _WITHIN.finditer(text)}
        if len(found) != 1:
            return None
        raw = found.pop()
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


# Symbols a listener may write down for one another: letters that Chinese speakers name alike (B bi / P pi, D di /
# T ti, M / N, G ji / J jie), a letter named as a Mandarin digit sounds (Q qiu / 9 jiu), and symbols that look
# alike written down (2/Z, 5/S, 8/B, 6/G, U/V). Each group folds to its first symbol. A code's reading keeps
# 12 × log2(21) ≈ 53 bits; only token holders' look-ups read it (`find_tracking`), so what the public may guess at stays
# one code a guess.
READ_ALIKE = ("2Z", "5S", "8BP", "6GJ", "UV", "DT", "MN", "9Q")
FOLDED = "".join(group[1:] for group in READ_ALIKE)
FOLDED_TO = "".join(group[0] * (len(group) - 1) for group in READ_ALIKE)
_FOLD = str.maketrans(FOLDED, FOLDED_TO)
# Heard, not seen: "yi" names the letter E, and is also 1, which no code holds.
_HEARD = str.maketrans({"1": "E", "１": "E"})


def reading_key(typed: str) -> str | None:
    """What a code read out may be, each group of symbols that read alike folded to one; None if it is no code."""
    code = normalise_tracking_code(typed.translate(_HEARD))
    return None if code is None else code.replace("-", "").translate(_FOLD)


_LOOK_ALIKES = re.compile(r"[01OIL]")
_SYMBOLS = re.compile(r"[0-9A-Z]{12}")


def has_look_alikes(typed: str) -> bool:
    """Whether what was typed is twelve letters and digits that would be a code but for a character no code holds
    (0, 1, O, I, L): a D or a Q read as a 0, a 7 written as a 1."""
    raw = _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed)).upper()
    return bool(_SYMBOLS.fullmatch(raw) and _LOOK_ALIKES.search(raw))
