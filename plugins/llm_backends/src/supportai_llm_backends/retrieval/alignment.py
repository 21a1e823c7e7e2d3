"""Word-piece alignment: how much of a question an article's own words account for.

A sentence vector is the mean of every word of the sentence, so a question whose
subject words sit in one article and whose ask sits in another ("someone turned
off SSO yesterday, where can I see who did it?": the SSO article, the audit log)
lands between them, and the article that shares the most words wins. A contextual
model also gives each word piece its own vector, read in its sentence. For each
word piece of the question (stop words and punctuation left out), the closest word
piece of an article, and the mean of those cosines, tell how much of the question
the article accounts for (BERTScore's recall, with the article as the reference).
It chooses the first of the few best articles of the fused ranking, and the order of
each one's best sections (decision 0025); the fused score still decides whether the
help center answers at all.

An article keeps one vector per distinct word piece: the mean of that piece's
vectors in each section, averaged over the sections, stored in int8 with a scale
per row (about 50 KB for an article of 130 distinct pieces); each section keeps its
own the same way. Only an embedder that exposes word-piece vectors
(:class:`PieceEmbedder`, ``minilm``) has them.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from supportai_llm_backends.retrieval.dense import Matrix, from_bytes, normalise, to_bytes
from supportai_llm_backends.retrieval.store import EmbeddingStore

#: Suffix of the embedding store's model name under which piece vectors persist.
PIECES_MODEL_SUFFIX = "#pieces"


@runtime_checkable
class PieceEmbedder(Protocol):
    """An embedder that also gives each word piece's vector (``minilm``)."""

    model: str

    def piece_ids(self, text: str) -> tuple[int, ...]:
        """The distinct word pieces of ``text`` that :meth:`embed_pieces` returns vectors
        for, in order (the tokenizer alone: no model run)."""
        ...

    async def embed_pieces(self, texts: Sequence[str]) -> Sequence[Pieces]:
        """Each text's distinct word pieces and their vectors."""
        ...

    async def embed_query_pieces(self, text: str) -> tuple[Matrix, Matrix | None]:
        """The question's vector and its word pieces' vectors (``None``: no piece left
        once stop words and punctuation are out), from one model run."""
        ...


@dataclass(frozen=True, slots=True)
class Pieces:
    """One text's distinct word pieces, each with the mean of its L2-normalised
    vectors where it occurs (rows in the order of ``ids``)."""

    ids: tuple[int, ...]
    vectors: Matrix


def skipped_pieces(vocabulary: Mapping[str, int], stop_words: Iterable[str]) -> frozenset[int]:
    """Ids of the word pieces that say nothing about a subject: the special tokens,
    stop words and pieces without a letter or digit (punctuation)."""
    special = {
        i for piece, i in vocabulary.items() if piece.startswith("[") and piece.endswith("]")
    }
    stops = {vocabulary[word] for word in stop_words if word in vocabulary}
    marks = {i for piece, i in vocabulary.items() if not any(ch.isalnum() for ch in piece)}
    return frozenset(special | stops | marks)


def distinct_pieces(ids: Sequence[int], states: Matrix, skipped: frozenset[int]) -> Pieces:
    """The distinct kept pieces of one text and the mean of each one's vectors."""
    rows: dict[int, list[int]] = {}
    for row, piece in enumerate(ids):
        if piece not in skipped:
            rows.setdefault(piece, []).append(row)
    if not rows:
        return Pieces((), np.zeros((0, states.shape[1]), dtype=np.float32))
    vectors = np.stack([states[where].mean(axis=0) for where in rows.values()])
    return Pieces(tuple(rows), normalise(vectors))


def question_pieces(ids: Sequence[int], states: Matrix, skipped: frozenset[int]) -> Matrix | None:
    """The question's kept word pieces, one row each (a repeated piece counts twice).
    ``states`` are unit rows already (as :meth:`.minilm.MiniLM.encode` gives them)."""
    keep = [row for row, piece in enumerate(ids) if piece not in skipped]
    return states[keep] if keep else None


@dataclass(frozen=True, slots=True)
class ArticlePieces:
    """An article's distinct word pieces in int8, each with its own scale.

    ``values`` is stored transposed (one column per piece) so that a question's pieces
    multiply it as one contiguous matrix product, and several candidates' columns sit
    side by side for :func:`alignments`: about 25 µs for a question of a dozen pieces
    against an article of 130 on this project's 2-vCPU machine, where numpy's own
    ``einsum`` loop took 120-180 µs.
    """

    values: np.ndarray[Any, np.dtype[np.int8]]
    scales: np.ndarray[Any, np.dtype[np.float32]]

    @classmethod
    def of(cls, sections: Iterable[Pieces]) -> ArticlePieces | None:
        """Each piece's vector averaged over the sections that have it (one vote per
        section, so a long section does not outweigh the others), as unit rows."""
        sums: dict[int, Matrix] = {}
        counts: dict[int, int] = {}
        for section in sections:
            for piece, vector in zip(section.ids, section.vectors, strict=True):
                sums[piece] = sums[piece] + vector if piece in sums else vector.copy()
                counts[piece] = counts.get(piece, 0) + 1
        if not sums:
            return None
        rows = normalise(np.stack([sums[p] / counts[p] for p in sums]))
        scales = np.maximum(np.abs(rows).max(axis=1), 1e-12) / 127.0
        values = np.ascontiguousarray(np.rint(rows / scales[:, None]).astype(np.int8).T)
        return cls(values, scales.astype(np.float32))

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.scales.nbytes)

    def alignment(self, question: Matrix) -> float:
        """Mean over the question's pieces of the cosine with the closest piece here."""
        return alignments(question, [self])[0]


def alignments(question: Matrix, candidates: Sequence[ArticlePieces]) -> list[float]:
    """Each candidate's :meth:`ArticlePieces.alignment` with the question, from one
    matrix product over all their pieces side by side.

    A question is aligned with about fifteen candidates (three articles and four
    sections of each). Widening the int8 values to float32 and multiplying once, then
    taking each candidate's own columns' maximum, cost 0.26 against 0.42 ms per
    question done one candidate at a time (``dev`` questions, this project's 2-vCPU
    machine); the values are the same to float32 rounding (2e-7).
    """
    if not candidates:
        return []
    values = np.concatenate([c.values for c in candidates], axis=1).astype(np.float32)
    scales = np.concatenate([c.scales for c in candidates])
    cosines = (question @ values) * scales
    widths = [c.values.shape[1] for c in candidates]
    starts = np.cumsum([0, *widths[:-1]])
    closest = np.maximum.reduceat(cosines, starts, axis=1)  # question piece x candidate
    return [float(value) for value in closest.mean(axis=0)]


class Ranked(Protocol):
    """What :func:`rerank` reads of a hit (an :class:`.index.ArticleHit`)."""

    @property
    def article_id(self) -> str: ...

    @property
    def score(self) -> float: ...


RankedT = TypeVar("RankedT", bound=Ranked)


def rerank(hits: Sequence[RankedT], bonus: Mapping[str, float], depth: int) -> list[RankedT]:
    """``hits`` (best fused score first) with the one of highest fused score plus its
    ``bonus`` (by article id: the alignment with the question and the closest past
    question, each times its weight) among the first ``depth`` first; the others keep
    their fused order. An article without a bonus counts its fused score alone.

    Only the first place moves: the runners-up are the articles an answer quotes next
    when they score close to the first, and their fused order decides that as before.
    Only the best ``depth`` compete for it, however many hits are asked for, so that a
    caller asking for one article and one asking for five get the same first.
    """
    if len(hits) < 2:
        return list(hits)

    def key(hit: RankedT) -> float:
        return hit.score + bonus.get(hit.article_id, 0.0)

    first = max(range(min(depth, len(hits))), key=lambda i: key(hits[i]))
    return [hits[first], *hits[:first], *hits[first + 1 :]]


def piece_key(text_key: str, piece: int) -> str:
    """The store key of one text's vector for one word piece."""
    return f"{text_key}:{piece}"


@functools.cache
def skipped_of(tokenizer_file: str) -> frozenset[int]:
    """:func:`skipped_pieces` of a tokenizer file's vocabulary, read once per process."""
    import json

    from supportai_llm_backends.retrieval.lexical import STOPWORDS

    with open(tokenizer_file, encoding="utf-8") as handle:
        vocabulary = json.load(handle)["model"]["vocab"]
    return skipped_pieces(vocabulary, STOPWORDS)


@dataclass(frozen=True, slots=True)
class HelpCenterPieces:
    """What :func:`article_pieces` built: each article's pieces, each section's (by its
    text key), and how many sections had to be run (the others were stored)."""

    articles: dict[str, ArticlePieces]
    sections: dict[str, ArticlePieces]
    embedded: int


async def article_pieces(
    store: EmbeddingStore,
    tenant_id: str,
    embedder: PieceEmbedder,
    sections: Sequence[tuple[str, str, str]],
) -> HelpCenterPieces:
    """Each article's and each section's pieces from the sections (``(article_id,
    text_key, text)``), embedding only the sections whose piece vectors are not stored.

    A section's vector for a piece persists under ``text_key:piece`` in the store's
    ``<model>#pieces`` space, so an unchanged section is never run again, across
    edits and restarts, like its other vectors.
    """
    model = embedder.model + PIECES_MODEL_SUFFIX
    texts = {key: text for _, key, text in sections}
    ids = dict(
        zip(
            texts,
            await asyncio.to_thread(lambda: [embedder.piece_ids(t) for t in texts.values()]),
            strict=True,
        )
    )
    keys = [piece_key(key, piece) for key in texts for piece in ids[key]]
    known = await store.load(tenant_id, model, keys)
    missing = [key for key in texts if any(piece_key(key, p) not in known for p in ids[key])]
    found: dict[str, Pieces] = {}
    if missing:
        fresh = await embedder.embed_pieces([texts[key] for key in missing])
        new = {}
        for key, pieces in zip(missing, fresh, strict=True):
            found[key] = pieces
            new.update(
                {
                    piece_key(key, p): to_bytes(v)
                    for p, v in zip(pieces.ids, pieces.vectors, strict=True)
                }
            )
        await store.save(tenant_id, model, new)
    await store.prune(tenant_id, model, keys)
    for key in texts:
        if key not in found:
            vectors = [from_bytes(known[piece_key(key, p)]) for p in ids[key]]
            found[key] = Pieces(
                ids[key], np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)
            )
    by_article: dict[str, list[Pieces]] = {}
    for article_id, key, _ in sections:
        by_article.setdefault(article_id, []).append(found[key])
    articles = {a: ArticlePieces.of(p) for a, p in by_article.items()}
    of_sections = {key: ArticlePieces.of([pieces]) for key, pieces in found.items()}
    return HelpCenterPieces(
        {a: pieces for a, pieces in articles.items() if pieces is not None},
        {key: pieces for key, pieces in of_sections.items() if pieces is not None},
        len(missing),
    )
