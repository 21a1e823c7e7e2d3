"""The knowledge base as data, below the API: writes, the version, and the embedding cache.

What retrieval relies on (``KnowledgeStore``): only a tenant's own published
articles, a version that grows with every change (and only then), and
embeddings that survive a new store object (a restart) per tenant and model.
SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from supportai.caller import Caller
from supportai.knowledge import Article, ArticleDraft, ArticleError, KnowledgeStore, changes

ADMIN_A = Caller("kb-a", "admin-a")
ADMIN_B = Caller("kb-b", "admin-b")


def draft(slug: str, **fields: Any) -> ArticleDraft:
    values = {"title": f"About {slug}", "body": f"# About {slug}\n\nText of {slug}."}
    return ArticleDraft(slug=slug, **{**values, **fields})


@pytest.fixture
async def runtime(supportai_app: Any) -> Any:
    app = supportai_app()
    runtime = app.state.supportai
    await runtime.start()
    return runtime


async def write(runtime: Any, actor: Caller, *drafts: ArticleDraft, **kw: Any) -> Any:
    async with runtime.database.connection() as conn:
        return await changes.import_articles(
            conn, actor, list(drafts), is_sqlite=runtime.database.is_sqlite, **kw
        )


async def test_published_articles_are_the_tenants_own_and_published(runtime: Any) -> None:
    store = KnowledgeStore(runtime.database)
    assert await store.version("kb-a") == 0
    await write(
        runtime,
        ADMIN_A,
        draft("refunds", tags=("billing", "money")),
        draft("secret-plans", published=False),
        draft("refunds", locale="de", title="Rückerstattung"),
    )
    await write(runtime, ADMIN_B, draft("b-only"))
    published = await store.published_articles("kb-a")
    assert [(a.slug, a.locale) for a in published] == [("refunds", "en"), ("refunds", "de")]
    first = published[0]
    assert isinstance(first, Article) and first.tenant_id == "kb-a"
    assert first.tags == ("billing", "money") and first.url is None and first.published
    assert first.updated_at.tzinfo is not None
    assert [a.slug for a in await store.published_articles("kb-b")] == ["b-only"]
    assert await store.published_articles("nobody") == []
    german = await store.published_article("kb-a", "refunds", "de")
    assert german is not None and german.title == "Rückerstattung"
    assert (await store.published_article("kb-a", "refunds")) == first
    assert await store.published_article("kb-a", "secret-plans") is None, "drafts are not served"
    assert await store.published_article("kb-b", "refunds") is None


async def test_version_grows_with_every_change_and_only_then(runtime: Any) -> None:
    store = KnowledgeStore(runtime.database)
    db = runtime.database
    result = await write(runtime, ADMIN_A, draft("one"), draft("two"))
    assert result.created == 2 and await store.version("kb-a") == result.version == 1
    assert await store.version("kb-b") == 0, "another tenant's version did not move"

    again = await write(runtime, ADMIN_A, draft("one"), draft("two"))
    assert again.unchanged == 2 and await store.version("kb-a") == 1, "a no-op bumps nothing"

    one = next(a for a in await store.articles("kb-a") if a.slug == "one")
    async with db.connection() as conn:
        updated = await changes.update(
            conn,
            ADMIN_A,
            one.id,
            lambda a: dataclasses.replace(draft(a.slug), body="New text."),
            expected_revision=one.revision,
            is_sqlite=db.is_sqlite,
        )
        assert updated is not None and updated.revision == 2
        assert await store.version("kb-a") == 2
        deleted = await changes.delete(
            conn, ADMIN_A, one.id, expected_revision=None, is_sqlite=db.is_sqlite
        )
        assert deleted is not None
    assert await store.version("kb-a") == 3
    # a fresh store object (another worker, a restart) reads the same version
    assert await KnowledgeStore(db).version("kb-a") == 3


async def test_import_is_all_or_nothing(runtime: Any) -> None:
    store = KnowledgeStore(runtime.database)
    await write(runtime, ADMIN_A, draft("kept"))
    with pytest.raises(ArticleError) as error:
        await write(runtime, ADMIN_A, draft("new"), draft("kept", title="changed"), draft("new"))
    assert (error.value.index, error.value.field) == (2, "slug")
    assert [a.title for a in await store.articles("kb-a")] == ["About kept"]
    assert await store.version("kb-a") == 1


async def test_prune_makes_the_tenant_equal_to_the_import(runtime: Any) -> None:
    store = KnowledgeStore(runtime.database)
    await write(runtime, ADMIN_A, draft("old"), draft("stays"))
    await write(runtime, ADMIN_B, draft("old"))
    result = await write(runtime, ADMIN_A, draft("stays"), draft("fresh"), prune=True)
    assert (result.created, result.unchanged, result.deleted) == (1, 1, 1)
    assert sorted(a.slug for a in await store.articles("kb-a")) == ["fresh", "stays"]
    assert [a.slug for a in await store.articles("kb-b")] == ["old"], "B untouched"


async def test_embeddings_persist_per_tenant_and_model(runtime: Any) -> None:
    store = KnowledgeStore(runtime.database)
    # more than one batch, and more keys than a load asks for with IN lists
    vectors = {f"k{i}": bytes([i % 256]) * 1024 for i in range(1300)}
    await store.save_embeddings("kb-a", "m1", vectors)
    await store.save_embeddings("kb-a", "m1", {"k1": b"new"})  # upsert
    await store.save_embeddings("kb-b", "m1", {"k1": b"other tenant"})

    restarted = KnowledgeStore(runtime.database)
    loaded = await restarted.load_embeddings("kb-a", "m1", [*vectors, "missing"])
    assert len(loaded) == 1300 and loaded["k1"] == b"new" and loaded["k2"] == vectors["k2"]
    few = await restarted.load_embeddings("kb-a", "m1", ["k7", "k1299", "k7", "missing"])
    assert few == {"k7": vectors["k7"], "k1299": vectors["k1299"]}
    most = await restarted.load_embeddings("kb-a", "m1", [f"k{i}" for i in range(1100)])
    assert set(most) == {f"k{i}" for i in range(1100)}, "only the keys asked for"
    assert await restarted.load_embeddings("kb-a", "m2", ["k1"]) == {}
    assert await restarted.load_embeddings("kb-b", "m1", ["k1", "k2"]) == {"k1": b"other tenant"}

    pruned = await restarted.prune_embeddings("kb-a", "m1", keep={"k1", "k2"})
    assert pruned == 1298
    assert set(await restarted.load_embeddings("kb-a", "m1", list(vectors))) == {"k1", "k2"}
    assert await restarted.load_embeddings("kb-b", "m1", ["k1"]) == {"k1": b"other tenant"}
