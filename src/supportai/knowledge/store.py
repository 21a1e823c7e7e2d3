"""The read side of the knowledge base, for retrieval: articles, version, embeddings.

A retrieval index (``supportai-llm-backends``) is built per tenant from
:meth:`KnowledgeStore.published_articles` and is stale once
:meth:`KnowledgeStore.version` has moved: the version lives in the database, so
a worker notices changes another worker (or ``supportai kb import``) made.
Embeddings are cached here under the keys the caller chose (content hashes of
chunks), per model, so a restart or a changed article re-embeds only the
chunks that are new.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from supportai.knowledge import queries
from supportai.knowledge.articles import Article
from supportai.store import tables
from supportai.store.compiled import Prepared
from supportai.store.conversations import now
from supportai.store.database import Database

E = tables.embeddings

#: The largest multi-row upsert: 4 parameters a row stays below every engine's limit.
SAVE_BATCH = 256
#: Above this many keys a load reads all of the tenant's vectors of the model at once.
LOAD_ALL_ABOVE = 1000


@functools.cache
def _upsert(is_sqlite: bool, rows: int) -> Prepared:
    """``INSERT ... ON CONFLICT DO UPDATE`` of ``rows`` rows, prepared once per size.

    Compiling a 256-row VALUES clause takes SQLAlchemy ~60 ms, longer than
    SQLite takes to write the rows; a prepared statement compiles once. Batches
    are split into power-of-two sizes (:func:`_sizes`), so at most nine shapes
    exist per engine.
    """
    values = [
        {
            "tenant_id": sa.bindparam("tenant_id"),
            "model": sa.bindparam("model"),
            "key": sa.bindparam(f"k{i}"),
            "vector": sa.bindparam(f"v{i}", type_=sa.LargeBinary),
            "created_at": sa.bindparam("moment", type_=tables.UTCDateTime()),
        }
        for i in range(rows)
    ]
    insert = (sqlite.insert(E) if is_sqlite else postgresql.insert(E)).values(values)
    return Prepared(
        insert.on_conflict_do_update(
            index_elements=[E.c.tenant_id, E.c.model, E.c.key],
            set_={"vector": insert.excluded.vector, "created_at": insert.excluded.created_at},
        )
    )


def _sizes(count: int) -> list[int]:
    """``count`` as full batches plus a power-of-two decomposition of the rest."""
    sizes = [SAVE_BATCH] * (count // SAVE_BATCH)
    rest, size = count % SAVE_BATCH, SAVE_BATCH
    while rest:
        size //= 2
        if rest >= size:
            sizes.append(size)
            rest -= size
    return sizes


_LOAD_ALL = Prepared(
    sa.select(E.c.key, E.c.vector).where(
        E.c.tenant_id == sa.bindparam("tenant_id"), E.c.model == sa.bindparam("model")
    )
)


class KnowledgeStore:
    """Tenant-scoped reads of articles and a persistent embedding cache.

    Each call holds one connection for its queries (``Database.connection``),
    so it is cheap to call ``version`` before every retrieval.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    async def version(self, tenant_id: str) -> int:
        """The tenant's knowledge version: 0 before any article was written, then only grows."""
        async with self.database.connection() as conn:
            return await queries.version(conn, tenant_id)

    async def published_articles(self, tenant_id: str) -> list[Article]:
        """Every published article of the tenant, all locales, oldest first."""
        async with self.database.connection() as conn:
            return await queries.all_of(conn, tenant_id, published_only=True)

    async def published_article(
        self, tenant_id: str, slug: str, locale: str | None = None
    ) -> Article | None:
        """One published article by slug (what a citation names), or ``None``."""
        async with self.database.connection() as conn:
            return await queries.published_by_slug(conn, tenant_id, slug, locale)

    async def articles(self, tenant_id: str) -> list[Article]:
        """Every article of the tenant, drafts included, oldest first."""
        async with self.database.connection() as conn:
            return await queries.all_of(conn, tenant_id)

    async def load_embeddings(
        self, tenant_id: str, model: str, keys: Sequence[str]
    ) -> dict[str, bytes]:
        """The stored vectors among ``keys`` (missing keys are simply absent).

        Building an index asks for every chunk of the tenant: then one read of
        all the tenant's vectors of the model beats thousands of ``IN`` lists.
        """
        wanted = set(keys)
        found: dict[str, bytes] = {}
        async with self.database.connection() as conn:
            if len(wanted) > LOAD_ALL_ABOVE:
                rows = await conn.fetch_all(_LOAD_ALL(tenant_id=tenant_id, model=model))
                for row in rows:
                    if row[0] in wanted:
                        found[str(row[0])] = bytes(row[1])
                return found
            for chunk in queries.batched(sorted(wanted)):
                rows = await conn.fetch_all(
                    sa.select(E.c.key, E.c.vector).where(
                        E.c.tenant_id == tenant_id, E.c.model == model, E.c.key.in_(chunk)
                    )
                )
                for row in rows:
                    found[str(row[0])] = bytes(row[1])
        return found

    async def save_embeddings(
        self, tenant_id: str, model: str, vectors: Mapping[str, bytes]
    ) -> None:
        """Store vectors by key (an existing key's vector is replaced), in one transaction."""
        items = list(vectors.items())
        if not items:
            return
        moment = now()
        async with self.database.connection() as conn, conn.transaction():
            start = 0
            for size in _sizes(len(items)):
                batch = items[start : start + size]
                start += size
                values: dict[str, object] = {
                    "tenant_id": tenant_id,
                    "model": model,
                    "moment": moment,
                }
                for i, (key, vector) in enumerate(batch):
                    values[f"k{i}"] = key
                    values[f"v{i}"] = bytes(vector)
                await conn.execute(_upsert(self.database.is_sqlite, size)(**values))

    async def prune_embeddings(self, tenant_id: str, model: str, keep: Collection[str]) -> int:
        """Delete the tenant's vectors of ``model`` whose key is not in ``keep``; returns how many.

        The store cannot tell which chunks an edited or deleted article had (the
        keys are the caller's), so the caller, after rebuilding an index, passes
        the keys it still uses.
        """
        keep_set = set(keep)
        async with self.database.connection() as conn:
            stored = await conn.fetch_all(
                sa.select(E.c.key).where(E.c.tenant_id == tenant_id, E.c.model == model)
            )
            stale = [str(row[0]) for row in stored if str(row[0]) not in keep_set]
            async with conn.transaction():
                for chunk in queries.batched(stale):
                    await conn.execute(
                        E.delete().where(
                            E.c.tenant_id == tenant_id, E.c.model == model, E.c.key.in_(chunk)
                        )
                    )
        return len(stale)
