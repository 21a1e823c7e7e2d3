"""Alembic's environment for supportai's revisions.

Two callers run it:

* :mod:`supportai.store.migrations` (``supportai db ...`` and start-up) passes
  the connection, already inside its locked transaction, in
  ``config.attributes``; nothing here commits.
* The ``alembic`` command of a contributor writing a revision (configured by
  ``[tool.alembic]`` in the repository's pyproject.toml). It connects to
  ``-x url=...``, else ``SUPPORTAI_DATABASE_URL``, else a throw-away in-memory
  SQLite database (enough to write an empty revision; ``--autogenerate`` needs
  a database already at head). New revisions get the next number as their id.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any, Literal

from alembic import context
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy.engine import Connection
from sqlalchemy.schema import SchemaItem

from supportai.store import migrations, tables

PREFIX = "support_ai_"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only supportai's tables: the host's own tables may share the database."""
    return type_ != "table" or (name or "").startswith(PREFIX)


def include_object(
    item: SchemaItem, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return type_ != "table" or (name or "").startswith(PREFIX)


def number_new_revision(
    migration_context: MigrationContext, revision: Any, directives: list[MigrationScript]
) -> None:
    """``NNNN`` ids in sequence, so the file is ``NNNN_<slug>.py`` (CONTRIBUTING.md)."""
    script = directives[0]
    if script.rev_id and script.rev_id.isdigit():
        return  # given with --rev-id
    heads = [h for h in migrations.script_directory().get_heads() if h.isdigit()]
    script.rev_id = f"{max((int(h) for h in heads), default=0) + 1:04d}"


def render_item(type_: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Our column types as the plain types they store, so a revision never imports tables.py."""
    if type_ == "type" and isinstance(item, tables.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(item, tables.JSONText):
        return "sa.Text()"
    return False


def record_step(
    ctx: MigrationContext, step: MigrationInfo, heads: Any, run_args: Mapping[str, Any]
) -> None:
    progress = context.config.attributes.get("progress")
    if progress is not None and not step.is_stamp:
        progress.steps.append(step.up_revision_id)


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=tables.metadata,
        version_table=migrations.VERSION_TABLE,
        include_name=include_name,
        include_object=include_object,
        # SQLite cannot ALTER most things: autogenerate writes batch operations,
        # which are plain ALTERs on PostgreSQL and a table copy on SQLite.
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        on_version_apply=record_step,
        process_revision_directives=number_new_revision,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_from_command_line() -> None:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("SUPPORTAI_DATABASE_URL")
        or "sqlite+aiosqlite://"
    )
    asyncio.run(migrations.run_in_transaction(url, run))


if context.is_offline_mode():
    raise SystemExit("supportai's migrations run online only (supportai db upgrade)")
given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    run_from_command_line()
