"""Alembic revisions (decision 0007): the migrated schema is tables.py, on both engines.

* the schema at head has an empty autogenerate diff against ``tables.metadata``;
* every revision upgrades, downgrades to exactly the schema before it, and
  upgrades again;
* one head, ``NNNN_<slug>.py`` files with ids ``"0001"``, ``"0002"``... in order;
* a database of the old hand-written runner is adopted in place, data kept;
* upgraders starting together apply each revision once; a failing one changes nothing;
* ``supportai db upgrade|downgrade|current|history``.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from supportai.cli import main
from supportai.errors import ConfigurationError
from supportai.store import migrations, tables

LEGACY = Path(__file__).parent / "fixtures" / "legacy_schema"
T = TypeVar("T")


async def on_connection(url: str, work: Callable[[Connection], T]) -> T:
    engine = migrations.create_engine(url, exclusive=False)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "version_table": migrations.VERSION_TABLE,
            "compare_type": True,
            "compare_server_default": True,
            "include_name": lambda name, type_, parents: (
                type_ != "table" or name.startswith("support_ai_")
            ),
        },
    )
    with warnings.catch_warnings():
        # Alembic cannot compare expression indexes (uq_support_ai_feedback_subject);
        # test_expression_index_exists checks that one.
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        warnings.filterwarnings("ignore", message=".*functional index.*")
        return list(compare_metadata(context, tables.metadata))


def snapshot(connection: Connection) -> dict[str, Any]:
    """Tables, columns, indexes, unique and foreign keys of supportai, comparable."""
    with warnings.catch_warnings():
        # SQLite's reflection skips the expression index; test_expression_index_exists covers it.
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        return _shape(sa.inspect(connection))


def _shape(inspector: sa.Inspector) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        if not name.startswith("support_ai_") or name == migrations.VERSION_TABLE:
            continue
        shape[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(name)
            ],
            "indexes": sorted(
                (i["name"], tuple(map(str, i["column_names"])), bool(i["unique"]))
                for i in inspector.get_indexes(name)
            ),
            "unique": sorted(str(u["name"]) for u in inspector.get_unique_constraints(name)),
            "foreign_keys": sorted(
                (f["referred_table"], tuple(f["constrained_columns"]), str(f["options"]))
                for f in inspector.get_foreign_keys(name)
            ),
        }
    return shape


def revision_ids() -> list[str]:
    """Every revision, oldest first."""
    return [s.revision for s in reversed(list(migrations.script_directory().walk_revisions()))]


def test_one_head_and_numbered_revision_files() -> None:
    script = migrations.script_directory()
    assert len(script.get_heads()) == 1
    ids = revision_ids()
    assert ids == [f"{n:04d}" for n in range(1, len(ids) + 1)]
    for revision in ids:
        module = script.get_revision(revision)
        assert module is not None
        assert re.fullmatch(rf"{revision}_[a-z0-9_]+\.py", Path(module.path).name), module.path
    files = sorted(p.name for p in (migrations.SCRIPT_LOCATION / "versions").glob("*.py"))
    assert len(files) == len(ids), "a file in versions/ that is not a revision"


async def test_migrated_schema_equals_tables_py(database_url: str) -> None:
    progress = await migrations.upgrade(database_url)
    assert progress.steps == revision_ids()
    assert await on_connection(database_url, schema_diff) == []
    assert await migrations.current(database_url) == (migrations.head(),)
    again = await migrations.upgrade(database_url)
    assert again.steps == [] and not again.adopted


async def test_expression_index_exists(database_url: str) -> None:
    """The one index autogenerate cannot compare: one feedback per caller and subject."""
    await migrations.upgrade(database_url)
    when = "'2026-11-28 12:00:00+00:00'"

    def feedback_twice(connection: Connection) -> None:
        connection.execute(
            sa.text(
                "INSERT INTO support_ai_conversations (id, tenant_id, user_id, created_at,"
                f" updated_at) VALUES (1, 't1', 'u1', {when}, {when})"
            )
        )
        for _ in range(2):  # message_id NULL: feedback on the whole conversation
            connection.execute(
                sa.text(
                    "INSERT INTO support_ai_feedback (conversation_id, tenant_id, user_id,"
                    f" created_at, updated_at) VALUES (1, 't1', 'u1', {when}, {when})"
                )
            )

    with pytest.raises(sa.exc.IntegrityError):
        await on_connection(database_url, feedback_twice)


async def test_every_revision_downgrades_to_the_schema_before_it(database_url: str) -> None:
    shapes: list[dict[str, Any]] = [await on_connection(database_url, snapshot)]
    assert shapes[0] == {}
    for revision in revision_ids():
        assert (await migrations.upgrade(database_url, revision)).steps == [revision]
        shapes.append(await on_connection(database_url, snapshot))
    assert shapes[-1].keys() == {t for t in tables.metadata.tables}
    for revision, before in zip(reversed(revision_ids()), reversed(shapes[:-1]), strict=True):
        assert (await migrations.downgrade(database_url, "-1")).steps == [revision]
        assert await on_connection(database_url, snapshot) == before
    assert await migrations.current(database_url) == ()
    assert (await migrations.upgrade(database_url)).steps == revision_ids()
    assert await on_connection(database_url, schema_diff) == []


async def test_article_questions_are_added_and_removed_around_the_articles(
    database_url: str,
) -> None:
    """0006 adds the questions table beside existing articles, which stay through a
    downgrade and a second upgrade; its rows cascade with their article (both engines)."""
    await migrations.upgrade(database_url, "0005")
    when = "'2026-11-28 12:00:00+00:00'"

    def an_article(connection: Connection) -> None:
        connection.execute(
            sa.text(
                "INSERT INTO support_ai_articles (id, tenant_id, slug, locale, title, body,"
                f" created_at, updated_at) VALUES (1, 't1', 'refunds', 'en', 'T', 'B', {when},"
                f" {when})"
            )
        )

    def ask(connection: Connection) -> None:
        for position, question in enumerate(("Second?", "First?")):
            connection.execute(
                sa.text(
                    "INSERT INTO support_ai_article_questions"
                    " (article_id, position, question, tenant_id) VALUES (1, :p, :q, 't1')"
                ),
                {"p": position, "q": question},
            )

    def questions(connection: Connection) -> list[tuple[Any, ...]]:
        rows = connection.execute(
            sa.text(
                "SELECT article_id, position, question, tenant_id"
                " FROM support_ai_article_questions ORDER BY position"
            )
        )
        return [tuple(row) for row in rows]

    def has_questions_table(connection: Connection) -> bool:
        return sa.inspect(connection).has_table("support_ai_article_questions")

    def articles(connection: Connection) -> list[str]:
        return list(connection.execute(sa.text("SELECT slug FROM support_ai_articles")).scalars())

    def references(connection: Connection) -> list[tuple[Any, ...]]:
        return [
            (f["referred_table"], f["constrained_columns"], f["options"].get("ondelete"))
            for f in sa.inspect(connection).get_foreign_keys("support_ai_article_questions")
        ]

    await migrations.run_in_transaction(database_url, an_article)
    assert (await migrations.upgrade(database_url, "0006")).steps == ["0006"]
    assert await on_connection(database_url, references) == [
        ("support_ai_articles", ["article_id"], "CASCADE")
    ]
    await migrations.run_in_transaction(database_url, ask)
    assert await on_connection(database_url, questions) == [
        (1, 0, "Second?", "t1"),
        (1, 1, "First?", "t1"),
    ]

    assert (await migrations.downgrade(database_url, "-1")).steps == ["0006"]
    assert not await on_connection(database_url, has_questions_table)
    assert await on_connection(database_url, articles) == ["refunds"]
    assert (await migrations.upgrade(database_url)).steps[0] == "0006"
    assert await on_connection(database_url, questions) == []
    assert await on_connection(database_url, articles) == ["refunds"]

    def ask_then_delete(connection: Connection) -> list[tuple[Any, ...]]:
        if connection.dialect.name == "sqlite":  # off by default; the app turns it on
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        ask(connection)
        connection.execute(sa.text("DELETE FROM support_ai_articles WHERE id = 1"))
        return questions(connection)

    assert await on_connection(database_url, ask_then_delete) == [], "they go with the article"


async def test_a_database_of_the_old_runner_is_adopted_in_place(
    database_url: str, engine: str
) -> None:
    statements = [s for s in (LEGACY / f"{engine}.sql").read_text().split(";\n") if s.strip()]

    def create_legacy(connection: Connection) -> None:
        for statement in statements:
            connection.exec_driver_sql(statement)
        connection.execute(
            sa.text(
                "INSERT INTO support_ai_conversations (tenant_id, user_id, created_at, updated_at)"
                " VALUES ('t1', 'u1', '2026-11-28 12:00:00+00:00', '2026-11-28 12:00:00+00:00')"
            )
        )

    await migrations.run_in_transaction(database_url, create_legacy)
    assert await migrations.current(database_url) == ()

    progress = await migrations.upgrade(database_url)
    assert progress.adopted
    assert progress.steps == revision_ids()[1:]  # 0001 is stamped, not run again
    assert await migrations.current(database_url) == (migrations.head(),)
    assert await on_connection(database_url, schema_diff) == []

    def kept(connection: Connection) -> tuple[bool, list[Any]]:
        legacy = sa.inspect(connection).has_table(migrations.LEGACY_TABLE)
        rows = connection.execute(sa.text("SELECT tenant_id FROM support_ai_conversations"))
        return legacy, list(rows.scalars())

    assert await on_connection(database_url, kept) == (False, ["t1"])


async def test_an_unknown_legacy_version_is_refused(database_url: str) -> None:
    def legacy_at_two(connection: Connection) -> None:
        connection.exec_driver_sql(
            "CREATE TABLE support_ai_schema_migrations (version INTEGER PRIMARY KEY,"
            " name VARCHAR(200) NOT NULL, applied_at VARCHAR(40) NOT NULL)"
        )
        connection.exec_driver_sql(
            "INSERT INTO support_ai_schema_migrations VALUES (1, 'a', 'x'), (2, 'b', 'x')"
        )

    await migrations.run_in_transaction(database_url, legacy_at_two)
    with pytest.raises(ConfigurationError, match="version 2"):
        await migrations.upgrade(database_url)
    assert await migrations.current(database_url) == ()


async def test_a_failing_upgrade_leaves_the_schema_as_it_was(database_url: str) -> None:
    """One transaction per command: a revision failing halfway undoes its earlier DDL too."""

    def squatter(connection: Connection) -> None:  # a table 0001 creates near its end
        connection.exec_driver_sql("CREATE TABLE support_ai_usage (id INTEGER PRIMARY KEY)")

    await migrations.run_in_transaction(database_url, squatter)
    with pytest.raises(sa.exc.DBAPIError):
        await migrations.upgrade(database_url)

    def names(connection: Connection) -> list[str]:
        return sorted(sa.inspect(connection).get_table_names())

    assert await on_connection(database_url, names) == ["support_ai_usage"]
    assert await migrations.current(database_url) == ()


async def test_upgraders_starting_together_apply_each_revision_once(database_url: str) -> None:
    """Several workers migrating at start-up: the lock makes them take turns."""
    results = await asyncio.gather(*(migrations.upgrade(database_url) for _ in range(3)))
    applied = sorted((r.steps for r in results), key=len)
    assert applied == [[], [], revision_ids()]
    assert await on_connection(database_url, schema_diff) == []


def test_db_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"]
    head = migrations.head()
    # Reading a database never creates it (only upgrade may): a missing file is an error.
    assert main(["db", "current", *url]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "cli.db").exists()
    sqlite3.connect(tmp_path / "cli.db").close()
    assert main(["db", "current", *url]) == 1
    assert "current: none (not migrated)" in capsys.readouterr().out
    assert main(["db", "upgrade", *url]) == 0
    assert capsys.readouterr().out == f"applied: {', '.join(revision_ids())}\n"
    assert main(["db", "current", *url]) == 0
    assert capsys.readouterr().out == f"current: {head}, head: {head}\n"
    assert main(["db", "upgrade", *url]) == 0
    assert "nothing (up to date)" in capsys.readouterr().out
    assert main(["db", "history"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(reversed(revision_ids()))
    assert main(["db", "downgrade", "base", *url]) == 0
    assert capsys.readouterr().out == f"undone: {', '.join(reversed(revision_ids()))}\n"
    assert main(["db", "current", *url]) == 1
    assert main(["db", "upgrade", "9999", *url]) == 2
    assert "9999" in capsys.readouterr().err


def test_an_unsupported_database_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database-url", "mysql+aiomysql://localhost/x"]) == 2
    assert "SQLite and PostgreSQL" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite+aiosqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        (
            "postgresql+asyncpg://u@h/db?min_size=2&max_size=9&ssl=require",
            "postgresql+asyncpg://u@h/db?ssl=require",
        ),
    ],
)
def test_the_app_url_maps_to_the_same_async_driver(given: str, expected: str) -> None:
    """``databases`` URLs (driver implied, pool options in the query) work unchanged."""
    assert migrations.migration_url(given).render_as_string(hide_password=False) == expected
