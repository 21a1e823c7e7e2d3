"""Correcting a question's misspelt words to the help center's own words.

A typo costs a question both of its rankers: BM25 never meets "refnud", and an
embedder cuts it into word pieces that mean nothing. On the example question
set, one typo in each question moved the right article out of first place for
one question in eight with ``minilm`` and one in four with ``wordllama``
(``docs/knowledge.md``, "Typos"; decision 0022).

Only words the help center itself uses are offered, so a correction can only
move a question *towards* the articles' vocabulary, never invent a subject:

* a word is left alone when it is known: the help center uses it, or a word of
  the same stem (BM25 already matches "invoiced" with "invoice"), or it is an
  English word (the 21,745 whole words of the WordPiece vocabulary shipped with
  the ``minilm`` model, Apache 2.0);
* a word shorter than :data:`MIN_LENGTH` and a word with a digit are left alone
  too. Names are not told apart: a name the help center does not use is rarely
  one letter off one it does, and "Busness" for the Business plan is a typo;
* an unknown word becomes the help center's word one edit away (a letter
  dropped, added, changed, or two neighbours swapped), the one more sections use
  if several are (ties: the alphabetically first, so a question is corrected the
  same way on every worker).

One edit catches most typing slips and keeps false corrections rare; two would
turn many unknown words into some word of a large help center. Candidates are
the unknown word's one-edit variants looked up in the vocabulary (a few hundred
set look-ups, 50-100 µs a word, and only unknown words pay it): nothing is held
beyond the vocabulary itself, where an index of every word's deletions would
grow a large help center's memory several times over.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

#: Words shorter than this are never corrected, nor offered: one edit away from a
#: three-letter word is half the dictionary.
MIN_LENGTH = 4

#: A help center whose words use more distinct letters than this (ideographs) gets no
#: corrections: a word's variants grow with its alphabet (2 x length x letters), and
#: one letter off in such a script is rarely a typo of another word. Latin, Cyrillic or
#: Greek with their accents stay well under it.
MAX_ALPHABET = 100

#: Longer "words" are not typed words (pasted identifiers, runs of another script).
MAX_LENGTH = 30

#: The shipped WordPiece vocabulary (``retrieval/minilm_data``), whose whole words
#: are the English list (it ships with the plugin whatever the extras).
VOCABULARY_FILE = Path(__file__).resolve().parent / "minilm_data" / "tokenizer.json"

_LETTERS = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"[^\W_]+")


@functools.cache
def english_words() -> frozenset[str]:
    """Whole, alphabetic words of the shipped WordPiece vocabulary (read once)."""
    with VOCABULARY_FILE.open(encoding="utf-8") as file:
        vocabulary: Mapping[str, int] = json.load(file)["model"]["vocab"]
    return frozenset(word for word in vocabulary if word.isascii() and word.isalpha())


class Speller:
    """The help center's vocabulary, and how to move a question's typos onto it."""

    def __init__(self, texts: Iterable[str], stem_known: Callable[[str], bool]) -> None:
        """``texts``: what the help center says (one text per section); ``stem_known``:
        whether BM25 knows a word's stem (a word of the same stem is not a typo)."""
        #: In how many texts each (lower-cased) word occurs.
        self.frequency: Counter[str] = Counter()
        for text in texts:
            self.frequency.update(set(_LETTERS.findall(text.lower())))
        #: The letters a correction may add or change: the help center's own (accents too).
        self.alphabet = "".join(sorted({letter for word in self.frequency for letter in word}))
        self._stem_known = stem_known
        self._english = english_words()

    def known(self, word: str) -> bool:
        """Whether ``word`` (lower case) is a word, not a typo."""
        return word in self.frequency or word in self._english or self._stem_known(word)

    def suggest(self, word: str) -> str | None:
        """The help center's word ``word`` (lower case) is a typo of, or ``None``."""
        if not MIN_LENGTH <= len(word) <= MAX_LENGTH or len(self.alphabet) > MAX_ALPHABET:
            return None
        if not word.isalpha() or self.known(word):
            return None
        candidates = [
            candidate
            for candidate in one_edit_variants(word, self.alphabet) & self.frequency.keys()
            if len(candidate) >= MIN_LENGTH
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda candidate: (-self.frequency[candidate], candidate))

    def correct(self, text: str) -> str:
        """``text`` with its misspelt words replaced (everything else untouched)."""
        parts: list[str] = []
        last = 0
        for match in _TOKEN.finditer(text):
            suggestion = self.suggest(match.group().lower())
            if suggestion is not None:
                parts.extend((text[last : match.start()], suggestion))
                last = match.end()
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)


def one_edit_variants(word: str, alphabet: str) -> set[str]:
    """Every string one letter dropped, swapped with its neighbour, changed or added away
    from ``word`` (letters from ``alphabet``): the optimal string alignment distance 1."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    variants = {head + tail[1:] for head, tail in splits if tail}
    variants.update(head + tail[1] + tail[0] + tail[2:] for head, tail in splits if len(tail) > 1)
    variants.update(head + c + tail[1:] for head, tail in splits if tail for c in alphabet)
    variants.update(head + c + tail for head, tail in splits for c in alphabet)
    variants.discard(word)
    return variants
