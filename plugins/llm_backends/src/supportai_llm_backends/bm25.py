"""A small Okapi BM25 index, written for a help center of tens to hundreds of articles.

Why our own instead of ``bm25s`` or ``rank-bm25``: those bring numpy/scipy (tens
of megabytes, slow imports) to score a few hundred short documents, and ``bm25s``
tokenises with its own rules, so passages and articles would be scored with two
different vocabularies. A dict-of-postings index over pre-computed length norms
answers a query in tens of microseconds here, and the same tokeniser and IDF table
rank whole articles and their paragraphs.

Scoring is classic Okapi BM25 with Lucene's always-positive IDF,
``ln(1 + (N - df + 0.5) / (df + 0.5))``; a query word counts once however often
it is repeated, since users repeat words for emphasis, not for weight.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

# English function words and support-chat filler ("how do I ...", "please help",
# "I tried ... but it never came").
# Product words ("account", "team", "project") stay: they carry meaning in some
# articles, and IDF already discounts the ones that are everywhere.
_STOP_WORDS_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can cannot could did do does doing done down during each
    either else ever every few for from further get gets getting got had has have having he her
    here hers herself him himself his how i if in into is it its itself just let lets like me
    might more most much must my myself need needs no nor not now of off on once one only or
    other ought our ours ourselves out over own please same shall she should so some such than
    thank thanks that the their theirs them themselves then there these they this those
    through to too under until up upon us use using very want wants was way we were what when
    where which while who whom why will with within without would yes yet you your yours
    yourself yourselves hi hello hey help
    already always anything anyone came come comes coming know knows never say says said
    something someone still tell tells tried try trying really actually okay ok many lot lots
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

# Letters and digits of any script ("réinitialiser", "Passwort"); "_" and punctuation split.
_WORD = re.compile(r"[^\W_]+")


def normalize(word: str) -> str:
    """Fold the commonest English inflections: plurals, ``-ing``, ``-ed`` and a final ``-e``.

    Deliberately not a stemmer: a full stemmer (Porter, Snowball) conflates words
    that support articles keep apart (``organization``/``organ``,
    ``general``/``generate``) and makes the index hard to reason about. These
    four rules catch what actually separates questions from titles in a help
    center: ``invoices``/``invoice``, ``changing``/``change``,
    ``deleted``/``delete``, ``billing``/``bill``. Both the articles and the query
    go through the same rules, so only consistency matters, not the spelling of
    the result (``change`` becomes ``chang``).
    """
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        word = word[:-2]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # running -> runn -> run; keep "bill", "pass", "buzz"
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-case runs of letters and digits, stop words removed, inflections folded.

    Apostrophes split words (``don't`` -> ``don``, ``t``); the one-letter
    leftovers are dropped with the other one-letter tokens.
    """
    return [
        normalize(word)
        for word in _WORD.findall(text.lower())
        if len(word) > 1 and word not in STOP_WORDS
    ]


class BM25Index:
    """Okapi BM25 over documents given as token lists; immutable once built.

    ``idf_from`` borrows another index's IDF table and ``average_length`` fixes
    the length norm: the passages of one article are too few for their own
    statistics to mean anything, so they are scored with the whole help
    center's idea of how rare a word is and how long a passage is.
    """

    __slots__ = ("_norm", "_unknown_idf", "b", "doc_count", "idf", "k1", "postings")

    def __init__(
        self,
        documents: Sequence[Sequence[str]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        idf_from: BM25Index | None = None,
        average_length: float | None = None,
    ) -> None:
        self.k1 = k1
        self.b = b
        self.doc_count = len(documents)
        lengths = [len(doc) for doc in documents]
        if average_length is None:
            average_length = (sum(lengths) / len(lengths)) if lengths else 0.0
        # Per-document denominator part, computed once: k1 * (1 - b + b * len / avg).
        self._norm = [
            k1 * (1 - b + b * (length / average_length if average_length else 0.0))
            for length in lengths
        ]
        postings: dict[str, list[tuple[int, int]]] = {}
        for doc_id, doc in enumerate(documents):
            for term, tf in Counter(doc).items():
                postings.setdefault(term, []).append((doc_id, tf))
        self.postings = postings
        self.idf: dict[str, float]
        if idf_from is not None:
            self.idf = {term: idf_from.term_idf(term) for term in postings}
            self._unknown_idf = idf_from.term_idf("")
        else:
            self._unknown_idf = math.log(1 + (self.doc_count + 0.5) / 0.5)
            self.idf = {
                term: math.log(1 + (self.doc_count - len(plist) + 0.5) / (len(plist) + 0.5))
                for term, plist in postings.items()
            }

    def term_idf(self, term: str) -> float:
        """IDF of a term; an unknown term gets the IDF of a word seen in no document."""
        return self.idf.get(term, self._unknown_idf)

    def scores(self, query_terms: Iterable[str]) -> dict[int, float]:
        """BM25 score of every document sharing at least one term with the query."""
        k1_plus_1 = self.k1 + 1
        norm = self._norm
        result: dict[int, float] = {}
        for term in set(query_terms):
            plist = self.postings.get(term)
            if plist is None:
                continue
            idf = self.idf[term]
            for doc_id, tf in plist:
                result[doc_id] = result.get(doc_id, 0.0) + idf * tf * k1_plus_1 / (
                    tf + norm[doc_id]
                )
        return result

    def search(self, query_terms: Iterable[str], limit: int) -> list[tuple[int, float]]:
        """The ``limit`` best ``(doc_id, score)`` pairs, best first; ties keep index order."""
        scored = self.scores(query_terms)
        if limit <= 0 or not scored:
            return []
        return heapq.nsmallest(limit, scored.items(), key=lambda item: (-item[1], item[0]))
