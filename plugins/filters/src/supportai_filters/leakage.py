"""Detect an answer that reproduces the system prompt (prompt extraction).

The test is verbatim overlap: ``n`` consecutive words of the system prompt
appearing in the answer, compared case-insensitively on word characters only
(so re-punctuation or re-casing does not hide a copy). Paraphrase is not
caught; a copy is, which is what "repeat your instructions" attacks produce.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@lru_cache(maxsize=128)
def prompt_ngrams(prompt: str, n: int) -> frozenset[tuple[str, ...]]:
    """Every ``n``-word window of the prompt; cached because prompts repeat per tenant."""
    tokens = words(prompt)
    return frozenset(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


class LeakDetector:
    """Per-answer detector: ``leaks(sentence, previous)`` with the words before it.

    Passing the last ``n - 1`` words of what was already checked catches a
    copy that straddles two sentences.
    """

    def __init__(self, prompt: str, n: int) -> None:
        self.n = n
        self._ngrams = prompt_ngrams(prompt, n) if prompt else frozenset()

    @property
    def active(self) -> bool:
        return bool(self._ngrams)

    def leaks(self, text: str, previous: Sequence[str] = ()) -> bool:
        if not self._ngrams:
            return False
        tokens = [*previous[-(self.n - 1) :], *words(text)] if self.n > 1 else words(text)
        n = self.n
        return any(tuple(tokens[i : i + n]) in self._ngrams for i in range(len(tokens) - n + 1))
