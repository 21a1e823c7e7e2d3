"""Per-tenant retrieval: cleaning, stemming, fusion, lazy and bounded indexes,
incremental re-embedding, persisted vectors and the fallback to BM25."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from llm_backends_fake_embeddings import vector
from llm_backends_testing import FIXTURE_ARTICLES
from supportai_llm_backends.retrieval.index import Weights
from supportai_llm_backends.retrieval.lexical import tokenize
from supportai_llm_backends.retrieval.query import asked, clean_query
from supportai_llm_backends.retrieval.service import RetrievalService
from supportai_llm_backends.retrieval.source import FileArticleSource
from supportai_llm_backends.retrieval.store import FileEmbeddingStore, MemoryEmbeddingStore

from supportai.embeddings import Embedder, EmbeddingError


class CountingEmbedder:
    """Bag-of-words vectors; counts every text it is asked to embed."""

    name = "counting"

    def __init__(self, model: str = "count-v1", fail: bool = False) -> None:
        self.model = model
        self.fail = fail
        self.embedded: list[str] = []

    async def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        if self.fail:
            raise EmbeddingError("the embedder is down")
        self.embedded.extend(texts)
        return [vector(text) for text in texts]


def service(
    folder: Path,
    embedder: Embedder | None,
    store: object | None = None,
    *,
    clock: list[float] | None = None,
    **options: object,
) -> RetrievalService:
    now = clock if clock is not None else [0.0]
    return RetrievalService(
        FileArticleSource(folder),
        lambda: embedder,
        store if store is not None else MemoryEmbeddingStore(),  # type: ignore[arg-type]
        weights=Weights(),
        min_score=float(options.get("min_score", 0.0)),  # type: ignore[arg-type]
        lexical_min_score=float(options.get("lexical_min_score", 1.0)),  # type: ignore[arg-type]
        max_tenants=int(options.get("max_tenants", 64)),  # type: ignore[call-overload]
        version_check_s=float(options.get("version_check_s", 0.0)),  # type: ignore[arg-type]
        clock=lambda: now[0],
    )


#: A question the bag-of-words test embedder and BM25 both send to the refunds article.
REFUND = "refunded in full within 14 days"


@pytest.fixture
def help_center(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(FIXTURE_ARTICLES, folder)
    return folder


# -- the query ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kept", "gone"),
    [
        (
            "my card 4111 1111 1111 1111 was charged twice, email me at jane.doe@example.com",
            "my card was charged twice, email me at",
            ["4111", "jane"],
        ),
        (
            "invoice INV-2024-0042 is wrong, call +44 20 7946 0958",
            "invoice is wrong, call",
            ["INV"],
        ),
        ("order 8f3a2c9e-1b2d-4e5f-9a8b-7c6d5e4f3a2b failed", "order failed", ["8f3a"]),
        # A number that ends a sentence goes too (the full stop is not part of it).
        (
            "I am Ann, +44 7700 900123. Please delete me. Card 4111 1111 1111 1111.",
            "I am Ann, . Please delete me. Card .",
            ["7700", "4111"],
        ),
        ("customer cus_K1x9aB3dE see https://x.example/a?b=1", "customer see", ["cus_", "http"]),
        # What looks like data but is part of the question stays.
        ("does 2-step verification cost $16 per seat, 2 GB, error 429?", None, []),
    ],
)
def test_personal_data_and_ids_leave_the_query(
    question: str, kept: str | None, gone: list[str]
) -> None:
    cleaned = clean_query(question)
    assert cleaned == (kept if kept is not None else question)
    assert not any(part in cleaned for part in gone)


#: A long chat message: its story is about passwords, what it asks is about a refund.
LONG_MESSAGE = (
    "Hi! Yesterday I forgot my password, clicked the reset link on the sign-in page and set a "
    "new password, which worked fine, thanks. While I was there I looked around my account "
    "settings. Can I still get a refund for last month?"
)


def test_a_long_message_is_read_for_what_it_asks() -> None:
    assert asked(LONG_MESSAGE) == "Can I still get a refund for last month?"
    # several questions are all kept, in order
    two = "I have a long story to tell you first. " * 5 + "Can I? And how long does it take?"
    assert asked(two) == "Can I? And how long does it take?"
    # a short message's every sentence is the question's context
    short = "SSO was turned off yesterday. Where can I see who did it?"
    assert asked(short) == short
    # a long message that asks nothing with a question mark, or is one sentence, stays whole
    story = "I tried everything and the export still fails every time I run it. " * 3
    assert asked(story) == story
    one = "could you tell me " + "why the export of the biggest project " * 4 + "fails?"
    assert asked(one) == one


async def test_the_words_of_a_long_messages_story_do_not_outrank_what_it_asks(
    help_center: Path,
) -> None:
    result = await service(help_center, None).search("acme", LONG_MESSAGE)
    assert result.hits[0].article_id == "refunds"
    assert result.tokens == tuple(tokenize("still get a refund for last month"))


async def test_a_long_messages_question_without_words_of_its_own_reads_the_story(
    help_center: Path,
) -> None:
    message = (
        "Hello, we subscribed to the paid plan for the first time eight days ago and changed "
        "our minds, the team prefers the old tool and we want the first payment refunded in "
        "full. How do I do that?"
    )
    result = await service(help_center, None).search("acme", message)
    assert result.hits[0].article_id == "refunds"
    assert "refund" in result.tokens


def test_stemming_meets_word_forms_and_drops_question_words() -> None:
    assert tokenize("Refunded invoices") == tokenize("refund invoice")
    assert tokenize("How do I get my") == []


# -- the service ----------------------------------------------------------------------------


async def test_index_is_built_lazily_per_tenant_and_ranks_by_meaning(help_center: Path) -> None:
    embedder = CountingEmbedder()
    svc = service(help_center, embedder)
    assert embedder.embedded == [] and svc.cached_tenants() == []
    result = await svc.search("acme", "can I get my money refunded?")
    assert result.hits[0].article_id == "refunds"
    assert result.hits[0].chunks[0].chunk.article_title == "Refund policy"
    assert svc.cached_tenants() == ["acme"]
    embedded = len(embedder.embedded)
    assert embedded > 0
    await svc.search("acme", "reset my password")  # same tenant: only the question is embedded
    assert embedder.embedded[embedded:] == ["reset my password"]


async def test_least_recently_used_tenants_are_dropped(help_center: Path) -> None:
    svc = service(help_center, CountingEmbedder(), max_tenants=2)
    for tenant in ("a", "b", "a", "c"):
        await svc.search(tenant, "refund")
    assert svc.cached_tenants() == ["a", "c"]


async def test_an_edited_article_reembeds_only_its_changed_sections(help_center: Path) -> None:
    clock = [0.0]
    embedder = CountingEmbedder()
    svc = service(help_center, embedder, clock=clock, version_check_s=5.0)
    before = await svc.search("acme", "mobile app offline")
    assert before.hits[0].article_id == "mobile-app"
    embedder.embedded.clear()

    path = help_center / "refunds.md"
    path.write_text(path.read_text() + "\n\nRefunds of gift cards are not possible.\n")
    # Within version_check_s the worker does not even ask.
    unchanged = await svc.index_for("acme")
    assert unchanged is before.index
    clock[0] += 10
    result = await svc.search("acme", "gift cards refund")
    assert result.index is not before.index
    assert result.hits[0].article_id == "refunds"
    # Only the edited section's text and its one new paragraph (a passage) were embedded
    # (its heading text and its other paragraphs did not change), then the question.
    assert embedder.embedded[:-1] == [
        embedder.embedded[0],
        "Refunds of gift cards are not possible.",
    ]
    assert "gift cards" in embedder.embedded[0] and len(embedder.embedded[0]) > 100
    assert embedder.embedded[-1] == "gift cards refund"


async def test_embeddings_survive_a_restart(help_center: Path, tmp_path: Path) -> None:
    store_folder = tmp_path / "vectors"
    first = CountingEmbedder()
    await service(help_center, first, FileEmbeddingStore(store_folder)).search("acme", REFUND)
    assert first.embedded
    restarted = CountingEmbedder()
    result = await service(help_center, restarted, FileEmbeddingStore(store_folder)).search(
        "acme", REFUND
    )
    assert result.hits[0].article_id == "refunds"
    assert restarted.embedded == [REFUND]  # the query only: every section came from disk
    # Another model never reuses these vectors.
    other = CountingEmbedder(model="count-v2")
    await service(help_center, other, FileEmbeddingStore(store_folder)).search("acme", REFUND)
    assert len(other.embedded) > 1


async def test_a_failing_embedder_falls_back_to_bm25(help_center: Path) -> None:
    svc = service(help_center, CountingEmbedder(fail=True), lexical_min_score=0.5)
    result = await svc.search("acme", "refund within 14 days")
    assert not result.index.has_vectors
    assert result.answered and result.hits[0].article_id == "refunds"
    nothing = await svc.search("acme", "tell me a joke")
    assert not nothing.answered


async def test_no_embedder_ranks_with_bm25_alone(help_center: Path) -> None:
    svc = service(help_center, None, lexical_min_score=0.5)
    result = await svc.search("acme", "revoke an API token")
    assert result.hits[0].article_id == "api-tokens" and result.answered


async def test_the_threshold_decides_whether_the_best_article_answers(help_center: Path) -> None:
    strict = service(help_center, CountingEmbedder(), min_score=99.0)
    assert not (await strict.search("acme", "refund")).answered
    lenient = service(help_center, CountingEmbedder(), min_score=0.1)
    assert (await lenient.search("acme", "refund")).answered


async def test_one_turn_searches_once(help_center: Path) -> None:
    embedder = CountingEmbedder()
    svc = service(help_center, embedder)
    first = await svc.search("acme", "refund please")
    count = len(embedder.embedded)
    assert await svc.search("acme", "refund please") is first
    assert len(embedder.embedded) == count


# -- articles and vectors in the app's database -------------------------------------------


class FakeKnowledgeStore:
    """The read side of core's KnowledgeStore, in memory (the real one is tested in core)."""

    class Row:
        def __init__(
            self,
            slug: str,
            title: str,
            body: str,
            tags: tuple[str, ...],
            questions: tuple[str, ...] = (),
        ) -> None:
            self.slug, self.title, self.body, self.url = slug, title, body, f"/help/{slug}"
            self.tags, self.questions = tags, questions

    def __init__(self) -> None:
        self.articles: dict[str, list[FakeKnowledgeStore.Row]] = {}
        self.versions: dict[str, int] = {}
        self.vectors: dict[tuple[str, str], dict[str, bytes]] = {}

    def publish(
        self,
        tenant_id: str,
        slug: str,
        title: str,
        body: str,
        tags: tuple[str, ...] = (),
        questions: tuple[str, ...] = (),
    ) -> None:
        row = self.Row(slug, title, body, tags, questions)
        self.articles.setdefault(tenant_id, []).append(row)
        self.versions[tenant_id] = self.versions.get(tenant_id, 0) + 1

    async def version(self, tenant_id: str) -> int:
        return self.versions.get(tenant_id, 0)

    async def published_articles(self, tenant_id: str) -> list[Row]:
        return list(self.articles.get(tenant_id, []))

    async def load_embeddings(
        self, tenant_id: str, model: str, keys: Sequence[str]
    ) -> dict[str, bytes]:
        stored = self.vectors.get((tenant_id, model), {})
        return {key: stored[key] for key in keys if key in stored}

    async def save_embeddings(self, tenant_id: str, model: str, vectors: dict[str, bytes]) -> None:
        self.vectors.setdefault((tenant_id, model), {}).update(vectors)

    async def prune_embeddings(self, tenant_id: str, model: str, keep: Sequence[str]) -> int:
        stored = self.vectors.get((tenant_id, model), {})
        stale = [key for key in stored if key not in set(keep)]
        for key in stale:
            del stored[key]
        return len(stale)


async def test_the_database_is_the_source_once_it_holds_the_tenants_articles(
    help_center: Path,
) -> None:
    from supportai_llm_backends.retrieval.source import DatabaseArticleSource
    from supportai_llm_backends.retrieval.store import DatabaseEmbeddingStore

    store = FakeKnowledgeStore()
    embedder = CountingEmbedder()
    svc = RetrievalService(
        DatabaseArticleSource(store, FileArticleSource(help_center)),
        lambda: embedder,
        DatabaseEmbeddingStore(store),
        weights=Weights(),
        min_score=0.0,
        lexical_min_score=1.0,
        version_check_s=0.0,
    )
    # Nothing in the database for this tenant yet: the folder serves.
    assert (await svc.search("acme", REFUND)).hits[0].article_id == "refunds"
    # Another worker publishes an article: the version moves, this worker rebuilds.
    store.publish("acme", "gift-cards", "Gift cards", "# Gift cards\n\nGift cards never expire.")
    result = await svc.search("acme", "do gift cards expire?")
    assert [hit.article_id for hit in result.hits] == ["gift-cards"]
    assert result.hits[0].url == "/help/gift-cards"
    # Tenants stay apart: another tenant still reads the folder.
    assert (await svc.search("other", REFUND)).hits[0].article_id == "refunds"
    # Vectors went to the database, so a new worker embeds nothing but its questions.
    assert store.vectors[("acme", "count-v1")]
    fresh = CountingEmbedder()
    restarted = RetrievalService(
        DatabaseArticleSource(store, None),
        lambda: fresh,
        DatabaseEmbeddingStore(store),
        weights=Weights(),
        min_score=0.0,
        lexical_min_score=1.0,
    )
    await restarted.search("acme", "gift cards")
    assert fresh.embedded == ["gift cards"]


async def test_a_large_help_center_scores_sections_of_its_best_articles_only(
    help_center: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above CANDIDATE_ARTICLES articles, articles are ranked first: same best answers."""
    from supportai_llm_backends.retrieval import index as index_module

    svc = service(help_center, CountingEmbedder())
    questions = ["refund within 14 days", "reset my password", "revoke a leaked token"]
    exact = [(await svc.search("acme", q)).hits for q in questions]
    monkeypatch.setattr(index_module, "CANDIDATE_ARTICLES", 2)
    svc._results.clear()
    pruned = [(await svc.search("acme", q)).hits for q in questions]
    for full, few in zip(exact, pruned, strict=True):
        assert few[0].article_id == full[0].article_id
        assert few[0].score == pytest.approx(full[0].score)
        assert [c.chunk.chunk_id for c in few[0].chunks] == [
            c.chunk.chunk_id for c in full[0].chunks
        ]
        assert len(few) <= 2


class BrokenKnowledgeStore(FakeKnowledgeStore):
    """A database that cannot be read (not connected, not migrated)."""

    async def version(self, tenant_id: str) -> int:
        raise ConnectionError("database not connected")

    async def published_articles(self, tenant_id: str) -> list[FakeKnowledgeStore.Row]:
        raise ConnectionError("database not connected")

    async def load_embeddings(
        self, tenant_id: str, model: str, keys: Sequence[str]
    ) -> dict[str, bytes]:
        raise ConnectionError("database not connected")

    async def save_embeddings(self, tenant_id: str, model: str, vectors: dict[str, bytes]) -> None:
        raise ConnectionError("database not connected")


async def test_an_unreadable_database_falls_back_to_the_folder(
    help_center: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from supportai_llm_backends.retrieval.source import DatabaseArticleSource
    from supportai_llm_backends.retrieval.store import DatabaseEmbeddingStore

    store = BrokenKnowledgeStore()
    svc = RetrievalService(
        DatabaseArticleSource(store, FileArticleSource(help_center)),
        CountingEmbedder,
        DatabaseEmbeddingStore(store),
        weights=Weights(),
        min_score=0.0,
        lexical_min_score=1.0,
    )
    assert (await svc.search("acme", REFUND)).hits[0].article_id == "refunds"
    assert "unavailable" in caplog.text
    # Without a folder to fall back on, the tenant has no articles for now: no answer,
    # and no failed turn.
    bare = RetrievalService(
        DatabaseArticleSource(store, None),
        CountingEmbedder,
        DatabaseEmbeddingStore(store),
        weights=Weights(),
        min_score=0.0,
        lexical_min_score=1.0,
    )
    nothing = await bare.search("acme", REFUND)
    assert not nothing.answered and nothing.hits == ()


async def test_a_tenant_without_any_article_gets_no_context_at_all() -> None:
    """The hook stays silent (None), as if the distribution were not installed."""
    from supportai_llm_backends.knowledge_base import context_documents
    from supportai_llm_backends.retrieval.source import DatabaseArticleSource
    from supportai_llm_backends.retrieval.store import DatabaseEmbeddingStore
    from supportai_llm_backends.settings import KnowledgeBaseSettings

    store = FakeKnowledgeStore()
    store.publish("acme", "gift-cards", "Gift cards", "# Gift cards\n\nGift cards never expire.")
    svc = RetrievalService(
        DatabaseArticleSource(store, None),
        CountingEmbedder,
        DatabaseEmbeddingStore(store),
        weights=Weights(),
        min_score=0.0,
        lexical_min_score=1.0,
    )
    settings = KnowledgeBaseSettings()
    assert await context_documents(svc, settings, "empty-tenant", "gift cards", 3) is None
    found = await context_documents(svc, settings, "acme", "do gift cards expire", 3)
    assert found and found[0].source_id == "gift-cards"


CONTACT = """# Contacting the Acme team

## What the team can and cannot do for you

The team can change the email address of your account, the address on your invoices
and the members of a workspace. The team cannot change an email address that your
company manages, and cannot read your private projects.

## Reaching us

- Chat with the assistant in the app at any time of day.
- Write to help@acme.example from your own email address.
- Call the office line during business hours.
"""


async def test_a_section_wins_by_its_one_passage_that_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list item that answers outweighs a section that is only about the same subject.

    Without the passage signal the longer section, which shares more of the question's
    words overall, is ranked first (checked here too, so the test fails if the signal
    stops counting).
    """
    from supportai_llm_backends.retrieval import index as index_module

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "contact.md").write_text(CONTACT)
    question = "what email address do I write to"

    async def best_section() -> str | None:
        result = await service(folder, CountingEmbedder()).search("acme", question)
        return result.hits[0].chunks[0].chunk.heading

    assert await best_section() == "Reaching us"
    monkeypatch.setattr(index_module, "SECTION_PASSAGE", 0.0)
    assert await best_section() == "What the team can and cannot do for you"
