"""An article's coverage of the question: a fusion signal that knows which words matter."""

from __future__ import annotations

from pathlib import Path

import pytest
from supportai_llm_backends.retrieval.index import Weights
from supportai_llm_backends.retrieval.lexical import LexicalIndex, tokenize
from supportai_llm_backends.retrieval.service import RetrievalService
from supportai_llm_backends.retrieval.source import FileArticleSource
from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore
from test_retrieval import CountingEmbedder

DOCUMENTS = ["refund invoice payment", "password reset email", "invoice pdf download"]


def test_coverage_is_the_rarity_weighted_share_of_the_question_a_document_holds() -> None:
    index = LexicalIndex(DOCUMENTS)
    assert list(index.coverages(tokenize("refund"))) == [1.0, 0.0, 0.0]
    assert not index.coverages([]).any()
    # A word no document uses ("atm") weighs more than one another document uses.
    unknown = index.coverages(tokenize("invoice atm"))[0]
    elsewhere = index.coverages(tokenize("invoice password"))[0]
    assert 0 < unknown < elsewhere < 1
    # A common word ("invoice", in two documents) weighs less than a rare one ("refund").
    assert index.coverages(tokenize("invoice refund"))[2] < 0.5
    assert index.coverages(["invoic", "invoic", "atm"])[0] == unknown  # each word counts once


@pytest.mark.parametrize(
    "word",
    [
        "what's",
        "i'm",
        "we're",
        "you've",
        "we'll",
        "i'd",
        "can't",
        "doesn't",
        "won't",
        "isn\u2019t",
        "dont",
        "cant",
        "im",
        "whats",
        "whenever",
        "however",
    ],
)
def test_contractions_of_stop_words_are_stop_words(word: str) -> None:
    """Stemmed, "what's" was a "what" and "can't" a "can't" that no article uses, so
    they weighed the most in the coverage of every question that had them."""
    assert tokenize(f"refund {word} invoice") == ["refund", "invoic"]


def test_a_possessive_or_a_name_with_an_apostrophe_is_kept() -> None:
    assert tokenize("Lumen's API for O'Brien") == ["lumen", "api", "o'brien"]


def test_a_contraction_no_longer_dilutes_the_coverage() -> None:
    index = LexicalIndex(DOCUMENTS)
    plain = index.coverages(tokenize("refund invoice"))[0]
    contracted = tokenize("what's a refund invoice? we're, I can't, it isn't")
    assert index.coverages(contracted)[0] == plain


def test_an_empty_index_covers_nothing() -> None:
    assert len(LexicalIndex([]).coverages(["refund"])) == 0


PASSWORDS = """# Resetting your password

## Changing your password

To change your password, open **Profile → Security** and enter the new one twice.
"""
INVOICES = "# Invoices\n\nDownload every invoice as a PDF under Settings.\n"


def service(folder: Path, coverage: float, embedder: bool = True) -> RetrievalService:
    return RetrievalService(
        FileArticleSource(folder),
        CountingEmbedder if embedder else lambda: None,
        MemoryEmbeddingStore(),
        weights=Weights(coverage=coverage),
        min_score=0.0,
        lexical_min_score=0.1,
    )


@pytest.fixture
def help_center(tmp_path: Path) -> Path:
    (tmp_path / "passwords.md").write_text(PASSWORDS, encoding="utf-8")
    (tmp_path / "invoices.md").write_text(INVOICES, encoding="utf-8")
    return tmp_path


async def test_a_question_about_a_word_the_article_never_uses_scores_lower(
    help_center: Path,
) -> None:
    """Close to the password article by its other words, but about a PIN, which it never
    mentions: with coverage in the fusion the two questions move apart, so a threshold
    can answer one and refuse the other."""
    plain = service(help_center, coverage=0.0)
    fused_gap = (await plain.search("acme", "change password")).score - (
        await plain.search("acme", "change PIN")
    ).score

    covered = service(help_center, coverage=1.0)
    password = await covered.search("acme", "change password")
    pin = await covered.search("acme", "change PIN")
    assert password.hits[0].article_id == pin.hits[0].article_id == "passwords"
    assert password.score - pin.score > fused_gap + 0.5


async def test_with_bm25_alone_coverage_stays_out(help_center: Path) -> None:
    """Without vectors, the article's BM25 already ranks by the question's words."""
    with_weight = await service(help_center, 1.0, embedder=False).search("acme", "change PIN")
    without = await service(help_center, 0.0, embedder=False).search("acme", "change PIN")
    assert with_weight.lexical and with_weight.score == without.score
    assert [h.score for h in with_weight.hits] == [h.score for h in without.hits]
