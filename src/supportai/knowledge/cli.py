"""``supportai kb import`` and ``supportai kb export``: a help center in and out of a tenant.

Both say which database they use (password hidden) and refuse to create one:
a mistyped SQLite path must not become an empty database that "worked".
The import checks every article before writing any, prints every problem
with its file and field, and writes all or nothing. The progress bar is the
export command's (a few lines on stderr), not a dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from supportai.errors import ConfigurationError
from supportai.knowledge.articles import DEFAULT_LOCALE, ArticleError, check_locale

DEFAULT_ACTOR = "supportai-cli"


def register(subparsers: Any) -> None:
    """Add ``kb`` (``import``, ``export``) to the ``supportai`` command."""
    kb = subparsers.add_parser(
        "kb",
        help="import and export a tenant's help-center articles",
        description="Load a help center into a tenant's knowledge base, or export it. "
        "See docs/articles.md for the article format.",
    )
    sub = kb.add_subparsers(dest="kb_command", required=True)

    load = sub.add_parser(
        "import",
        help="import a folder of Markdown files, one .md file or a JSON export",
        description="Upsert articles by slug and locale into one tenant, all or nothing. "
        "Unchanged articles are left alone, so importing the same folder again is a no-op.",
    )
    load.add_argument(
        "path", type=Path, help="a folder of *.md files, a .md file or a .json export"
    )
    load.add_argument(
        "--tenant", required=True, type=_tenant, help="the tenant whose articles these are"
    )
    load.add_argument(
        "--locale", default=DEFAULT_LOCALE, help="locale of files without one (default: en)"
    )
    load.add_argument(
        "--url-template",
        help="URL of files without one, e.g. '/help/{slug}' ({slug} and {locale} are filled in)",
    )
    load.add_argument(
        "--prune",
        action="store_true",
        help="also delete the tenant's articles (all locales) that the import does not contain",
    )
    load.add_argument(
        "--dry-run", action="store_true", help="report what would change; write nothing"
    )
    load.add_argument(
        "--actor", default=DEFAULT_ACTOR, help=f"who the audit log names (default: {DEFAULT_ACTOR})"
    )
    load.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (auto: when stderr is a terminal)",
    )
    _common(load)
    load.set_defaults(func=cmd_import)

    dump = sub.add_parser(
        "export", help="write a tenant's articles as JSON (the format kb import and the API read)"
    )
    dump.add_argument("--tenant", required=True, type=_tenant)
    dump.add_argument("--locale", help="only this locale")
    dump.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    dump.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    _common(dump)
    dump.set_defaults(func=cmd_export)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", help="default: SUPPORTAI_DATABASE_URL")


def _database_url(args: argparse.Namespace) -> str:
    from supportai.settings import Settings

    if args.database_url:
        return str(args.database_url)
    return Settings().database_url


def _locale(value: str) -> str:
    try:
        return check_locale(value)
    except ArticleError as exc:
        raise ConfigurationError(f"--locale {value!r}: {exc.message}") from exc


def _tenant(value: str) -> str:
    """Tenant ids are what the host's caller resolver returns: non-empty, at most 128."""
    if not value.strip() or len(value) > 128:
        raise argparse.ArgumentTypeError("a tenant id of 1-128 characters")
    return value


def cmd_import(args: argparse.Namespace) -> int:
    from supportai.knowledge.changes import SlugTaken
    from supportai.knowledge.ingest import SourceError, describe, read_source

    url = _database_url(args)
    try:
        source = read_source(
            args.path, default_locale=_locale(args.locale), url_template=args.url_template
        )
    except SourceError as exc:
        for problem in exc.problems:
            print(f"supportai kb import: {problem}", file=sys.stderr)
        print(f"supportai kb import: {exc}", file=sys.stderr)
        return 1
    for note in source.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"database: {describe(url)}", file=sys.stderr)
    try:
        result = asyncio.run(_import(args, url, source))
    except SlugTaken as exc:  # created by someone else while the import ran: run it again
        print(f"supportai kb import: {exc}; nothing was imported", file=sys.stderr)
        return 1
    verb = "would import" if args.dry_run else "imported"
    print(
        f"{verb} {len(source.drafts)} article(s) into tenant {args.tenant!r}: "
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        + (f", {result.deleted} deleted" if args.prune else "")
        + ("" if args.dry_run else f"; knowledge version {result.version}"),
        file=sys.stderr,
    )
    return 0


async def _import(args: argparse.Namespace, url: str, source: Any) -> Any:
    from supportai.export import Progress
    from supportai.knowledge.ingest import import_source, open_existing

    database = await open_existing(url)
    progress = Progress(
        sys.stderr,
        enabled=args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty()),
        label="kb import",
    )
    progress.start(len(source.drafts))
    try:
        return await import_source(
            database,
            args.tenant,
            source,
            actor_id=args.actor,
            prune=args.prune,
            dry_run=args.dry_run,
            progress=progress.advance,
        )
    finally:
        progress.close()
        await database.disconnect()


def cmd_export(args: argparse.Namespace) -> int:
    from supportai.knowledge.ingest import describe

    url = _database_url(args)
    locale = _locale(args.locale) if args.locale else None
    output: Path | None = args.output
    if output is not None:
        if not output.parent.is_dir():
            raise ConfigurationError(f"{output.parent} is not a directory")
        if output.exists() and not args.overwrite:
            raise ConfigurationError(f"{output} exists: choose a new file or pass --overwrite")
    print(f"database: {describe(url)}", file=sys.stderr)
    document = asyncio.run(_export(url, args.tenant, locale))
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        # a finished file or none: never half an export where an old one was
        fd, temp = tempfile.mkstemp(prefix=".kb-export-", suffix=".tmp", dir=output.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, output)
    where = str(output) if output is not None else "stdout"
    print(
        f"exported {len(document['articles'])} article(s) of tenant {args.tenant!r} to {where}",
        file=sys.stderr,
    )
    return 0


async def _export(url: str, tenant_id: str, locale: str | None) -> dict[str, Any]:
    from supportai.knowledge import queries, schemas
    from supportai.knowledge.ingest import open_existing
    from supportai.store.conversations import now

    database = await open_existing(url)
    try:
        async with database.connection() as conn:
            articles = await queries.all_of(conn, tenant_id)
    finally:
        await database.disconnect()
    if locale is not None:
        articles = [a for a in articles if a.locale == locale]
    return schemas.export_document(articles, now())
