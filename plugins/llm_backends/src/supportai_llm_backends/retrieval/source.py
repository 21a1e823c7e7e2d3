"""Where a tenant's articles come from: the ``ArticleSource`` protocol.

The retrieval index does not care whether articles are Markdown files in a
folder (the original, still the configured fallback) or rows in the app's
database; it asks a source for a *version* (cheap, asked often: a change means
"rebuild what changed") and for the published articles (asked only then).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from supportai.knowledge.markdown import parse_article

log = logging.getLogger("supportai.knowledge")


@dataclass(frozen=True, slots=True)
class SourceArticle:
    """One published article as retrieval sees it."""

    article_id: str
    title: str | None
    body: str
    url: str | None = None
    tags: tuple[str, ...] = ()
    #: Questions readers asked that the article answered, in their words
    #: (:mod:`.questions`).
    questions: tuple[str, ...] = ()


@runtime_checkable
class ArticleSource(Protocol):
    """A tenant's help center."""

    async def version(self, tenant_id: str) -> str:
        """Changes whenever any of the tenant's articles changes (compared, never ordered)."""
        ...

    async def articles(self, tenant_id: str) -> Sequence[SourceArticle]:
        """The tenant's published articles."""
        ...


class FileArticleSource:
    """A folder of ``*.md`` files, the same for every tenant (the example app's help center).

    The version is a digest of the files' names, sizes and modification times, so
    an edited file is picked up without a restart.
    """

    def __init__(self, folder: Path, url_template: str | None = None) -> None:
        self.folder = folder
        self.url_template = url_template

    def _paths(self) -> list[Path]:
        return sorted(path for path in self.folder.glob("*.md") if path.is_file())

    def _version(self) -> str:
        digest = hashlib.blake2b(digest_size=12)
        for path in self._paths():
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    async def version(self, tenant_id: str) -> str:
        return await asyncio.to_thread(self._version)

    def read(self) -> list[SourceArticle]:
        """Every article of the folder, sorted by file name (reproducible tie-breaks)."""
        return [self._article(path) for path in self._paths()]

    def _article(self, path: Path) -> SourceArticle:
        text = path.read_text(encoding="utf-8")
        tags, questions = _front_matter(path, text)
        return SourceArticle(
            article_id=path.stem,
            title=None,
            body=text,
            url=self.url_template.format(source_id=path.stem) if self.url_template else None,
            tags=tags,
            questions=questions,
        )

    async def articles(self, tenant_id: str) -> Sequence[SourceArticle]:
        return await asyncio.to_thread(self.read)


class StoredArticle(Protocol):
    """What retrieval reads of an article stored in the app's database (core's ``Article``)."""

    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def questions(self) -> tuple[str, ...]: ...


class ArticleStore(Protocol):
    """The read side of core's knowledge base (``supportai.knowledge.store.KnowledgeStore``)."""

    async def version(self, tenant_id: str) -> int: ...

    async def published_articles(self, tenant_id: str) -> Sequence[StoredArticle]: ...


class DatabaseArticleSource:
    """The tenant's published articles in the app's database; files as the fallback.

    The database is the source for a tenant as soon as it holds a published
    article for it; until then (or without a database knowledge base) the
    configured folder serves, so a host can start with files and move to the
    admin API without a gap. The version combines the database's version (bumped
    by every article change, in any worker) with the folder's digest.
    """

    def __init__(self, store: ArticleStore, fallback: FileArticleSource | None) -> None:
        self.store = store
        self.fallback = fallback

    async def version(self, tenant_id: str) -> str:
        files = await self.fallback.version(tenant_id) if self.fallback is not None else ""
        try:
            stored = await self.store.version(tenant_id)
        except Exception as exc:
            _unavailable(exc)
            return f"db:unavailable|files:{files}"
        return f"db:{stored}|files:{files}"

    async def articles(self, tenant_id: str) -> Sequence[SourceArticle]:
        try:
            stored = await self.store.published_articles(tenant_id)
        except Exception as exc:
            _unavailable(exc)
            stored = []
        if stored:
            return [
                SourceArticle(
                    article.slug,
                    article.title,
                    article.body,
                    article.url,
                    article.tags,
                    article.questions,
                )
                for article in stored
            ]
        if self.fallback is not None:
            return await self.fallback.articles(tenant_id)
        return []


def _front_matter(path: Path, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tags and questions of a file's front matter, read as ``supportai kb import``
    reads them.

    A file the import would refuse still serves from the folder (as it always
    has), only without them: its problem is reported by ``supportai kb import``.
    """
    try:
        draft, _ = parse_article(path, text)
    except ValueError:
        return (), ()
    return draft.tags, draft.questions


def _unavailable(exc: Exception) -> None:
    """The database could not be read (not connected yet, not migrated).

    The folder serves if one is configured; otherwise the tenant has no articles for
    now and questions get the honest fallback: a turn never fails over its help center.
    """
    log.warning(
        "the knowledge base in the database is unavailable (%s: %s); "
        "answering from SUPPORTAI_KB_ARTICLES_DIR if set",
        type(exc).__name__,
        exc,
    )
