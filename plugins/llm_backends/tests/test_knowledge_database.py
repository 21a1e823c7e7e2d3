"""Retrieval over the app's own knowledge base (core's ``KnowledgeStore``), for real.

Articles written through core's import are a tenant's source; a tenant with none
still reads the folder; an edit moves the version and is found by the next
question; vectors land in ``support_ai_embeddings``, so a new worker embeds only
its questions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from llm_backends_testing import FIXTURE_ARTICLES
from supportai_llm_backends.knowledge import service_for
from supportai_llm_backends.plugin import plugin

from supportai.caller import Caller
from supportai.knowledge import ArticleDraft, changes
from supportai.store import tables

ADMIN = Caller("kb-acme", "admin")
GIFT_CARDS = "# Gift cards\n\n## Expiry\n\nGift cards never expire and can be used on any plan."


async def publish(runtime: Any, body: str) -> None:
    draft = ArticleDraft(slug="gift-cards", title="Gift cards", body=body)
    async with runtime.database.connection() as conn:
        await changes.import_articles(conn, ADMIN, [draft], is_sqlite=runtime.database.is_sqlite)


async def stored_keys(runtime: Any) -> set[str]:
    async with runtime.database.connection() as conn:
        rows = await conn.fetch_all(
            sa.select(tables.embeddings.c.key).where(tables.embeddings.c.tenant_id == "kb-acme")
        )
    return {str(row[0]) for row in rows}


def app_with_help_center(supportai_app: Any) -> Any:
    return supportai_app(
        plugins=[plugin],
        llm_backend="knowledge_base",
        plugin_options={"kb": {"articles_dir": str(FIXTURE_ARTICLES), "version_check_s": 0}},
    )


async def test_the_database_serves_its_tenants_and_keeps_their_vectors(
    supportai_app: Any,
) -> None:
    app = app_with_help_center(supportai_app)
    runtime = app.state.supportai
    await runtime.start()
    await publish(runtime, GIFT_CARDS)
    service = service_for(runtime.context)

    found = await service.search("kb-acme", "do gift cards run out?")
    assert [hit.article_id for hit in found.hits] == ["gift-cards"]
    # Another tenant has nothing in the database: the folder serves it.
    other = await service.search("kb-other", "refunded in full within 14 days")
    assert other.hits[0].article_id == "refunds"

    stored = await stored_keys(runtime)
    assert stored  # the sections' vectors, in the database

    # An edit (any worker, any process) moves the version: the next question sees it.
    await publish(runtime, GIFT_CARDS.replace("never expire", "expire after two years"))
    edited = await service.search("kb-acme", "when do gift cards expire?")
    assert "two years" in edited.hits[0].chunks[0].chunk.body
    # The edited section's old vector is pruned, its new one stored: as many as before.
    after = await stored_keys(runtime)
    assert len(after) == len(stored) and after != stored

    # A second app (a new worker) on the same database embeds nothing but its question.
    second = app_with_help_center(supportai_app)
    second_runtime = second.state.supportai
    second_runtime.database = runtime.database
    second_runtime.context.database = runtime.database
    fresh = service_for(second_runtime.context)
    await fresh.search("kb-acme", "gift cards")
    assert fresh.embedded_count == 0
