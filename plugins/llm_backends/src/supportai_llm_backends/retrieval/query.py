"""Clean a user's question before it is searched.

Personal data and identifiers carry no meaning for retrieval but do carry
weight: a card number is a "rare word" to BM25 and noise to an embedding, and a
question like "my card 4111 … was charged twice, email me at …" used to find
nothing. They are removed (and never sent to a remote embedder either).
"""

from __future__ import annotations

import re

_PATTERNS = (
    re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),  # e-mail addresses
    re.compile(r"\bhttps?://\S+", re.IGNORECASE),  # links
    re.compile(  # UUIDs
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE
    ),
    # ids with a letter prefix: INV-2024-0042, T#12345, cus_K1x9aB3dE (before the numbers,
    # so the prefix goes with them)
    re.compile(r"\b[A-Za-z]{1,6}[-_#]\d[\d-]{2,}\b"),
    re.compile(r"\b[a-z]{2,6}_[A-Za-z0-9]{6,}\b"),
    # card, phone, account numbers, also where one ends a sentence
    re.compile(r"(?<![\w.])\+?\d(?:[ \-.()]*\d){7,}(?!\w|\.\d)"),
    re.compile(r"\b(?=\w*\d)(?=\w*[a-zA-Z])\w{8,}\b"),  # long tokens: hashes, keys
)
_SPACES = re.compile(r"\s+")


def clean_query(text: str) -> str:
    """``text`` without e-mail addresses, card/phone/account numbers, links and ids."""
    for pattern in _PATTERNS:
        text = pattern.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
