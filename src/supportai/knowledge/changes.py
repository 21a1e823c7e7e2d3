"""Every write to the knowledge base: the change, the version bump and the audit event.

The three happen in one transaction (the caller's connection), so there is no
article change that the version does not announce to other workers, and none
without its audit event. A write that changes nothing a reader sees (saving
an unchanged article, re-importing the same folder) writes nothing at all: no
new revision, no event, no version bump, so retrieval indexes stay warm.

Audit events follow the chain of the other admin objects: ``before_status``
of an article's event is the ``after_status`` of its previous one
(``published`` / ``draft``; ``None`` before it existed, ``deleted`` after). They
carry the slug and locale (identifiers), never the title or body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from databases.core import Connection

from supportai.caller import Caller
from supportai.knowledge import queries
from supportai.knowledge.articles import Article, ArticleDraft, ArticleError, same_content
from supportai.store import audit
from supportai.store.conversations import now
from supportai.store.database import is_unique_violation

FIELDS = ("slug", "locale", "title", "body", "url", "tags", "published", "questions")


class SlugTaken(Exception):
    """Another article of the tenant already has this slug in this locale."""

    def __init__(self, slug: str, locale: str) -> None:
        super().__init__(f"an article with slug {slug!r} already exists in locale {locale!r}")
        self.slug = slug
        self.locale = locale


class RevisionConflict(Exception):
    """The article changed (or went) since the revision the writer read."""

    def __init__(self, article_id: int, expected: int, current: int | None) -> None:
        now_is = f"is at revision {current}" if current is not None else "was deleted"
        super().__init__(
            f"article {article_id} {now_is}, not {expected}: reload it and apply your change again"
        )
        self.article_id = article_id
        self.current = current


def status_of(article: Article | ArticleDraft | None) -> str | None:
    if article is None:
        return None
    return "published" if article.published else "draft"


def changed_fields(before: Article, after: ArticleDraft) -> list[str]:
    return [name for name in FIELDS if getattr(before, name) != getattr(after, name)]


async def _audit(
    conn: Connection,
    actor: Caller,
    action: str,
    article: Article,
    *,
    before: str | None,
    after: str | None,
    source: str,
    extra: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        conn,
        actor,
        action,
        target_type="article",
        target_id=article.id,
        before_status=before,
        after_status=after,
        details={
            "slug": article.slug,
            "locale": article.locale,
            "revision": article.revision,
            "source": source,
            **(extra or {}),
        },
    )


async def _insert(conn: Connection, actor: Caller, draft: ArticleDraft, *, source: str) -> Article:
    try:
        article = await queries.insert(conn, actor.tenant_id, draft, now())
    except Exception as exc:
        if is_unique_violation(exc):
            raise SlugTaken(draft.slug, draft.locale) from exc
        raise
    await _audit(
        conn,
        actor,
        "article.created",
        article,
        before=None,
        after=status_of(article),
        source=source,
    )
    return article


async def _replace(
    conn: Connection, actor: Caller, current: Article, draft: ArticleDraft, *, source: str
) -> Article:
    try:
        article = await queries.update(
            conn, actor.tenant_id, current.id, draft, now(), revision=current.revision
        )
    except Exception as exc:
        if is_unique_violation(exc):
            raise SlugTaken(draft.slug, draft.locale) from exc
        raise
    if article is None:
        latest = await queries.get(conn, actor.tenant_id, current.id)
        raise RevisionConflict(current.id, current.revision, latest.revision if latest else None)
    await _audit(
        conn,
        actor,
        "article.updated",
        article,
        before=status_of(current),
        after=status_of(article),
        source=source,
        extra={"changed": changed_fields(current, draft)},
    )
    return article


async def create(
    conn: Connection, actor: Caller, draft: ArticleDraft, *, is_sqlite: bool, source: str = "api"
) -> Article:
    """A new article in the actor's tenant (``SlugTaken`` if slug+locale is in use)."""
    async with conn.transaction():
        article = await _insert(conn, actor, draft, source=source)
        await queries.bump_version(conn, actor.tenant_id, is_sqlite, now())
    return article


async def update(
    conn: Connection,
    actor: Caller,
    article_id: int,
    patch: Callable[[Article], ArticleDraft],
    *,
    expected_revision: int | None,
    is_sqlite: bool,
    source: str = "api",
) -> Article | None:
    """Apply ``patch`` to the current article; ``None`` if it does not exist in the tenant.

    ``expected_revision`` (optimistic concurrency) must match the stored one, or
    :class:`RevisionConflict`; without it the write still cannot interleave with
    another (the UPDATE re-checks the revision it read).
    """
    async with conn.transaction():
        current = await queries.get(conn, actor.tenant_id, article_id)
        if current is None:
            return None
        if expected_revision is not None and expected_revision != current.revision:
            raise RevisionConflict(article_id, expected_revision, current.revision)
        draft = patch(current)
        if same_content(draft, current):
            return current
        article = await _replace(conn, actor, current, draft, source=source)
        await queries.bump_version(conn, actor.tenant_id, is_sqlite, now())
    return article


async def delete(
    conn: Connection,
    actor: Caller,
    article_id: int,
    *,
    expected_revision: int | None,
    is_sqlite: bool,
    source: str = "api",
) -> Article | None:
    """Delete the article; returns what was deleted, ``None`` if it does not exist."""
    async with conn.transaction():
        current = await queries.get(conn, actor.tenant_id, article_id)
        if current is None:
            return None
        if expected_revision is not None and expected_revision != current.revision:
            raise RevisionConflict(article_id, expected_revision, current.revision)
        await _delete(conn, actor, current, source=source)
        await queries.bump_version(conn, actor.tenant_id, is_sqlite, now())
    return current


async def _delete(conn: Connection, actor: Caller, current: Article, *, source: str) -> None:
    if not await queries.delete(conn, actor.tenant_id, current.id, revision=current.revision):
        latest = await queries.get(conn, actor.tenant_id, current.id)
        raise RevisionConflict(current.id, current.revision, latest.revision if latest else None)
    await _audit(
        conn,
        actor,
        "article.deleted",
        current,
        before=status_of(current),
        after="deleted",
        source=source,
    )


# -- bulk import ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportItem:
    slug: str
    locale: str
    article_id: int
    outcome: str  # created | updated | unchanged | deleted


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    version: int = 0
    items: list[ImportItem] = field(default_factory=list)

    def add(self, article: Article, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.items.append(ImportItem(article.slug, article.locale, article.id, outcome))


def check_unique(drafts: Sequence[ArticleDraft]) -> None:
    """Two drafts for the same slug+locale make an import ambiguous: refuse, naming both."""
    seen: dict[tuple[str, str], int] = {}
    for index, draft in enumerate(drafts):
        key = (draft.locale, draft.slug)
        if key in seen:
            raise ArticleError(
                "slug",
                f"{draft.slug!r} ({draft.locale}) is also articles[{seen[key]}]",
                index=index,
            )
        seen[key] = index


async def import_articles(
    conn: Connection,
    actor: Caller,
    drafts: Sequence[ArticleDraft],
    *,
    is_sqlite: bool,
    prune: bool = False,
    source: str = "import",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Upsert ``drafts`` by slug+locale, all or nothing, in one transaction.

    Unchanged articles are left alone (re-importing the same export is free).
    ``prune`` also deletes the tenant's articles the import does not mention,
    making the tenant's knowledge base equal to the import. ``progress(n)`` is
    told after each article.
    """
    check_unique(drafts)
    result = ImportResult()
    async with conn.transaction():
        existing = {(a.locale, a.slug): a for a in await queries.all_of(conn, actor.tenant_id)}
        for draft in drafts:
            current = existing.pop((draft.locale, draft.slug), None)
            if current is None:
                result.add(
                    await _insert(conn, actor, draft, source=source),
                    "created",
                )
            elif same_content(draft, current):
                result.add(current, "unchanged")
            else:
                result.add(
                    await _replace(conn, actor, current, draft, source=source),
                    "updated",
                )
            if progress is not None:
                progress(1)
        if prune:
            for gone in existing.values():
                await _delete(conn, actor, gone, source=source)
                result.add(gone, "deleted")
        if result.created or result.updated or result.deleted:
            result.version = await queries.bump_version(conn, actor.tenant_id, is_sqlite, now())
        else:
            result.version = await queries.version(conn, actor.tenant_id)
    return result
