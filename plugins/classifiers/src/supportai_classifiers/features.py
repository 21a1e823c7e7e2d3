"""Features of the ``injection_model`` classifier: hashed words, word pairs and characters.

One function turns a message into the set of weight indices it touches; the
training script (``training/train.py``) imports this very function, so what the
model learnt and what it sees at run time cannot drift apart.

Why these features:

* **words and word pairs** carry the phrasing ("ignore previous", "your
  instructions", "verification passed");
* **character 4-grams** over the whole text (spaces and punctuation included)
  carry forged delimiters (``###``, ``[/adm``, ``<|im``) and survive typos and
  inflections that a word feature misses;
* **shape features** name what no n-gram sees alone: a long run of a short
  repeated punctuation cycle, the share of non-alphanumeric characters, the
  length bucket.

Hashing (CRC-32, stable across processes and platforms, unlike :func:`hash`)
maps every feature to one of :data:`DIMENSIONS` weights, so the model is a flat
array and unknown words cost nothing. The text is cut to :data:`MAX_CHARS`
(head and tail) so the cost per message is bounded.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from itertools import pairwise, repeat

#: Number of hashed weights (a power of two, so an index is a bit mask).
DIMENSIONS = 1 << 18
MASK = DIMENSIONS - 1
#: Characters looked at: the first HEAD and the last TAIL (attacks open or close a message).
HEAD = 640
TAIL = 256
MAX_CHARS = HEAD + TAIL
CHAR_N = 4

_INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"),
    None,
)
_SPACES = re.compile(r"[^\S\n]+")
_LINES = re.compile(r" ?\n[\s]*")
_TOKENS = re.compile(r"[^\W_]+|[^\w\s]")
#: A run of 12+ non-alphanumeric, non-space characters (spaces allowed between them).
_SYMBOL_RUN = re.compile(r"(?:[^\w\s]\s*){12,}")
#: The same 1-6 character unit repeated at least 8 times: floods of ``][`` or ``!?``.
_CYCLE = re.compile(r"(.{1,6}?)\1{7,}", re.DOTALL)
_SYMBOL = re.compile(r"[^\w\s]")
_crc32 = zlib.crc32
#: CRC start values, one per feature family.
_WORD, _PAIR, _CHARS, _SHAPE = 1, 2, 3, 4


def prepare(text: str) -> str:
    """Fold the text the way the model saw its training data: NFKC, no invisibles, lower case."""
    if len(text) > MAX_CHARS:
        text = text[:HEAD] + " \u2026 " + text[-TAIL:]
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()
    return _LINES.sub("\n", _SPACES.sub(" ", text)).strip()


def indices(text: str) -> frozenset[int]:
    """The distinct weight indices ``text`` touches.

    Each family of features hashes with its own CRC start value, so the word
    ``ab`` and the character gram ``ab`` land on different weights. The loops
    are ``map`` over C functions: this runs on every message.
    """
    prepared = prepare(text)
    tokens = [token.encode("utf-8", "surrogatepass") for token in _TOKENS.findall(prepared)]
    padded = f" {prepared} ".encode("utf-8", "surrogatepass")
    hashed = set(map(_crc32, tokens, repeat(_WORD)))
    hashed.update(map(_crc32, map(b" ".join, pairwise(tokens)), repeat(_PAIR)))
    grams = zip(padded, padded[1:], padded[2:], padded[3:], strict=False)
    hashed.update(map(_crc32, map(bytes, grams), repeat(_CHARS)))
    hashed.update(_crc32(name.encode(), _SHAPE) for name in shape(prepared, len(tokens)))
    return frozenset(value & MASK for value in hashed)


def shape(prepared: str, tokens: int) -> list[str]:
    """What no n-gram sees alone: length, share of symbols, runs of a repeated symbol cycle."""
    found = [f"len:{min(len(prepared).bit_length(), 12)}", f"tok:{min(tokens, 64) // 8}"]
    if not prepared:
        return found
    symbols = len(_SYMBOL.findall(prepared))
    found.append(f"sym:{min(10 * symbols // len(prepared), 9)}")
    run = _SYMBOL_RUN.search(prepared) if symbols >= 12 else None
    if run is not None:
        found.append("shape:symbol_run")
        squeezed = run.group().replace(" ", "")
        if len(squeezed) >= 40:
            found.append("shape:long_symbol_run")
        if _CYCLE.search(squeezed) is not None:
            found.append("shape:cycle")
    if prepared.count("\n") >= 3 or prepared.count("#") >= 6:
        found.append("shape:blocks")
    return found
