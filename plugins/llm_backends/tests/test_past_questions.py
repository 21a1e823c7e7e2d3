"""Questions readers asked that an article answered: they help choose which article comes
first, never whether there is an answer (decision 0032)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from supportai_llm_backends.retrieval.index import Weights
from supportai_llm_backends.retrieval.questions import (
    QUESTIONS_MODEL_SUFFIX,
    past_questions,
    texts_of,
)
from supportai_llm_backends.retrieval.service import RetrievalService
from supportai_llm_backends.retrieval.source import DatabaseArticleSource, FileArticleSource
from supportai_llm_backends.retrieval.store import DatabaseEmbeddingStore, MemoryEmbeddingStore
from test_retrieval import CountingEmbedder, FakeKnowledgeStore

from supportai.embeddings import Embedder, EmbeddingError

INVOICES = """# Finding your invoices

Every payment has an invoice. Download it as a PDF under **Settings → Billing → Invoices**.
"""
PASSWORDS = """# Resetting your password

Click **Forgot password** on the sign-in page and follow the link we send you.
"""
#: Shares "link" and "send" with the password article and nothing with the invoices one:
#: the sections' cosines put the password article first.
QUESTION = "where is the receipt link you send"
#: What an earlier reader asked, and the invoices article answered.
ASKED = "where is the receipt you send after I pay"
#: The sections' cosine alone, and the closest past question on top of it.
SECTIONS_ONLY = Weights(
    dense_chunk=1.0, dense_heading=0, dense_article=0, lexical_article=0, coverage=0
)
WITH_QUESTIONS = replace(SECTIONS_ONLY, questions=1.0)


def front_matter(questions: Sequence[str]) -> str:
    listed = "".join(f'  - "{question}"\n' for question in questions)
    return f"---\nquestions:\n{listed}---\n" if questions else ""


def help_center(folder: Path, questions: Sequence[str] = (ASKED,)) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "invoices.md").write_text(front_matter(questions) + INVOICES, encoding="utf-8")
    (folder / "passwords.md").write_text(PASSWORDS, encoding="utf-8")
    return folder


def service(
    folder: Path,
    embedder: Embedder,
    weights: Weights,
    store: MemoryEmbeddingStore | None = None,
) -> RetrievalService:
    return RetrievalService(
        FileArticleSource(folder),
        lambda: embedder,
        store if store is not None else MemoryEmbeddingStore(),
        weights=weights,
        min_score=0.0,
        lexical_min_score=0.1,
        version_check_s=0.0,
    )


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_an_articles_closest_past_question_is_its_best_cosine() -> None:
    known = {"a": unit(1, 0).tobytes(), "b": unit(0, 1).tobytes(), "c": unit(1, 1).tobytes()}
    found = past_questions({"refunds": {"a": "", "c": ""}, "invoices": {"b": ""}}, known)
    assert found is not None
    closest = found.closest(["refunds", "invoices", "untold"], unit(1, 0))
    # an article without past questions gets no say; the shared row is stored once
    assert closest == pytest.approx({"refunds": 1.0, "invoices": 0.0}, abs=1e-3)
    assert len(found.vectors) == 3
    assert past_questions({}, known) is None


def test_past_questions_are_embedded_as_a_question_is() -> None:
    """Without the product's name and the reader's personal data, so that they meet the
    new question where its own vector is (decision 0028)."""
    keyed = texts_of(
        {"refunds": ["Can Acme refund me? mail ann@example.com", "   "], "empty": []},
        frozenset({"acme"}),
    )
    assert list(keyed) == ["refunds"]
    (text,) = keyed["refunds"].values()
    assert "Acme" not in text and "ann@example.com" not in text and "refund" in text


async def test_a_past_question_brings_its_article_first(tmp_path: Path) -> None:
    folder = help_center(tmp_path / "kb")
    embedder = CountingEmbedder()
    before = await service(folder, embedder, SECTIONS_ONLY).search("acme", QUESTION)
    after = await service(folder, embedder, WITH_QUESTIONS).search("acme", QUESTION)
    assert [hit.article_id for hit in before.hits] == ["passwords", "invoices"]
    assert [hit.article_id for hit in after.hits] == ["invoices", "passwords"]
    # it chooses the first article, never whether there is an answer
    assert after.score == pytest.approx(before.score)


async def test_without_past_questions_or_their_weight_nothing_changes(tmp_path: Path) -> None:
    plain = help_center(tmp_path / "plain", questions=())
    embedder = CountingEmbedder()
    found = await service(plain, embedder, WITH_QUESTIONS).search("acme", QUESTION)
    assert [hit.article_id for hit in found.hits] == ["passwords", "invoices"]

    asked = help_center(tmp_path / "asked")
    off = CountingEmbedder()
    found = await service(asked, off, SECTIONS_ONLY).search("acme", QUESTION)
    assert [hit.article_id for hit in found.hits] == ["passwords", "invoices"]
    assert not any(ASKED in text for text in off.embedded)  # weight 0: not embedded


async def test_past_questions_are_embedded_once_across_restarts(tmp_path: Path) -> None:
    folder = help_center(tmp_path / "kb")
    store = MemoryEmbeddingStore()
    first = CountingEmbedder()
    await service(folder, first, WITH_QUESTIONS, store).search("acme", QUESTION)
    assert sum(ASKED in text for text in first.embedded) == 1
    stored = store.data[("acme", first.model + QUESTIONS_MODEL_SUFFIX)]
    assert len(stored) == 1

    restarted = CountingEmbedder()
    found = await service(folder, restarted, WITH_QUESTIONS, store).search("acme", QUESTION)
    assert found.hits[0].article_id == "invoices"
    assert restarted.embedded == [QUESTION]  # only the new question itself

    # an edited question is embedded, the one it replaced is forgotten
    help_center(folder, questions=("my receipt link please",))
    edited = CountingEmbedder()
    await service(folder, edited, WITH_QUESTIONS, store).search("acme", QUESTION)
    assert [t for t in edited.embedded if t != QUESTION] == ["my receipt link please"]
    assert len(stored) == 1


class FailingOnQuestions(CountingEmbedder):
    """Embeds the help center, then fails on the past questions (a remote embedder
    that went down between two requests)."""

    async def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        if any(ASKED in text for text in texts):
            raise EmbeddingError("the embedder is down")
        return await super().embed(texts)


async def test_a_failing_embedder_ranks_without_past_questions(tmp_path: Path) -> None:
    folder = help_center(tmp_path / "kb")
    found = await service(folder, FailingOnQuestions(), WITH_QUESTIONS).search("acme", QUESTION)
    assert [hit.article_id for hit in found.hits] == ["passwords", "invoices"]


async def test_past_questions_of_articles_in_the_database_count(tmp_path: Path) -> None:
    store = FakeKnowledgeStore()
    store.publish("acme", "invoices", "Finding your invoices", INVOICES, questions=(ASKED,))
    store.publish("acme", "passwords", "Resetting your password", PASSWORDS)
    retrieval = RetrievalService(
        DatabaseArticleSource(store, None),
        CountingEmbedder,
        DatabaseEmbeddingStore(store),
        weights=WITH_QUESTIONS,
        min_score=0.0,
        lexical_min_score=0.1,
        version_check_s=0.0,
    )
    found = await retrieval.search("acme", QUESTION)
    assert found.hits[0].article_id == "invoices"
    # another tenant's articles and their questions are not this tenant's
    assert not (await retrieval.search("globex", QUESTION)).hits
