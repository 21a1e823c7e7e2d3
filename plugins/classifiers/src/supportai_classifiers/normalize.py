# ruff: noqa: RUF001, RUF002 -- look-alike characters are the subject here
"""Undo the cheap disguises before any pattern is matched.

A pattern list is only as good as the text it sees: ``ignore previous
instructions`` slips past a regex as ``іgnоrе`` (Cyrillic), ``1gn0r3``,
``i g n o r e``, ``ｉｇｎｏｒｅ``, with zero-width spaces between letters, or as a
base64 blob. :func:`normalize` turns one message into a few *views* and records
which disguises it removed, because a disguise is itself evidence of intent:

``text``
    NFKC, invisible format characters removed, case folded, spaced-out letters
    joined, whitespace collapsed. Non-Latin patterns (Russian, Chinese,
    Japanese) match here.
``plain``
    ``text`` without diacritics. Support-topic keywords match here.
``folded``
    ``plain`` with look-alike letters mapped to Latin and digit-spelled words
    mapped back to letters when that yields a word of an attack pattern
    (``1gn0r3`` becomes ``ignore``; ``e1042`` and ``base64`` stay).
    Latin-script attack patterns match here.
``squashed``
    ``folded`` with every non-letter removed, built only when letters were
    spaced out or split by invisible characters, for the few long phrases that
    survive that (``ignoreallpreviousinstructions``).
``decoded``
    Normalised text of base64/hex blobs that decode to readable UTF-8, and the
    rot13 of the message when it mentions rot13: attacks smuggled as payloads.

Everything here is linear in the message length (no backtracking-prone
patterns), which keeps the whole classifier well under a millisecond.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

#: Invisible characters used to split words without changing how they look:
#: soft hyphen, zero-width space/joiners, bidi controls, word joiner, BOM,
#: variation selectors and Unicode tag characters.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
_FULLWIDTH = re.compile("[\uff01-\uff5e]")

#: Letters from other scripts that render like Latin ones. Only used for the
#: ``folded`` view, so a Russian sentence is still matched as Russian in ``text``.
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "һ": "h",
    "ӏ": "l",
    "ɡ": "g",
    "ո": "n",
    # Greek
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ϲ": "c",
    "ω": "w",
    # Latin look-alikes outside ASCII
    "ı": "i",
    "ȷ": "j",
    "ℓ": "l",
    "ß": "ss",
    "ø": "o",
    "đ": "d",
    "ł": "l",
}
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
_HOMOGLYPH_CHARS = frozenset(_HOMOGLYPHS) - {"ß", "ø", "đ", "ł"}
_HOMOGLYPH_ANY = re.compile("[" + "".join(sorted(_HOMOGLYPH_CHARS)) + "]")

_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
    }
)
#: A word mixing letters with leet digits/symbols: ``1gn0r3``, ``pr3v10u5``, ``d4n``.
_LEET_WORD = re.compile(r"(?<![\w@$!|])(?=[\w@$!|]*[a-z])(?=[\w@$!|]*[013457@$])[\w@$!|]{2,}")

#: Three or more single letters separated by one separator: ``i g n o r e``,
#: ``I.G.N.O.R.E``, ``r-e-v-e-a-l``. Two or more spaces inside a run mark a word gap.
_SPACED_RUN = re.compile(r"(?<![^\W\d_])(?:[^\W\d_](?:[ .\-_*·/|+~]|  +)){3,}[^\W\d_](?![^\W\d_])")
_SPACED_SEP = re.compile(r"[.\-_*·/|+~]| (?! )")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")
_NON_LETTERS = re.compile(r"[^a-z]+")

_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_BLOB = re.compile(r"\b(?:[0-9a-fA-F]{2}){10,}\b")
_ROT13_HINT = re.compile(r"\brot[\s-]?13\b|\bcaesar\b", re.IGNORECASE)
_CHAR_RUN = re.compile(r"(.)\1{99,}", re.DOTALL)
#: A long stretch of symbols (spaces allowed): where a punctuation-cycle flood would be.
_SYMBOL_STRETCH = re.compile(r"[^\w]{48,}")
#: A unit of 2-8 symbols, at least two distinct, repeated 6+ times: ``][][``, ``!?!?``,
#: ``((( )))``. One repeated character is left to ``_CHAR_RUN`` (``!!!!!`` is a mood).
_SYMBOL_CYCLE = re.compile(r"(.{2,8}?)\1{5,}", re.DOTALL)
_REPEATED_CHAR = re.compile(r"(.)\1{3,}", re.DOTALL)
_REPEATED_WORD = re.compile(r"(?<!\S)(\S+)(?: \1(?!\S)){3,}")

#: Flood: a message of at least this many words where one word is at least this share.
FLOOD_MIN_WORDS = 40
FLOOD_MIN_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Normalized:
    """The views of one message and the disguises removed from it."""

    original: str
    text: str
    plain: str
    folded: str
    squashed: str = ""
    decoded: tuple[Normalized, ...] = ()
    signals: tuple[str, ...] = field(default=())
    #: The words of ``folded`` and ``plain``, for the rules' anchor-word check.
    folded_words: frozenset[str] = frozenset()
    plain_words: frozenset[str] = frozenset()


def normalize(text: str, *, decode: bool = True, depth: int = 0) -> Normalized:
    """Build every view of ``text``; ``decode`` looks inside encoded payloads.

    ``depth`` bounds recursion through payloads nested in payloads.
    """
    signals: list[str] = []
    nfkc = unicodedata.normalize("NFKC", text)
    if _FULLWIDTH.search(text):
        signals.append("fullwidth")
    visible = _INVISIBLE.sub("", nfkc)
    if len(visible) != len(nfkc):
        signals.append("zero_width")

    lowered = visible.casefold()
    joined = _SPACED_RUN.sub(_join_spaced, lowered)
    if joined != lowered:
        signals.append("spaced_letters")
    flat = _WHITESPACE.sub(" ", joined).strip()
    flood = _is_flood(flat)
    if len(flat) > 200:
        # Keep three copies of any repeated word or character: the flood is
        # recorded, and matching thousands of copies would cost milliseconds.
        flat = _REPEATED_CHAR.sub(r"\1\1\1", _REPEATED_WORD.sub(r"\1 \1 \1", flat))

    plain = _strip_marks(flat)
    folded = plain
    if not plain.isascii() and _HOMOGLYPH_ANY.search(plain) and _mixes_scripts(plain):
        signals.append("homoglyph")
    if not plain.isascii():
        folded = folded.translate(_HOMOGLYPH_TABLE)
    leeted = _LEET_WORD.sub(_unleet, folded)
    if leeted != folded:
        signals.append("leetspeak")
    folded = leeted

    squashed = ""
    if "spaced_letters" in signals or "zero_width" in signals:
        squashed = _NON_LETTERS.sub("", folded)

    if flood:
        signals.append("flood")

    decoded: tuple[Normalized, ...] = ()
    if decode and depth < 2:
        payloads = _decode_payloads(visible)
        if payloads:
            decoded = tuple(normalize(p, decode=True, depth=depth + 1) for p, _ in payloads)
            signals.extend(sorted({kind for _, kind in payloads}))
    folded_words = frozenset(_WORD.findall(folded))
    return Normalized(
        original=text,
        text=flat,
        plain=plain,
        folded=folded,
        squashed=squashed,
        decoded=decoded,
        signals=tuple(signals),
        folded_words=folded_words,
        plain_words=folded_words if plain == folded else frozenset(_WORD.findall(plain)),
    )


def _join_spaced(match: re.Match[str]) -> str:
    """``i g n o r e  a l l`` -> ``ignore all``: two or more spaces were a word gap."""
    return " ".join(_SPACED_SEP.sub("", word) for word in re.split(r"  +", match.group(0)))


def _strip_marks(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def _mixes_scripts(text: str) -> bool:
    """True when one word holds both ASCII letters and look-alikes (``іgnоrе``)."""
    for word in text.split():
        has_ascii = any("a" <= ch <= "z" for ch in word)
        if has_ascii and any(ch in _HOMOGLYPH_CHARS for ch in word):
            return True
    # A whole word of look-alikes among Latin words is also a disguise.
    words = text.split()
    latin = sum(1 for w in words if w.isascii() and any(c.isalpha() for c in w))
    fake = sum(
        1
        for w in words
        if w
        and all(c in _HOMOGLYPH_CHARS or not c.isalpha() for c in w)
        and any(c in _HOMOGLYPH_CHARS for c in w)
    )
    return latin > 0 and fake > 0 and latin >= fake


def _unleet(match: re.Match[str]) -> str:
    """Spell a digit-written word with letters, but only into a word attacks use.

    Part numbers, hashes and versions also mix digits and letters (``e1042``,
    ``10mb``, ``base64``); they stay as they are. "1" stands for "i" or "l".
    """
    word = match.group(0)
    vocabulary = _vocabulary()
    for candidate in (word.translate(_LEET), word.replace("1", "l").translate(_LEET)):
        if candidate in vocabulary:
            return candidate
    return word


def _vocabulary() -> frozenset[str]:
    from supportai_classifiers.patterns import ATTACK_VOCABULARY

    return ATTACK_VOCABULARY


def _is_flood(text: str) -> bool:
    if _CHAR_RUN.search(text) or _symbol_cycle(text):
        return True
    words = text.split()
    if len(words) < FLOOD_MIN_WORDS:
        return False
    _, count = Counter(words).most_common(1)[0]
    return count / len(words) >= FLOOD_MIN_SHARE


def _symbol_cycle(text: str) -> bool:
    """A flood of a short repeated cycle of brackets or punctuation (spaces ignored)."""
    for stretch in _SYMBOL_STRETCH.finditer(text):
        squeezed = stretch.group().replace(" ", "")
        cycle = _SYMBOL_CYCLE.search(squeezed)
        if cycle is not None and len(set(cycle.group(1))) > 1 and len(cycle.group()) >= 36:
            return True
    return False


def _decode_payloads(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for match in _BASE64_BLOB.finditer(text):
        blob = match.group(0)
        if blob.isalpha() and (blob.islower() or blob.isupper()):
            continue  # a long plain word or a flood of one letter, not base64
        decoded = _b64decode(blob)
        if decoded is not None:
            found.append((decoded, "base64"))
    for match in _HEX_BLOB.finditer(text):
        decoded = _readable(_safe(binascii.unhexlify, match.group(0)))
        if decoded is not None:
            found.append((decoded, "hex"))
    if _ROT13_HINT.search(text):
        found.append((codecs.decode(text, "rot13"), "rot13"))
    return found


def _b64decode(blob: str) -> str | None:
    padded = blob.rstrip("=")
    padded += "=" * (-len(padded) % 4)
    if "-" in padded or "_" in padded:
        return _readable(_safe(base64.urlsafe_b64decode, padded))
    return _readable(_safe(_strict_b64decode, padded))


def _strict_b64decode(blob: str) -> bytes:
    return base64.b64decode(blob, validate=True)


def _safe(decode: Callable[[str], bytes], blob: str) -> bytes | None:
    try:
        return decode(blob)
    except (ValueError, binascii.Error):
        return None


def _readable(raw: bytes | None) -> str | None:
    """Decoded bytes count as a payload only if they are mostly printable text."""
    if not raw or len(raw) < 8:
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\n\t")
    letters = sum(1 for ch in decoded if ch.isalpha())
    if printable / len(decoded) < 0.95 or letters / len(decoded) < 0.5:
        return None
    return decoded
