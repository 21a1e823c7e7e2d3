"""Questions readers asked that an article answered: a say in which article comes first.

An article can carry the questions its readers asked and it answered (core's
``Article.questions``; ``questions:`` in a Markdown file's front matter): from the
conversations that cited it and were resolved, from the support team's macros, or written
for it. Readers word one subject alike more often than the article does, so a new
question's closest past question is evidence of which article answers it.

Each past question is embedded as a question is (cleaned, without the product's names,
:mod:`.names`), once, and kept in the store's ``<model>#questions`` space so a restart
embeds nothing. For a new question, each of the fused ranking's best
:data:`~.service.RERANK_DEPTH` articles gets ``SUPPORTAI_KB_WEIGHT_QUESTIONS`` times the
cosine of its closest past question as a bonus in choosing which of them comes first,
beside the word-piece alignment (:func:`.alignment.rerank`). It never enters the fused
score: whether there is an answer at all, and what ``supportai kb-calibrate`` measures, do
not depend on it (as a part of that score it separated out-of-scope questions no better
than the score alone; decision 0032).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from supportai_llm_backends.retrieval.dense import Matrix, from_bytes
from supportai_llm_backends.retrieval.names import without_names
from supportai_llm_backends.retrieval.query import clean_query
from supportai_llm_backends.retrieval.store import text_key

#: The store's space for past questions' vectors, beside the sections' (``<model>``).
QUESTIONS_MODEL_SUFFIX = "#questions"


@dataclass(frozen=True, slots=True)
class PastQuestions:
    """Every distinct past question's vector once (half precision: read for three
    articles a question, never scanned), and which rows each article has."""

    vectors: np.ndarray
    of_article: Mapping[str, np.ndarray]

    def closest(self, article_ids: Iterable[str], query_vector: Matrix) -> dict[str, float]:
        """Each article's closest past question's cosine with the (normalised) query;
        an article without past questions is left out."""
        found: dict[str, float] = {}
        for article_id in article_ids:
            rows = self.of_article.get(article_id)
            if rows is not None:
                cosines = self.vectors[rows].astype(np.float32) @ query_vector
                found[article_id] = float(cosines.max())
        return found

    @property
    def memory_bytes(self) -> int:
        return int(self.vectors.nbytes + sum(rows.nbytes for rows in self.of_article.values()))


def as_embedded(question: str, names: frozenset[str]) -> str:
    """``question`` as a reader's question is embedded: without e-mail addresses, numbers
    and ids (:func:`.query.clean_query`) and without the product's names."""
    return without_names(clean_query(question), names)


def texts_of(
    questions: Mapping[str, Sequence[str]], names: frozenset[str]
) -> dict[str, dict[str, str]]:
    """Each article's past questions as they are embedded, by content key
    (:func:`.store.text_key`); articles without any are left out."""
    keyed: dict[str, dict[str, str]] = {}
    for article_id, asked in questions.items():
        texts = [text for text in (as_embedded(q, names) for q in asked) if text.strip()]
        if texts:
            keyed[article_id] = {text_key(text): text for text in texts}
    return keyed


def past_questions(
    keyed: Mapping[str, Mapping[str, str]], known: Mapping[str, bytes]
) -> PastQuestions | None:
    """The vectors of ``keyed`` (article id -> its questions by content key) from
    ``known`` (content key -> stored vector); ``None`` when no article has any."""
    rows: dict[str, int] = {}
    of_article = {
        article_id: np.array([rows.setdefault(k, len(rows)) for k in texts], dtype=np.int64)
        for article_id, texts in keyed.items()
    }
    if not rows:
        return None
    vectors = np.stack([from_bytes(known[k]) for k in rows]).astype(np.float16)
    return PastQuestions(vectors, of_article)
