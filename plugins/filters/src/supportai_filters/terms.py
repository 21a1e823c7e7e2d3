"""Whole-word matching of banned terms (competitor names, internal code names)."""

from __future__ import annotations

import re
from collections.abc import Iterable


class TermMatcher:
    """Case-insensitive, whole-word matcher of a fixed list of terms.

    Longest terms first, so "Acme Cloud" wins over "Acme". Word edges are
    ``(?<!\\w)`` / ``(?!\\w)`` rather than ``\\b`` so terms that begin or end
    with punctuation ("C++", ".NET") still match.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        cleaned = sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True)
        self.terms = tuple(cleaned)
        self._pattern = (
            re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(t) for t in cleaned) + r")(?!\w)", re.IGNORECASE
            )
            if cleaned
            else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def find(self, text: str) -> list[str]:
        return [m.group() for m in self._pattern.finditer(text)] if self._pattern else []

    def replace(self, text: str, replacement: str) -> str:
        return self._pattern.sub(replacement, text) if self._pattern else text
