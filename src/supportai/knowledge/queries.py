"""SQL for articles, their tags and questions, and the per-tenant knowledge version.

Every statement is scoped by ``tenant_id`` in SQL. Writers call these inside a
transaction they own (:mod:`supportai.knowledge.changes`), together with the
version bump and the audit event, so a reader never sees an article change
without the version that announces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from databases.core import Connection
from sqlalchemy.dialects import postgresql, sqlite

from supportai.knowledge.articles import Article, ArticleDraft
from supportai.store import tables
from supportai.store.compiled import Prepared, column_values, prepared_insert
from supportai.store.database import row_dict

A = tables.articles
T = tables.article_tags
Q = tables.article_questions
V = tables.knowledge_versions

#: Ids per ``IN (...)`` list: far below SQLite's bound-parameter limit.
IN_BATCH = 500


def article_of(row: dict[str, Any], tags: tuple[str, ...], questions: tuple[str, ...]) -> Article:
    return Article(
        id=int(row["id"]),
        tenant_id=row["tenant_id"],
        slug=row["slug"],
        title=row["title"],
        body=row["body"],
        url=row["url"],
        locale=row["locale"],
        tags=tags,
        published=bool(row["published"]),
        updated_at=row["updated_at"],
        revision=int(row["revision"]),
        created_at=row["created_at"],
        questions=questions,
    )


def batched(values: Sequence[Any], size: int = IN_BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def tags_of(
    conn: Connection, tenant_id: str, ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    """Each article's tags, sorted (the stored order), for many articles at once."""
    return await _listed(conn, tenant_id, ids, T.c.tag, T.c.tag)


async def questions_of(
    conn: Connection, tenant_id: str, ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    """Each article's questions in the order the admin gave, for many articles at once."""
    return await _listed(conn, tenant_id, ids, Q.c.question, Q.c.position)


async def _listed(
    conn: Connection,
    tenant_id: str,
    ids: Sequence[int],
    value: sa.Column[Any],
    order: sa.Column[Any],
) -> dict[int, tuple[str, ...]]:
    """``value`` of the rows of ``value``'s table (keyed by ``article_id``) for many
    articles at once, in ``order`` within each article: one query per batch of ids."""
    table = value.table
    found: dict[int, list[str]] = {}
    for chunk in batched(list(ids)):
        rows = await conn.fetch_all(
            sa.select(table.c.article_id, value)
            .where(table.c.tenant_id == tenant_id, table.c.article_id.in_(chunk))
            .order_by(table.c.article_id, order)
        )
        for row in rows:
            found.setdefault(int(row[0]), []).append(str(row[1]))
    return {article_id: tuple(values) for article_id, values in found.items()}


async def _complete(conn: Connection, tenant_id: str, rows: list[Any]) -> list[Article]:
    """Articles from their rows, with their tags and questions (two queries for any count)."""
    dicts = [row_dict(r) for r in rows]
    ids = [int(d["id"]) for d in dicts]
    tags = await tags_of(conn, tenant_id, ids)
    questions = await questions_of(conn, tenant_id, ids)
    return [
        article_of(d, tags.get(int(d["id"]), ()), questions.get(int(d["id"]), ())) for d in dicts
    ]


async def get(conn: Connection, tenant_id: str, article_id: int) -> Article | None:
    row = await conn.fetch_one(sa.select(A).where(A.c.id == article_id, A.c.tenant_id == tenant_id))
    if row is None:
        return None
    return (await _complete(conn, tenant_id, [row]))[0]


async def published_by_slug(
    conn: Connection, tenant_id: str, slug: str, locale: str | None
) -> Article | None:
    """The published article with this slug (in ``locale``, else the oldest of any locale)."""
    query = (
        sa.select(A)
        .where(A.c.tenant_id == tenant_id, A.c.slug == slug, A.c.published.is_(True))
        .order_by(A.c.id)
        .limit(1)
    )
    if locale is not None:
        query = query.where(A.c.locale == locale)
    row = await conn.fetch_one(query)
    if row is None:
        return None
    return (await _complete(conn, tenant_id, [row]))[0]


async def list_page(
    conn: Connection,
    tenant_id: str,
    *,
    limit: int,
    before: int | None = None,
    locale: str | None = None,
    published: bool | None = None,
    tag: str | None = None,
) -> list[Article]:
    """The tenant's articles, newest first, keyset-paginated by id."""
    query = sa.select(A).where(A.c.tenant_id == tenant_id).order_by(A.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(A.c.id < before)
    if locale is not None:
        query = query.where(A.c.locale == locale)
    if published is not None:
        query = query.where(A.c.published.is_(published))
    if tag is not None:
        tagged = sa.select(T.c.article_id).where(T.c.tenant_id == tenant_id, T.c.tag == tag)
        query = query.where(A.c.id.in_(tagged))
    return await _complete(conn, tenant_id, list(await conn.fetch_all(query)))


async def all_of(
    conn: Connection, tenant_id: str, *, published_only: bool = False
) -> list[Article]:
    """Every article of the tenant, oldest first (a stable order for indexes and exports)."""
    query = sa.select(A).where(A.c.tenant_id == tenant_id).order_by(A.c.id)
    if published_only:
        query = query.where(A.c.published.is_(True))
    return await _complete(conn, tenant_id, list(await conn.fetch_all(query)))


#: One tag (or question) row, prepared: a multi-row VALUES is a new statement shape for every
#: count of rows, compiled each time (about 2 ms, more than an import spends on the rest of an
#: article).
_INSERT_TAG = prepared_insert(T, "article_id", "tenant_id", "tag")
_DELETE_TAGS = Prepared(T.delete().where(T.c.article_id == sa.bindparam("article_id")))
_INSERT_QUESTION = prepared_insert(Q, "article_id", "position", "question", "tenant_id")
_DELETE_QUESTIONS = Prepared(Q.delete().where(Q.c.article_id == sa.bindparam("article_id")))


async def _set_tags(
    conn: Connection, tenant_id: str, article_id: int, tags: tuple[str, ...], *, fresh: bool
) -> None:
    """Replace the article's tags (``fresh``: a new article, which has none yet)."""
    rows = ({"tenant_id": tenant_id, "tag": tag} for tag in tags)
    await _replace_rows(conn, _DELETE_TAGS, _INSERT_TAG, article_id, rows, fresh=fresh)


async def _set_questions(
    conn: Connection,
    tenant_id: str,
    article_id: int,
    questions: tuple[str, ...],
    *,
    fresh: bool,
) -> None:
    """Replace the article's questions, numbered in their order (``fresh`` as for tags)."""
    rows = (
        {"position": position, "question": question, "tenant_id": tenant_id}
        for position, question in enumerate(questions)
    )
    await _replace_rows(conn, _DELETE_QUESTIONS, _INSERT_QUESTION, article_id, rows, fresh=fresh)


async def _replace_rows(
    conn: Connection,
    delete: Prepared,
    insert: Prepared,
    article_id: int,
    rows: Iterable[dict[str, Any]],
    *,
    fresh: bool,
) -> None:
    """Replace the article's rows of one side table (tags, questions): ``delete`` them
    unless the article is ``fresh`` (new, so it has none), then ``insert`` each row."""
    if not fresh:
        await conn.execute(delete(article_id=article_id))
    for row in rows:
        await conn.execute(insert(**column_values(article_id=article_id, **row)))


#: Prepared: an import inserts thousands of articles in one go.
_INSERT = prepared_insert(
    A,
    "tenant_id",
    "slug",
    "locale",
    "title",
    "body",
    "url",
    "published",
    "revision",
    "created_at",
    "updated_at",
    returning=A,
)


def _columns(draft: ArticleDraft) -> dict[str, Any]:
    return {
        "slug": draft.slug,
        "locale": draft.locale,
        "title": draft.title,
        "body": draft.body,
        "url": draft.url,
        "published": draft.published,
    }


async def insert(
    conn: Connection, tenant_id: str, draft: ArticleDraft, moment: datetime
) -> Article:
    """A new article; a taken slug+locale raises the driver's unique violation."""
    row = await conn.fetch_one(
        _INSERT(
            **column_values(
                tenant_id=tenant_id,
                revision=1,
                created_at=moment,
                updated_at=moment,
                **_columns(draft),
            )
        )
    )
    assert row is not None
    await _set_tags(conn, tenant_id, int(row["id"]), draft.tags, fresh=True)
    await _set_questions(conn, tenant_id, int(row["id"]), draft.questions, fresh=True)
    return article_of(row_dict(row), draft.tags, draft.questions)


async def update(
    conn: Connection,
    tenant_id: str,
    article_id: int,
    draft: ArticleDraft,
    moment: datetime,
    *,
    revision: int,
) -> Article | None:
    """Replace the article if it is still at ``revision``; ``None`` if it moved on or is gone.

    The revision check is part of the UPDATE, so two admins saving the same
    article cannot both win, whatever the engine's isolation level.
    """
    row = await conn.fetch_one(
        A.update()
        .where(A.c.id == article_id, A.c.tenant_id == tenant_id, A.c.revision == revision)
        .values(revision=A.c.revision + 1, updated_at=moment, **_columns(draft))
        .returning(*A.c)
    )
    if row is None:
        return None
    await _set_tags(conn, tenant_id, article_id, draft.tags, fresh=False)
    await _set_questions(conn, tenant_id, article_id, draft.questions, fresh=False)
    return article_of(row_dict(row), draft.tags, draft.questions)


async def delete(conn: Connection, tenant_id: str, article_id: int, *, revision: int) -> bool:
    """Delete the article if it is still at ``revision`` (tags and questions go by cascade)."""
    row = await conn.fetch_one(
        A.delete()
        .where(A.c.id == article_id, A.c.tenant_id == tenant_id, A.c.revision == revision)
        .returning(A.c.id)
    )
    return row is not None


async def version(conn: Connection, tenant_id: str) -> int:
    value = await conn.fetch_val(sa.select(V.c.version).where(V.c.tenant_id == tenant_id))
    return int(value or 0)


async def bump_version(conn: Connection, tenant_id: str, is_sqlite: bool, moment: datetime) -> int:
    """Add one to the tenant's knowledge version (creating the row at 1); returns the new one.

    One atomic upsert: two workers changing articles at once both bump, and the
    row lock it takes orders them, so the version only ever grows.
    """
    insert = (sqlite.insert(V) if is_sqlite else postgresql.insert(V)).values(
        tenant_id=tenant_id, version=1, updated_at=moment
    )
    row = await conn.fetch_one(
        insert.on_conflict_do_update(
            index_elements=[V.c.tenant_id],
            set_={"version": V.c.version + 1, "updated_at": moment},
        ).returning(V.c.version)
    )
    assert row is not None
    return int(row[0])
