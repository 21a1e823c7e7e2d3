"""An article's tags: the words its readers use for its subject, searched but never quoted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from llm_backends_fake_embeddings import vector
from supportai_llm_backends.retrieval.index import Weights
from supportai_llm_backends.retrieval.service import RetrievalService
from supportai_llm_backends.retrieval.source import DatabaseArticleSource, FileArticleSource
from supportai_llm_backends.retrieval.store import DatabaseEmbeddingStore, MemoryEmbeddingStore
from test_retrieval import CountingEmbedder, FakeKnowledgeStore

from supportai.embeddings import Embedder

INVOICES = """# Finding your invoices

Every payment has an invoice. Download it as a PDF under **Settings → Billing → Invoices**.
"""
PASSWORDS = """# Resetting your password

Click **Forgot password** on the sign-in page and follow the link we e-mail you.
"""
#: No signal at all: each test below turns on the one it is about.
NO_SIGNAL = Weights(
    dense_chunk=0,
    dense_heading=0,
    dense_article=0,
    lexical_chunk=0,
    lexical_article=0,
    coverage=0,
)
#: The title-and-tags cosine alone: what it ranks, nothing else did.
ONLY_TAGS = replace(NO_SIGNAL, dense_tags=1.0)
#: The closest-phrase cosine alone (decision 0021).
ONLY_PHRASES = replace(NO_SIGNAL, dense_phrase=1.0)
#: Many subjects in one tag list: averaged into one vector, each counts for little.
MANY_TAGS = (
    "---\ntags: [receipt, billing history, vat number, company address, bank transfer]\n---\n"
)
#: A word neither article says: only a tag can lead to the invoices article.
QUESTION = "where is my receipt"


def cosine(first: str, second: str) -> float:
    a, b = np.asarray(vector(first)), np.asarray(vector(second))
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def help_center(folder: Path, front_matter: str = "") -> Path:
    folder.mkdir()
    (folder / "invoices.md").write_text(front_matter + INVOICES, encoding="utf-8")
    (folder / "passwords.md").write_text(PASSWORDS, encoding="utf-8")
    return folder


def service(folder: Path, embedder: Embedder | None, weights: Weights) -> RetrievalService:
    return RetrievalService(
        FileArticleSource(folder),
        lambda: embedder,
        MemoryEmbeddingStore(),
        weights=weights,
        min_score=0.0,
        lexical_min_score=0.1,
        version_check_s=0.0,
    )


async def test_a_tag_finds_the_article_whose_text_never_says_it(tmp_path: Path) -> None:
    tagged = help_center(tmp_path / "tagged", "---\ntags: [receipt, billing]\n---\n")
    found = await service(tagged, None, Weights()).search("acme", QUESTION)
    assert found.answered and found.hits[0].article_id == "invoices"

    untagged = help_center(tmp_path / "untagged")
    missed = await service(untagged, None, Weights()).search("acme", QUESTION)
    assert not missed.answered


async def test_the_title_and_tags_vector_ranks_by_the_tags(tmp_path: Path) -> None:
    """With only the title-and-tags cosine in the fusion, the tag alone decides."""
    folder = help_center(tmp_path / "articles", "---\ntags: [receipt]\n---\n")
    embedder = CountingEmbedder()
    result = await service(folder, embedder, ONLY_TAGS).search("acme", "receipt")
    assert result.hits[0].article_id == "invoices"
    assert result.hits[0].score > 0.4 > result.hits[1].score
    # one text per article: "title: tags", and the title alone for an untagged article
    assert "Finding your invoices: receipt" in embedder.embedded
    assert "Resetting your password" in embedder.embedded


async def test_one_tag_among_many_counts_in_full_as_a_phrase(tmp_path: Path) -> None:
    """The question that is one of a dozen tags matches that tag, not their average."""
    folder = help_center(tmp_path / "articles", MANY_TAGS)
    by_phrase = await service(folder, CountingEmbedder(), ONLY_PHRASES).search("acme", "receipt")
    by_tags = await service(folder, CountingEmbedder(), ONLY_TAGS).search("acme", "receipt")
    assert by_phrase.hits[0].article_id == by_tags.hits[0].article_id == "invoices"
    assert by_phrase.hits[0].score == pytest.approx(1.0, abs=1e-5)  # "receipt" is a phrase
    assert by_tags.hits[0].score < 0.5
    assert by_phrase.hits[1].article_id == "passwords" and by_phrase.hits[1].score < 0.1


async def test_each_phrase_is_embedded_once_and_kept(tmp_path: Path) -> None:
    """Title and tags one by one, the title alone for an untagged article; a restart (a new
    service over the same store) embeds none of them again."""
    folder = help_center(tmp_path / "articles", MANY_TAGS)
    store = MemoryEmbeddingStore()
    embedder = CountingEmbedder()

    def build() -> RetrievalService:
        return RetrievalService(
            FileArticleSource(folder),
            lambda: embedder,
            store,
            weights=ONLY_PHRASES,
            min_score=0.0,
            lexical_min_score=0.1,
        )

    await build().search("acme", QUESTION)
    for phrase in ("Finding your invoices", "receipt", "vat number", "Resetting your password"):
        assert embedder.embedded.count(phrase) == 1, phrase
    again = build()
    await again.search("acme", "vat")
    assert again.embedded_count == 0
    assert embedder.embedded[-1] == "vat"  # only the question


async def test_a_new_tag_embeds_only_itself(tmp_path: Path) -> None:
    """Editing an article's tags rebuilds its index, but every unchanged text, phrases
    included, comes from the store: only the new tag is embedded."""
    folder = help_center(tmp_path / "articles", "---\ntags: [receipt]\n---\n")
    embedder = CountingEmbedder()
    svc = service(folder, embedder, ONLY_PHRASES)
    await svc.search("acme", QUESTION)
    (folder / "invoices.md").write_text("---\ntags: [receipt, bill]\n---\n" + INVOICES)
    before = len(embedder.embedded)
    result = await svc.search("acme", "where is my bill")
    assert embedder.embedded[before:] == ["bill", "where is my bill"]
    assert result.hits[0].article_id == "invoices"
    # its score is the cosine with the new tag, the closest of its three phrases
    assert result.hits[0].score == pytest.approx(cosine("where is my bill", "bill"), abs=1e-5)


async def test_a_phrase_many_articles_share_is_stored_once(tmp_path: Path) -> None:
    """A large help center repeats its tags: each distinct phrase is one row, and each
    article still finds its own."""
    folder = help_center(tmp_path / "articles", "---\ntags: [receipt, billing]\n---\n")
    for n in range(3):
        (folder / f"a-topic-{n}.md").write_text(
            f"---\ntags: [billing, topic {n}]\n---\n# Topic {n}\n\nAbout topic {n}.\n"
        )
    result = await service(folder, CountingEmbedder(), ONLY_PHRASES).search("acme", "topic 1")
    phrases = result.index.phrases
    assert phrases is not None
    # titles: 5; tags: receipt, billing, topic 0-2 (the titles "Topic n" are other texts)
    assert len(phrases.matrix) == 10
    assert result.hits[0].article_id == "a-topic-1"
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-5)


async def test_a_section_heading_is_a_phrase_of_an_untagged_article(tmp_path: Path) -> None:
    """Without tags, an article's phrases are its title and its sections' headings: a
    question in the words of one heading finds the article by that phrase alone."""
    folder = help_center(tmp_path / "articles")
    (folder / "passwords.md").write_text(
        PASSWORDS + "\n## Locked out after too many attempts\n\nWait fifteen minutes.\n"
    )
    embedder = CountingEmbedder()
    result = await service(folder, embedder, ONLY_PHRASES).search(
        "acme", "Locked out after too many attempts"
    )
    assert result.hits[0].article_id == "passwords"
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert embedder.embedded.count("Locked out after too many attempts") == 2  # and the question
    phrases = result.index.phrases
    assert phrases is not None
    assert len(phrases.matrix) == 3  # two titles and one heading


async def test_without_the_weight_nothing_is_embedded_for_tags(tmp_path: Path) -> None:
    folder = help_center(tmp_path / "articles", "---\ntags: [receipt]\n---\n")
    embedder = CountingEmbedder()
    await service(folder, embedder, Weights()).search("acme", "receipt")
    assert not any("receipt" in text for text in embedder.embedded[:-1])
    assert embedder.embedded[-1] == "receipt"  # the question


async def test_tags_are_searched_never_quoted(tmp_path: Path) -> None:
    folder = help_center(tmp_path / "articles", "---\ntags: [receipt]\n---\n")
    svc = service(folder, CountingEmbedder(), Weights(dense_tags=0.5))
    result = await svc.search("acme", QUESTION)
    index = result.index
    assert all("receipt" not in chunk.body and "tags" not in chunk.body for chunk in index.chunks)
    assert all("receipt" not in passage for c in index.chunks for passage in c.passages)
    assert "receipt" not in index.article_text("invoices")


async def test_a_file_the_import_would_refuse_still_serves_without_tags(tmp_path: Path) -> None:
    folder = help_center(tmp_path / "articles", "---\ntags: {receipt: yes}\n---\n")
    svc = service(folder, None, Weights())
    assert not (await svc.search("acme", QUESTION)).answered
    invoices = await svc.search("acme", "download invoice pdf")
    assert invoices.hits[0].article_id == "invoices"
    assert "receipt" not in invoices.index.article_text("invoices")


async def test_the_database_articles_tags_are_searched(tmp_path: Path) -> None:
    store = FakeKnowledgeStore()
    store.publish("acme", "invoices", "Finding your invoices", INVOICES, ("receipt",))
    store.publish("acme", "passwords", "Resetting your password", PASSWORDS)
    svc = RetrievalService(
        DatabaseArticleSource(store, None),
        lambda: None,
        DatabaseEmbeddingStore(store),
        weights=Weights(),
        min_score=0.0,
        lexical_min_score=0.1,
    )
    result = await svc.search("acme", QUESTION)
    assert result.answered and result.hits[0].article_id == "invoices"
    assert not (await svc.search("other", QUESTION)).answered


@pytest.mark.parametrize("weights", [ONLY_TAGS, ONLY_PHRASES], ids=["tags", "phrases"])
async def test_a_large_help_center_ranks_articles_by_their_tags_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weights: Weights
) -> None:
    """Above CANDIDATE_ARTICLES articles, the first, per-article stage reads the tags vector
    and the closest phrase."""
    from supportai_llm_backends.retrieval import index as index_module

    folder = help_center(tmp_path / "articles", "---\ntags: [receipt]\n---\n")
    for n in range(3):
        (folder / f"a-topic-{n}.md").write_text(f"# Topic {n}\n\nAbout topic {n}.\n")
    monkeypatch.setattr(index_module, "CANDIDATE_ARTICLES", 2)
    result = await service(folder, CountingEmbedder(), weights).search("acme", "receipt")
    assert result.hits[0].article_id == "invoices"
    assert result.hits[0].score > 0.4
