""" "Not found" reads how much of the question the best article's words cover, too."""

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
    assert index.coverage(0, tokenize("refund")) == 1.0
    assert index.coverage(1, tokenize("refund")) == 0.0
    assert index.coverage(0, []) == 0.0
    # A word no document uses ("atm") weighs more than one another document uses.
    unknown = index.coverage(0, tokenize("invoice atm"))
    elsewhere = index.coverage(0, tokenize("invoice password"))
    assert 0 < unknown < elsewhere < 1
    # A common word ("invoice", in two documents) weighs less than a rare one ("refund").
    assert index.coverage(2, tokenize("invoice refund")) < 0.5
    assert index.coverage(0, ["invoic", "invoic", "atm"]) == unknown  # each word counts once


def test_an_empty_index_covers_nothing() -> None:
    assert LexicalIndex([]).coverage(0, ["refund"]) == 0.0


PASSWORDS = """# Resetting your password

## Changing your password

To change your password, open **Profile → Security** and enter the new one twice.
"""
INVOICES = "# Invoices\n\nDownload every invoice as a PDF under Settings.\n"


def service(folder: Path, coverage_weight: float, min_score: float) -> RetrievalService:
    return RetrievalService(
        FileArticleSource(folder),
        CountingEmbedder,
        MemoryEmbeddingStore(),
        weights=Weights(),
        min_score=min_score,
        lexical_min_score=0.1,
        coverage_weight=coverage_weight,
    )


@pytest.fixture
def help_center(tmp_path: Path) -> Path:
    (tmp_path / "passwords.md").write_text(PASSWORDS, encoding="utf-8")
    (tmp_path / "invoices.md").write_text(INVOICES, encoding="utf-8")
    return tmp_path


async def test_a_question_about_a_word_the_article_never_uses_is_not_found(
    help_center: Path,
) -> None:
    """Close to the password article by its other words, but about a PIN, which it never
    mentions: with coverage the two questions are far apart, without it they are not."""
    plain = service(help_center, coverage_weight=0.0, min_score=0.0)
    password = await plain.search("acme", "change password")
    pin = await plain.search("acme", "change PIN")
    assert password.hits[0].article_id == pin.hits[0].article_id == "passwords"
    assert password.score == password.hits[0].score  # weight 0: the fused score alone
    fused_gap = password.score - pin.score

    threshold = (password.hits[0].score + 1.0 + pin.hits[0].score + 0.5) / 2
    covered = service(help_center, coverage_weight=1.0, min_score=threshold)
    password = await covered.search("acme", "change password")
    pin = await covered.search("acme", "change PIN")
    assert password.score == pytest.approx(password.hits[0].score + 1.0)
    assert pin.score < pin.hits[0].score + 0.5
    assert password.score - pin.score > fused_gap + 0.5
    assert password.answered and not pin.answered
