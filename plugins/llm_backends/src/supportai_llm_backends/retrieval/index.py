"""One tenant's searchable help center: chunks, their BM25 index and their vectors.

Ranking fuses seven signals with weights tuned on the dev half of the example
question set (``docs/knowledge.md`` shows how to re-tune them on your own):

* cosine of the query with the chunk (title + heading path + text),
* cosine with the chunk's title and heading path alone (facts live in headings),
* cosine with the article as a whole (the mean of its chunks),
* cosine with the article's title and tags (the words its readers use for its
  subject, which its text may never say: "bill" for an invoices article); the
  title alone for an article without tags, so every article has the signal and
  tagging some articles does not lift them over the rest by its mere presence,
* cosine with the article's closest *phrase*: its title, one of its tags or one of
  its sections' headings, each embedded alone. All tags in one vector average a dozen
  subjects; a question in a reader's words ("I was billed twice") is usually close to
  one of them,
* stemmed BM25 of the chunk and of the whole article (its tags included), each
  scaled by the best score of this query (BM25 has no absolute scale; the
  cosines do),
* the article's coverage of the question: the share of the question's words,
  weighted by rarity, that the article (with its tags) holds. It ranks the
  article that has the question's rare words above one that is merely close,
  and it moves out-of-scope questions away from the threshold: "where do I
  change my PIN?" sits close to the password article, which never says "PIN".

An article's score is the score of its best chunk. The sections of a matched
article are ranked for quoting by their own vector and heading path plus their
best *passage* (the heading path or one block, embedded alone), so the section
whose one paragraph answers the question wins over a section that is merely
about the same subject. Whether the best article
answers at all is decided by ``min_score`` on the same fused scale, calibrated
on in-scope and out-of-scope questions (``supportai eval retrieval``).

Immutable once built: concurrent turns read it without locks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from supportai_llm_backends.retrieval.alignment import ArticlePieces
from supportai_llm_backends.retrieval.chunking import Chunk
from supportai_llm_backends.retrieval.dense import DenseIndex, Matrix, dot, normalise
from supportai_llm_backends.retrieval.lexical import LexicalIndex, tokenize
from supportai_llm_backends.retrieval.names import product_names
from supportai_llm_backends.retrieval.questions import PastQuestions
from supportai_llm_backends.retrieval.spelling import Speller

Scores = np.ndarray[Any, np.dtype[np.float32]]

#: Above this many articles, sections are scored only for the best-ranked articles.
CANDIDATE_ARTICLES = 256

#: Weight of the section's BM25 (scaled by the query's best) when ranking the
#: sections of one article; the chunk and heading cosines count 1 each.
SECTION_LEXICAL = 0.1

#: Weight of a section's best passage cosine when ranking the sections of one
#: article (chosen on the dev questions: the section holding the asked fact came
#: first for 77 of 104 without it, 83 with it; 0.5 to 3 all gave 77-83; the test
#: half, checked once, went from 79 to 85 of 114). Decision 0014.
SECTION_PASSAGE = 1.0


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each signal counts (see the module docstring)."""

    dense_chunk: float = 1.0
    dense_heading: float = 0.25
    dense_article: float = 1.0
    lexical_chunk: float = 0.0
    lexical_article: float = 0.2
    #: 0 (the default) leaves the title-and-tags vector out: nothing is embedded for it.
    dense_tags: float = 0.0
    #: The article's coverage of the question (:meth:`.LexicalIndex.coverages`).
    coverage: float = 0.5
    #: 0 (the default) leaves the phrase vectors out: nothing is embedded for them.
    dense_phrase: float = 0.0
    #: Reorders the best articles by their word-piece alignment with the question
    #: (:mod:`.alignment`); 0 (the default) computes no piece vectors.
    alignment: float = 0.0
    #: Reorders the best articles by their closest past question (:mod:`.questions`);
    #: 0 embeds none.
    questions: float = 0.0


@dataclass(frozen=True, slots=True)
class Phrases:
    """Every distinct phrase's vector once, and which of them each article has.

    Phrases repeat across articles (a tag such as "billing" on many of them, or
    the copies of one article in a large help center): each vector is stored and
    multiplied once, and an article's phrases are rows of ``vectors``.
    """

    vectors: Matrix
    of_article: Mapping[str, Sequence[int]]


@dataclass(frozen=True, slots=True)
class Vectors:
    """Everything embedded for one help center, in the order of its chunks.

    ``passages`` holds every chunk's passages one after the other; ``tags`` (one
    title-and-tags vector per article) and ``phrases`` are there only when the
    fusion reads them.
    """

    chunks: Matrix
    headings: Matrix
    passages: Matrix
    tags: Mapping[str, Matrix] | None = None
    phrases: Phrases | None = None


@dataclass(frozen=True, slots=True)
class ChunkHit:
    """A section of a matched article: its fused score and its rank *within* the article.

    ``section_score`` ranks the sections of one article for quoting: the section's
    cosine, its heading path's, its best passage's, and a little of its BM25.
    """

    chunk: Chunk
    score: float
    section_score: float


@dataclass(frozen=True, slots=True)
class ArticleHit:
    """An article that matched, with its chunks best first."""

    article_id: str
    title: str
    url: str | None
    score: float
    chunks: tuple[ChunkHit, ...]


class TenantIndex:
    """Chunks plus their lexical and (optional) dense indexes."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        vectors: Vectors | None,
        weights: Weights,
        version: str,
        model: str | None,
        *,
        spelling: bool = True,
        pieces: Mapping[str, ArticlePieces] | None = None,
        section_pieces: Mapping[str, ArticlePieces] | None = None,
    ) -> None:
        #: Each article's word pieces (:mod:`.alignment`), when the embedder gives them
        #: and the fusion reads them; ``None`` otherwise. ``section_pieces``: each
        #: section's, by :attr:`Chunk.chunk_id`.
        self.pieces = pieces
        self.section_pieces = section_pieces
        #: The articles' past questions (:mod:`.questions`): set by the service once the
        #: product's names are known, before the index serves.
        self.questions: PastQuestions | None = None
        # Grouped by article, so per-article maxima are one ``reduceat`` over slices.
        order = sorted(range(len(chunks)), key=lambda i: (chunks[i].article_id, chunks[i].position))
        self.chunks = [chunks[i] for i in order]
        #: Passage vectors in half precision: read only for the sections of the few
        #: articles a query returns, so they cost memory, never per-query time.
        self.passages: np.ndarray[Any, np.dtype[np.float16]] | None = None
        self._passage_starts = np.zeros(0, dtype=np.int64)
        if vectors is not None and len(order):
            self.passages, self._passage_starts = _passages_in_order(
                chunks, order, vectors.passages
            )
        self.version = version
        self.model = model
        self.weights = weights
        self.article_ids = sorted({chunk.article_id for chunk in self.chunks})
        position = {article_id: i for i, article_id in enumerate(self.article_ids)}
        self._article_of = np.array(
            [position[chunk.article_id] for chunk in self.chunks], dtype=np.int64
        )
        self._starts = np.flatnonzero(np.diff(self._article_of, prepend=-1)).astype(np.int64)
        self._ends = np.append(self._starts[1:], len(self.chunks)).astype(np.int64)
        self._article_texts: dict[str, str] = {}
        self.lexical = LexicalIndex([chunk.lexical_text for chunk in self.chunks])
        by_article: dict[str, list[str]] = {}
        for chunk in self.chunks:
            if chunk.article_id not in by_article and chunk.article_tags:
                by_article[chunk.article_id] = [chunk.tags_line]
            by_article.setdefault(chunk.article_id, []).append(chunk.search_text)
        self.article_lexical = LexicalIndex(
            ["\n".join(by_article[article_id]) for article_id in self.article_ids]
        )
        #: The words that name the product, left out of a question's embedding (:mod:`.names`).
        self.product_names = product_names(
            [
                "\n\n".join(chunk.body for chunk in self.chunks[self._starts[i] : self._ends[i]])
                for i in range(len(self.article_ids))
            ]
        )
        #: Corrects a question's typos to this help center's words (None: switched off).
        self.speller = (
            Speller((chunk.lexical_text for chunk in self.chunks), self._stem_known)
            if spelling
            else None
        )
        # The fused dense score is linear in the query vector, so its three cosines
        # fold into one matrix: one product per query instead of three. The section
        # matrix (chunk + heading) is only read for the chunks of the top articles.
        self.dense: DenseIndex | None = None
        self.section_dense: DenseIndex | None = None
        self.article_dense: DenseIndex | None = None
        if vectors is not None and len(self.chunks):
            chunk_vectors, heading_vectors = vectors.chunks[order], vectors.headings[order]
            articles = normalise(np.add.reduceat(chunk_vectors, self._starts, axis=0))
            # the article-level cosines (its mean, its title and tags), weighted, in one matrix
            per_article = weights.dense_article * articles
            if vectors.tags is not None:
                tags = np.stack([vectors.tags[article_id] for article_id in self.article_ids])
                per_article = per_article + weights.dense_tags * tags
            fused = weights.dense_chunk * chunk_vectors + weights.dense_heading * heading_vectors
            fused += per_article[self._article_of]
            self.dense = DenseIndex(fused)
            self.section_dense = DenseIndex(chunk_vectors + heading_vectors)
            self.article_dense = DenseIndex(per_article)
        # Distinct phrases once; each article's rows of them grouped by article, so its
        # best phrase is one gather and one ``reduceat``.
        self.phrases: DenseIndex | None = None
        self._phrase_rows = np.zeros(0, dtype=np.int64)
        self._phrase_starts = np.zeros(0, dtype=np.int64)
        phrases = vectors.phrases if vectors is not None else None
        if self.dense is not None and phrases is not None and weights.dense_phrase:
            groups = [phrases.of_article[article_id] for article_id in self.article_ids]
            sizes = np.array([len(group) for group in groups], dtype=np.int64)
            self._phrase_starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
            self._phrase_rows = np.fromiter(
                (row for group in groups for row in group), dtype=np.int64, count=int(sizes.sum())
            )
            self.phrases = DenseIndex(weights.dense_phrase * phrases.vectors)

    def _stem_known(self, word: str) -> bool:
        """Whether some section has a word of ``word``'s stem (BM25 matches it already)."""
        return any(self.lexical.document_frequency(token) for token in tokenize(word))

    @property
    def has_vectors(self) -> bool:
        return self.dense is not None

    def article_text(self, article_id: str) -> str:
        """The article's whole text (headings and blocks, in reading order).

        What "the articles retrieved for this turn" means to the output filters: a
        value anywhere in the article is the host's public text, even when the
        quoted excerpt is another section.
        """
        text = self._article_texts.get(article_id)
        if text is not None:
            return text
        i = self._position(article_id)
        if i is None:
            return ""
        parts: list[str] = []
        for chunk in self.chunks[int(self._starts[i]) : int(self._ends[i])]:
            parts.extend(chunk.headings[-1:])
            parts.extend(block.text for block in chunk.blocks)
        # the index never changes (a new version is a new index): join once per article
        text = self._article_texts[article_id] = "\n\n".join(parts)
        return text

    def _position(self, article_id: str) -> int | None:
        """The article's row among :attr:`article_ids` (sorted), ``None`` if absent."""
        i = bisect_left(self.article_ids, article_id)
        return i if i < len(self.article_ids) and self.article_ids[i] == article_id else None

    def article_coverage(self, article_id: str, tokens: Sequence[str]) -> float:
        """The share of ``tokens``, weighted by rarity, that the article (with its tags)
        holds: the coverage signal of the fusion, for one article and any words."""
        i = self._position(article_id)
        if i is None or not tokens:
            return 0.0
        return float(self.article_lexical.coverages(tokens)[i])

    def closest_phrase(self, article_id: str, query_vector: Matrix) -> float | None:
        """The cosine of the article's closest phrase (title, tag or heading) with the
        query, unweighted; ``None`` when the index keeps no phrase vectors."""
        i = self._position(article_id)
        if i is None or self.phrases is None:
            return None
        end = self._phrase_starts[i + 1] if i + 1 < len(self._phrase_starts) else None
        rows = self._phrase_rows[self._phrase_starts[i] : end]
        weighted = self.phrases.scores_of(rows, query_vector)
        return float(weighted.max()) / self.weights.dense_phrase

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the vectors (the bench reports it per 10k chunks)."""
        return (
            sum(
                d.matrix.nbytes
                for d in (self.dense, self.section_dense, self.article_dense, self.phrases)
                if d is not None
            )
            + (self.passages.nbytes if self.passages is not None else 0)
            + self._phrase_rows.nbytes
            + sum(p.nbytes for p in (self.pieces or {}).values())
            + sum(p.nbytes for p in (self.section_pieces or {}).values())
            + (self.questions.memory_bytes if self.questions is not None else 0)
        )

    def _lexical(self, tokens: Sequence[str], dense: bool) -> tuple[Scores, Scores, Scores]:
        """Per chunk: its weighted lexical score (BM25 and, with ``dense`` cosines, the
        article's coverage), its section lexical score; per article.

        Coverage complements the cosines (closeness, against the words the question is
        about). With BM25 alone the article's BM25 already ranks by those words, and
        coverage on top made it worse (decision 0019).
        """
        w = self.weights
        total = np.zeros(len(self.chunks), dtype=np.float32)
        section = np.zeros(len(self.chunks), dtype=np.float32)
        per_article = np.zeros(len(self.article_ids), dtype=np.float32)
        if tokens:
            lexical = self.lexical.scores(tokens)
            best = float(lexical.max()) if len(lexical) else 0.0
            if best > 0:
                total += (w.lexical_chunk / best) * lexical
                section = (SECTION_LEXICAL / best) * lexical
            article = self.article_lexical.scores(tokens)
            best = float(article.max()) if len(article) else 0.0
            if best > 0:
                per_article = (w.lexical_article / best) * article
            if w.coverage and dense:
                per_article = per_article + w.coverage * self.article_lexical.coverages(tokens)
            total += per_article[self._article_of]
        return total, section, per_article

    def _candidates(
        self, per_chunk: Scores, per_article: Scores, query_vector: Matrix | None
    ) -> np.ndarray[Any, np.dtype[np.int64]] | None:
        """Articles worth scoring section by section; ``None`` means all of them.

        Up to :data:`CANDIDATE_ARTICLES` articles every section is scored (exact).
        Beyond, articles are first ranked by their own vectors (mean, title and
        tags, closest phrase) and words plus their best section's words, and only the best
        :data:`CANDIDATE_ARTICLES` are scored section by section: a large help
        center costs one product over its articles instead of one over all its
        sections.
        """
        if len(self.article_ids) <= CANDIDATE_ARTICLES:
            return None
        coarse = per_article + np.maximum.reduceat(per_chunk, self._starts)
        if query_vector is not None and self.article_dense is not None:
            coarse = coarse + self.article_dense.scores(query_vector)
        top = np.argpartition(-coarse, CANDIDATE_ARTICLES - 1)[:CANDIDATE_ARTICLES]
        return np.sort(top).astype(np.int64)

    def _rows_of(self, articles: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, Any]:
        """The chunk rows of ``articles`` (each article's rows are one slice), vectorised."""
        lengths = self._ends[articles] - self._starts[articles]
        shift = np.repeat(self._starts[articles] - (np.cumsum(lengths) - lengths), lengths)
        rows: np.ndarray[Any, Any] = shift + np.arange(int(lengths.sum()), dtype=np.int64)
        return rows

    def search(
        self, tokens: Sequence[str], query_vector: Matrix | None, limit: int
    ) -> list[ArticleHit]:
        """The ``limit`` best articles, each with its chunks ranked."""
        if not self.chunks or limit <= 0:
            return []
        dense = query_vector is not None and self.dense is not None
        # per chunk: everything but the chunk's own cosines (they come from one product)
        per_chunk, lexical_section, per_article = self._lexical(tokens, dense)
        if query_vector is not None and self.phrases is not None:
            # a per-article signal, like coverage: it joins every section of the article
            phrase = self._best_phrases(query_vector)
            per_article = per_article + phrase
            per_chunk = per_chunk + phrase[self._article_of]
        candidates = self._candidates(per_chunk, per_article, query_vector)
        if candidates is None:
            rows = None
            scores = per_chunk.copy()
            if query_vector is not None and self.dense is not None:
                scores += self.dense.scores(query_vector)
            best = np.maximum.reduceat(scores, self._starts)
            articles = np.arange(len(self.article_ids))
        else:
            rows = self._rows_of(candidates)
            scores = np.full(len(self.chunks), -np.inf, dtype=np.float32)
            scores[rows] = per_chunk[rows]
            if query_vector is not None and self.dense is not None:
                scores[rows] += self.dense.scores_of(rows, query_vector)
            best = np.maximum.reduceat(scores, self._starts)[candidates]
            articles = candidates
        count = min(limit, len(articles))
        top = np.argpartition(-best, count - 1)[:count]
        top = articles[top[np.argsort(-best[top], kind="stable")]]
        hits = []
        for article in top:
            start, end = int(self._starts[article]), int(self._ends[article])
            section = lexical_section[start:end].copy()
            if query_vector is not None and self.section_dense is not None:
                section += dot(self.section_dense.matrix[start:end], query_vector)
                section += SECTION_PASSAGE * self._best_passages(start, end, query_vector)
            order = np.argsort(-section, kind="stable")
            chunk_hits = tuple(
                ChunkHit(self.chunks[start + i], float(scores[start + i]), float(section[i]))
                for i in order
            )
            first = chunk_hits[0].chunk
            hits.append(
                ArticleHit(
                    article_id=first.article_id,
                    title=first.article_title,
                    url=first.url,
                    score=float(chunk_hits_best(chunk_hits)),
                    chunks=chunk_hits,
                )
            )
        return hits

    def _best_phrases(self, query_vector: Matrix) -> Scores:
        """Per article: the weighted cosine of its closest phrase (title or one tag)."""
        assert self.phrases is not None
        cosines = self.phrases.scores(query_vector)[self._phrase_rows]
        best: Scores = np.maximum.reduceat(cosines, self._phrase_starts)
        return best

    def _best_passages(self, start: int, end: int, query_vector: Matrix) -> Scores:
        """Per chunk of rows ``start:end``: the cosine of its best passage (0 without)."""
        if self.passages is None:
            return np.zeros(end - start, dtype=np.float32)
        first = int(self._passage_starts[start])
        last = int(self._passage_starts[end])
        cosines = dot(self.passages[first:last].astype(np.float32), query_vector)
        best: Scores = np.maximum.reduceat(cosines, self._passage_starts[start:end] - first)
        return best


def _passages_in_order(
    chunks: Sequence[Chunk], order: Sequence[int], vectors: Matrix
) -> tuple[np.ndarray[Any, np.dtype[np.float16]], np.ndarray[Any, np.dtype[np.int64]]]:
    """The passage vectors regrouped in the index's chunk order, and where each chunk's start.

    ``vectors`` holds every chunk's passages one after the other, in the order of
    ``chunks`` (as the service embedded them); ``starts[i]`` is the first row of the
    i-th chunk of the index and ``starts[-1]`` the number of rows (every chunk has
    at least one passage).
    """
    counts = np.array([len(chunk.passages) for chunk in chunks], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    if int(offsets[-1]) != len(vectors):
        raise ValueError(f"{len(vectors)} passage vectors for {int(offsets[-1])} passages")
    rows = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in order])
    starts = np.concatenate(([0], np.cumsum(counts[list(order)]))).astype(np.int64)
    return np.ascontiguousarray(vectors[rows], dtype=np.float16), starts


def chunk_hits_best(chunk_hits: Sequence[ChunkHit]) -> float:
    """An article's score: its best section's fused score."""
    return max(hit.score for hit in chunk_hits)
