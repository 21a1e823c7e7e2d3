"""Approximate token counts, for backends that have no tokenizer to ask.

One token is about four characters of English text for the BPE vocabularies
of current chat models (and about 1.3 tokens per word, which agrees for
average word lengths). We round *up* so that an approximation never
under-charges a cost reservation.
"""

from __future__ import annotations

from collections.abc import Iterable

CHARS_PER_TOKEN = 4


def approx_tokens(text: str) -> int:
    """``ceil(len(text) / 4)``; an empty text costs nothing."""
    return -(-len(text) // CHARS_PER_TOKEN)


def approx_tokens_all(texts: Iterable[str]) -> int:
    return sum(approx_tokens(text) for text in texts)
