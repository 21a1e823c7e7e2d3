"""Reading a help center from disk and writing it into a tenant: what ``supportai kb``
and hosts (``examples/host_app`` at start-up) share.

A source is a folder of Markdown files (``markdown.py``), one Markdown file, or
a JSON export (``schemas.ArticleExport``). Reading checks every article first
and collects every problem; only a source without problems is written, in one
transaction (``changes.import_articles``), so a failed import writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from supportai.caller import Caller
from supportai.errors import ConfigurationError
from supportai.knowledge import changes, markdown, schemas
from supportai.knowledge.articles import DEFAULT_LOCALE, ArticleDraft, ArticleError
from supportai.store.database import Database


class SourceError(Exception):
    """The source has problems; nothing was written. ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = problems


@dataclass
class Source:
    drafts: list[ArticleDraft]
    notes: list[str] = field(default_factory=list)  # worth saying, not worth failing


def read_source(
    path: Path, *, default_locale: str = DEFAULT_LOCALE, url_template: str | None = None
) -> Source:
    """The checked articles at ``path`` (folder, ``.md`` or ``.json``), or :class:`SourceError`."""
    if path.is_dir():
        files = markdown.markdown_files(path)
        if not files:
            raise SourceError([f"{path}: no *.md files in this folder"])
        return _markdown(files, default_locale, url_template)
    if not path.is_file():
        raise SourceError([f"{path}: no such file or folder"])
    if path.suffix.lower() == ".json":
        return read_json(path)
    if path.suffix.lower() in (".md", ".markdown"):
        return _markdown([path], default_locale, url_template)
    raise SourceError([f"{path}: import a folder, a .md file or a .json export"])


def _markdown(files: list[Path], default_locale: str, url_template: str | None) -> Source:
    parsed = markdown.parse_folder(files, default_locale=default_locale, url_template=url_template)
    if parsed.problems:
        raise SourceError([str(p) for p in parsed.problems])
    notes = [
        f"{path}: ignored front-matter keys: {', '.join(keys)}"
        for path, keys in parsed.ignored_keys.items()
    ]
    return Source(parsed.drafts, notes)


def read_json(path: Path) -> Source:
    """A JSON export; each article is checked on its own, so the CLI has no count limit."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError([f"{path}: not a JSON document ({exc})"]) from exc
    if not isinstance(document, dict) or not isinstance(document.get("articles"), list):
        raise SourceError([f'{path}: expected {{"format": ..., "articles": [...]}}'])
    if document.get("format", schemas.FORMAT) != schemas.FORMAT:
        raise SourceError([f"{path}: format {document['format']!r} is not {schemas.FORMAT!r}"])
    drafts: list[ArticleDraft] = []
    problems: list[str] = []
    for index, item in enumerate(document["articles"]):
        try:
            drafts.append(schemas.ArticleIn.model_validate(item).draft())
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                problems.append(f"{path}: articles[{index}].{where}: {error['msg']}")
    if not problems:
        try:
            changes.check_unique(drafts)
        except ArticleError as exc:
            problems.append(f"{path}: {exc}")
    if problems:
        raise SourceError(problems)
    return Source(drafts)


def describe(url: str) -> str:
    """The database URL as it may be printed: the password hidden, a SQLite path absolute."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=True)


def require_existing(url: str) -> None:
    """A SQLite URL must name an existing file (see :func:`open_existing`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    if not parsed.database or parsed.database == ":memory:":
        raise ConfigurationError("an in-memory SQLite database holds no articles")
    if not Path(parsed.database).is_file():
        raise ConfigurationError(
            f"no database at {describe(url)}: point --database-url (or "
            "SUPPORTAI_DATABASE_URL) at your app's database, or create it with "
            "`supportai db upgrade`"
        )


async def open_existing(url: str) -> Database:
    """Connect to a migrated supportai database, never creating one.

    Connecting to a SQLite path that does not exist would create an empty file
    (and a typo'd path would then "succeed" with nothing in it), so the file
    must exist first; PostgreSQL never creates a database on connect. Either way
    the schema must be at the head revision (``supportai db upgrade``), so the
    knowledge-base tables are there.
    """
    from supportai.store import migrations

    await anyio.to_thread.run_sync(require_existing, url)
    try:
        up_to_date = await migrations.is_up_to_date(url)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"cannot connect to {describe(url)}: {type(exc).__name__}"
        ) from exc
    if not up_to_date:
        raise ConfigurationError(
            f"{describe(url)} is not migrated to this version of supportai: "
            "run `supportai db upgrade`"
        )
    database = Database(url)
    await database.connect()
    return database


async def import_source(
    database: Database,
    tenant_id: str,
    source: Source,
    *,
    actor_id: str,
    prune: bool = False,
    dry_run: bool = False,
    origin: str = "cli",
    progress: Callable[[int], None] | None = None,
) -> changes.ImportResult:
    """Write ``source`` into the tenant (audited as ``actor_id`` with ``details.source``
    ``origin``).

    ``dry_run`` runs the whole import, so its counts are exact, and rolls it back.
    """
    actor = Caller(tenant_id=tenant_id, user_id=actor_id)
    async with database.connection() as conn:
        outer = conn.transaction()
        await outer.start()
        try:
            result = await changes.import_articles(
                conn,
                actor,
                source.drafts,
                is_sqlite=database.is_sqlite,
                prune=prune,
                source=origin,
                progress=progress,
            )
        except BaseException:
            await outer.rollback()
            raise
        if dry_run:
            await outer.rollback()
        else:
            await outer.commit()
    return result
