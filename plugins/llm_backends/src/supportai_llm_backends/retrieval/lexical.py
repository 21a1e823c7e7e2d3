"""Lexical ranking: stemmed BM25 over chunks, on ``bm25s`` and ``PyStemmer``.

Stemming is what lets "refunded" meet "refund" and "invoices" meet "invoice";
the stop-word list keeps "how do I" from matching every article. ``bm25s``
keeps the index as a sparse matrix, so a query costs a few vector additions
however many chunks there are.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

# bm25s sets its logger to DEBUG on import; let the host's logging configuration decide.
logging.getLogger("bm25s").setLevel(logging.NOTSET)

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?", re.UNICODE)
#: Lucene's English list plus the pronouns and question words every question has.
_EXTRA_STOPWORDS = """
i me my mine we us our ours you your yours he she him her his its them
do does did doing done can could would should shall may might must am been being
have has had having what which who whom whose when where why how
whatever whichever whoever whenever wherever however
so too very just any some all from about up out here please
want need get got make take use know like way thing things someone something anything
"""
#: Contractions users type without the apostrophe ("dont", "im", "whats").
_BARE_CONTRACTIONS = """
dont cant wont isnt arent wasnt werent doesnt didnt havent hasnt hadnt
couldnt wouldnt shouldnt im ive youre youve theyre weve whats thats theres
"""
STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(_EXTRA_STOPWORDS.split())
_TOKEN_STOPWORDS = STOPWORDS | frozenset(_BARE_CONTRACTIONS.split())
#: What follows the apostrophe of a stop word's contraction ("what's", "I'm", "we're").
_CLITICS = frozenset({"s", "m", "re", "ve", "ll", "d"})
_stemmer_local = threading.local()


def _stemmer() -> Any:
    # A PyStemmer object is not safe to share between threads.
    stemmer = getattr(_stemmer_local, "stemmer", None)
    if stemmer is None:
        stemmer = _stemmer_local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def is_stop_word(word: str) -> bool:
    """Whether a lower-cased word says nothing about a subject: a stop word, a
    contraction of one ("what's", "we're") or a negated auxiliary ("can't", "doesn't"),
    with or without its apostrophe.

    Left in, the stemmer made "what's" a "what" and "can't" a "can't" that no article
    uses, so they weighed the most in the coverage of any question that had them
    (:meth:`LexicalIndex.coverages`).
    """
    if word in _TOKEN_STOPWORDS:
        return True
    head, apostrophe, tail = word.partition("'")
    if not apostrophe:
        return False
    return (tail == "t" and head.endswith("n")) or (tail in _CLITICS and head in STOPWORDS)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed words of ``text``."""
    words = [w for w in _WORD.findall(text.lower().replace("\u2019", "'")) if not is_stop_word(w)]
    # A local view, so another thread clearing the shared cache cannot lose a word.
    known = {word: _stems.get(word) for word in set(words)}
    missing = [word for word, stem in known.items() if stem is None]
    if missing:
        fresh = dict(zip(missing, _stemmer().stemWords(missing), strict=True))
        if len(_stems) > STEM_CACHE:
            _stems.clear()
        _stems.update(fresh)
        known.update(fresh)
    return [known[word] or word for word in words]


#: Stems of words seen so far (a help center's vocabulary is a few thousand words).
STEM_CACHE = 200_000
_stems: dict[str, str | None] = {}


class LexicalIndex:
    """BM25 (Lucene variant) over the chunks' search texts."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(texts)
        corpus = [tokenize(text) for text in texts]
        self._frequency: Counter[str] = Counter()
        for tokens in corpus:
            self._frequency.update(set(tokens))
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        if self.size:
            self._bm25.index(corpus, show_progress=False)

    def scores(self, tokens: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """One BM25 score per chunk (zeros when no query word is indexed).

        Read from bm25s's precomputed sparse matrix (``BM25.scores``: one column of
        per-document scores per word). bm25s itself adds the columns with
        ``np.add.at``, about ten times slower than fancy-index addition, which is
        exact here because a column names each document once. The Lucene variant
        has no non-occurrence term to add.
        """
        result = np.zeros(self.size, dtype=np.float32)
        if not self.size:
            return result
        matrix = self._bm25.scores
        data, indices, pointers = matrix["data"], matrix["indices"], matrix["indptr"]
        for token_id in set(self._bm25.get_tokens_ids(list(tokens))):
            start, end = pointers[token_id], pointers[token_id + 1]
            result[indices[start:end]] += data[start:end]
        return result

    def coverages(self, tokens: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """How much of a question each document speaks to, from 0 to 1.

        The share of the question's distinct words, each weighted by its inverse
        document frequency, that occur in the document. A word no document uses
        weighs the most: it is usually what an out-of-scope question is about ("ATM",
        "PIN", "dark mode"), and a help center that never says it cannot answer it,
        however close the rest of the question sits to an article. A ratio, so it
        means the same in a help center of ten articles or of ten thousand (BM25's
        raw scores do not, which is why the fusion scales them by the query's best).
        Costs what a BM25 score does: one column of the index per question word.
        """
        result = np.zeros(self.size, dtype=np.float32)
        unique = list(dict.fromkeys(tokens))
        if not unique or not self.size:
            return result
        matrix = self._bm25.scores
        indices, pointers = matrix["indices"], matrix["indptr"]
        total = 0.0
        for token in unique:
            weight = math.log((self.size + 1) / (self.document_frequency(token) + 0.5))
            total += weight
            token_id = self._bm25.vocab_dict.get(token)
            if token_id is not None:
                result[indices[pointers[token_id] : pointers[token_id + 1]]] += weight
        result /= total
        return result

    def document_frequency(self, token: str) -> int:
        """In how many documents (chunks, or articles) ``token`` occurs (0 for a word the
        help center never uses)."""
        return self._frequency.get(token, 0)
