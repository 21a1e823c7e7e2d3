"""Word-piece alignment (retrieval/alignment.py, decision 0025).

The arithmetic on small hand-made vectors, then with ``minilm``: a help center's
pieces are built once and persisted (a restart runs nothing), what the settings
switch off costs nothing, and the question's own words decide which of the best
articles comes first.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from llm_backends_testing import FIXTURE_ARTICLES, LUMEN_ARTICLES
from supportai_llm_backends.retrieval.alignment import (
    PIECES_MODEL_SUFFIX,
    ArticlePieces,
    Pieces,
    alignments,
    distinct_pieces,
    question_pieces,
    rerank,
    skipped_pieces,
)
from supportai_llm_backends.retrieval.dense import normalise
from supportai_llm_backends.retrieval.embedders import MiniLMEmbedder, WordLlamaEmbedder
from supportai_llm_backends.retrieval.index import Weights
from supportai_llm_backends.retrieval.service import RetrievalService
from supportai_llm_backends.retrieval.source import FileArticleSource
from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore

from supportai.evaluation.questions import load_questions

QUESTIONS = LUMEN_ARTICLES.parent / "eval" / "questions.jsonl"


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_special_tokens_stop_words_and_punctuation_say_nothing_about_a_subject() -> None:
    vocabulary = {"[CLS]": 0, "[SEP]": 1, "how": 2, "refund": 3, "?": 4, "##s": 5, "4": 6}
    assert skipped_pieces(vocabulary, {"how", "the"}) == {0, 1, 2, 4}


def test_a_text_keeps_each_piece_once_with_the_mean_of_its_occurrences() -> None:
    states = np.stack([unit(1, 0), unit(1, 0), unit(0, 1), unit(1, 1)])
    pieces = distinct_pieces([7, 3, 7, 9], states, skipped=frozenset({3}))
    assert pieces.ids == (7, 9)
    np.testing.assert_allclose(pieces.vectors[0], unit(1, 1), atol=1e-6)
    np.testing.assert_allclose(pieces.vectors[1], unit(1, 1), atol=1e-6)
    assert question_pieces([3, 3], states[:2], skipped=frozenset({3})) is None
    question = question_pieces([7, 3, 7], states[:3], skipped=frozenset({3}))
    assert question is not None and question.shape == (2, 2)  # a repeated word counts twice


def test_an_article_votes_once_per_section_and_int8_keeps_the_cosines() -> None:
    long_section = Pieces((1,), np.stack([unit(1, 0)]))
    other = Pieces((1, 2), np.stack([unit(0, 1), unit(1, 1)]))
    article = ArticlePieces.of([long_section, other])
    assert article is not None and article.values.dtype == np.int8
    assert article.nbytes == article.values.nbytes + article.scales.nbytes
    # piece 1 is the mean of one vote each: (1, 0) and (0, 1)
    assert article.alignment(np.stack([unit(1, 1)])) == pytest.approx(1.0, abs=0.01)
    # each question piece takes its closest article piece; the mean of those
    question = np.stack([unit(1, 1), unit(1, -1)])
    assert article.alignment(question) == pytest.approx((1.0 + 0.0) / 2, abs=0.01)
    assert ArticlePieces.of([Pieces((), np.zeros((0, 2), dtype=np.float32))]) is None


@dataclass
class Hit:
    article_id: str
    score: float


def weighted(values: dict[str, float], weight: float) -> dict[str, float]:
    return {key: weight * value for key, value in values.items()}


def test_the_best_aligned_article_comes_first_and_the_others_keep_their_order() -> None:
    close = ArticlePieces.of([Pieces((1,), np.stack([unit(1, 0)]))])
    far = ArticlePieces.of([Pieces((1,), np.stack([unit(0, 1)]))])
    assert close is not None and far is not None
    question = np.stack([unit(1, 0)])
    hits = [Hit("topic", 1.10), Hit("other", 1.05), Hit("asked", 1.00)]
    pieces = {"topic": far, "other": far, "asked": close}
    aligned = {article_id: p.alignment(question) for article_id, p in pieces.items()}
    assert [h.article_id for h in rerank(hits, weighted(aligned, 0.5), 3)] == [
        "asked",
        "topic",
        "other",
    ]
    # a small weight leaves the fused order; an article without pieces counts its score
    assert [h.article_id for h in rerank(hits, weighted(aligned, 0.05), 3)] == [
        "topic",
        "other",
        "asked",
    ]
    assert rerank(hits, {}, 3) == hits
    assert rerank(hits[:1], weighted(aligned, 5.0), 3) == hits[:1]
    # beyond the depth an article keeps its place however well it aligns: asking for five
    # articles chooses the first among the same best three as asking for one
    assert [h.article_id for h in rerank(hits, weighted(aligned, 0.5), 2)] == [
        "topic",
        "other",
        "asked",
    ]


def test_candidates_aligned_together_score_as_each_alone() -> None:
    """One product over candidates of different widths gives each its own alignment:
    a candidate's maximum never reads a neighbour's columns."""
    rng = np.random.default_rng(7)

    def rows(n: int) -> np.ndarray:
        return normalise(rng.standard_normal((n, 16)).astype(np.float32))

    candidates = [ArticlePieces.of([Pieces(tuple(range(n)), rows(n))]) for n in (1, 5, 2, 9, 1)]
    assert all(c is not None for c in candidates)
    found = [c for c in candidates if c is not None]
    question = rows(4)
    alone = [
        float(((question @ c.values.astype(np.float32)) * c.scales).max(axis=1).mean())
        for c in found
    ]
    assert alignments(question, found) == pytest.approx(alone, abs=1e-6)
    assert alignments(question, []) == []


def service(
    store: MemoryEmbeddingStore,
    embedder: type[MiniLMEmbedder] | type[WordLlamaEmbedder] = MiniLMEmbedder,
    *,
    alignment: float = 1.75,
    max_articles: int = 1000,
    folder: Path = FIXTURE_ARTICLES,
) -> RetrievalService:
    return RetrievalService(
        FileArticleSource(folder),
        embedder,
        store,
        weights=Weights(alignment=alignment),
        min_score=0.0,
        lexical_min_score=1.0,
        alignment_max_articles=max_articles,
    )


async def test_pieces_are_built_once_and_a_restart_runs_nothing() -> None:
    store = MemoryEmbeddingStore()
    first = service(store)
    result = await first.search("t", "I was charged twice, can I get my money back?")
    pieces = result.index.pieces
    assert pieces is not None and set(pieces) == {chunk.article_id for chunk in result.index.chunks}
    assert first.pieces_embedded_count == len(result.index.chunks)
    assert result.index.memory_bytes > sum(p.nbytes for p in pieces.values()) > 0
    assert result.hits[0].article_id == "refunds"
    restarted = service(store)
    again = await restarted.search("t", "I was charged twice, can I get my money back?")
    assert restarted.pieces_embedded_count == 0 and restarted.embedded_count == 0
    assert again.index.pieces is not None
    for article_id, article in pieces.items():
        np.testing.assert_array_equal(again.index.pieces[article_id].values, article.values)


async def test_what_the_settings_switch_off_embeds_and_stores_nothing(tmp_path: Path) -> None:
    store = MemoryEmbeddingStore()
    off = service(store, alignment=0.0)
    assert (await off.search("t", "refund")).index.pieces is None
    too_many = service(store, max_articles=2)
    assert (await too_many.search("t", "refund")).index.pieces is None
    static = service(store, WordLlamaEmbedder)  # no word-piece vectors to align
    assert (await static.search("t", "refund")).index.pieces is None
    assert off.pieces_embedded_count == too_many.pieces_embedded_count == 0
    assert all(not model.endswith(PIECES_MODEL_SUFFIX) for _, model in store.data)


async def test_an_edited_section_is_run_again_and_its_old_pieces_go(tmp_path: Path) -> None:
    """Like its other vectors, a section's pieces follow its text."""
    folder = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, folder)
    store = MemoryEmbeddingStore()
    model = MiniLMEmbedder.model + PIECES_MODEL_SUFFIX
    await service(store, folder=folder).search("t", "refund")
    before = set(store.data[("t", model)])
    article = folder / "refunds.md"
    article.write_text(article.read_text() + "\n\nRefunds to a gift card arrive within a day.\n")
    edited = service(store, folder=folder)
    result = await edited.search("t", "can the money go back on a gift card?")
    assert edited.pieces_embedded_count == 1  # the one section whose text changed
    after = set(store.data[("t", model)])
    assert after != before and len(after - before) > 0 and len(before - after) > 0
    assert result.index.pieces is not None and "refunds" in result.index.pieces


async def test_asking_for_one_article_or_three_gives_the_same_first_and_the_same_verdict() -> None:
    """``kb-calibrate`` asks for one article and a turn for three (five with
    ``SUPPORTAI_KB_MAX_ARTICLES=4``): the alignment reorders the same best three either
    way, and the best fused score decides whether to answer even when its article is no
    longer first."""
    from supportai_llm_backends.knowledge import calibrated, service_with
    from supportai_llm_backends.settings import KnowledgeBaseSettings

    settings = calibrated(KnowledgeBaseSettings(embedder="minilm"))
    aligned = service_with(
        settings, FileArticleSource(LUMEN_ARTICLES), MiniLMEmbedder, MemoryEmbeddingStore()
    )
    questions = [q.question for q in load_questions(QUESTIONS, "dev")]
    moved = 0
    for question in questions:
        one = await aligned.search("t", question, limit=1)
        three = await aligned.search("t", question, limit=3)
        five = await aligned.search("t", question, limit=5)
        assert [h.article_id for h in one.hits] == [h.article_id for h in three.hits[:1]]
        assert [h.article_id for h in three.hits] == [h.article_id for h in five.hits[:3]]
        assert (one.score, one.answered) == (three.score, three.answered)
        assert (five.score, five.answered) == (three.score, three.answered)
        assert three.score == max(hit.score for hit in three.hits)
        moved += three.hits[0].score < three.score
    assert moved > 0  # the alignment did choose another first article for some questions


def test_the_section_that_holds_the_asked_words_is_quoted_first() -> None:
    """Within an article, the alignment moves up the section whose own pieces account for
    the question, and leaves the order of sections past the first few alone."""
    from supportai_llm_backends.retrieval.chunking import chunk_article, parse_markdown
    from supportai_llm_backends.retrieval.index import ArticleHit, ChunkHit
    from supportai_llm_backends.retrieval.service import (
        SECTION_RERANK_DEPTH,
        aligned_with,
        sections_aligned,
    )

    body = "\n\n".join(f"## Part {i}\n\nText {i}." for i in range(SECTION_RERANK_DEPTH + 2))
    chunks = chunk_article(parse_markdown("guide", "# Guide\n\n" + body))
    hits = tuple(ChunkHit(c, 1.0, 2.0 - 0.1 * i) for i, c in enumerate(chunks))
    hit = ArticleHit("guide", "Guide", None, 1.0, hits)
    asked = ArticlePieces.of([Pieces((1,), np.stack([unit(1, 0)]))])
    other = ArticlePieces.of([Pieces((1,), np.stack([unit(0, 1)]))])
    assert asked is not None and other is not None
    pieces = {c.chunk_id: other for c in chunks}
    pieces[chunks[2].chunk_id] = asked
    question = np.stack([unit(1, 0)])
    by_article, by_section = aligned_with(question, [hit], {}, pieces)
    assert by_article == {} and set(by_section) == {
        c.chunk_id for c in chunks[:SECTION_RERANK_DEPTH]
    }
    aligned = sections_aligned(hit, by_section, 1.0)
    assert aligned.chunks[0].chunk == chunks[2]
    assert [c.section_score for c in aligned.chunks[:SECTION_RERANK_DEPTH]] == sorted(
        (c.section_score for c in aligned.chunks[:SECTION_RERANK_DEPTH]), reverse=True
    )
    assert aligned.chunks[SECTION_RERANK_DEPTH:] == hits[SECTION_RERANK_DEPTH:]
    assert sections_aligned(hit, by_section, 0.0).chunks == hits


async def test_every_section_has_its_pieces_and_keeps_them_across_a_restart() -> None:
    store = MemoryEmbeddingStore()
    first = await service(store).search("t", "refund")
    sections = first.index.section_pieces
    assert sections is not None
    assert set(sections) == {chunk.chunk_id for chunk in first.index.chunks}
    restarted = service(store)
    again = await restarted.search("t", "refund")
    assert restarted.pieces_embedded_count == 0 and again.index.section_pieces is not None
    for chunk_id, section in sections.items():
        np.testing.assert_array_equal(again.index.section_pieces[chunk_id].values, section.values)
