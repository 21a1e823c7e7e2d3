"""``supportai kb import`` / ``kb export`` on SQLite and PostgreSQL.

A host loads its help center (the example app's 26 articles) into a tenant,
re-runs it harmlessly, moves it to another tenant through the JSON export,
and is told clearly when the source or the database is wrong, with nothing
written and no database created by mistake.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from supportai.cli import main
from supportai.knowledge import KnowledgeStore
from supportai.store import tables
from supportai.store.database import Database, row_dict

HELP_CENTER = Path(__file__).resolve().parents[1] / "examples" / "host_app" / "articles"


def kb(database_url: str, *argv: str) -> int:
    return main(["kb", *argv, "--database-url", database_url])


@pytest.fixture
def migrated(database_url: str) -> str:
    assert main(["db", "upgrade", "--database-url", database_url]) == 0
    return database_url


def read(url: str, tenant: str) -> tuple[int, list[Any], list[dict[str, Any]]]:
    async def run() -> tuple[int, list[Any], list[dict[str, Any]]]:
        database = Database(url)
        await database.connect()
        try:
            store = KnowledgeStore(database)
            async with database.connection() as conn:
                events = [
                    row_dict(r)
                    for r in await conn.fetch_all(
                        tables.audit_events.select().where(
                            tables.audit_events.c.tenant_id == tenant
                        )
                    )
                ]
            return await store.version(tenant), await store.articles(tenant), events
        finally:
            await database.disconnect()

    return asyncio.run(run())


def content(article: Any) -> tuple[Any, ...]:
    return tuple(
        getattr(article, f)
        for f in ("slug", "title", "body", "url", "locale", "tags", "published", "questions")
    )


def test_import_a_folder_reimport_export_and_move_to_another_tenant(
    migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(HELP_CENTER.glob("*.md"))
    assert len(files) >= 20
    assert (
        kb(
            migrated,
            "import",
            str(HELP_CENTER),
            "--tenant",
            "acme",
            "--url-template",
            "/help/{slug}",
        )
        == 0
    )
    err = capsys.readouterr().err
    assert f"{len(files)} created" in err and "database: " in err
    version, articles, events = read(migrated, "acme")
    assert version == 1 and len(articles) == len(files)
    refunds = next(a for a in articles if a.slug == "refunds")
    assert refunds.title == "Refund policy" and refunds.url == "/help/refunds"
    assert (
        refunds.body.startswith("We want you to pay only") and "## Yearly renewals" in refunds.body
    )
    assert {e["action"] for e in events} == {"article.created"}
    assert {e["actor_id"] for e in events} == {"supportai-cli"}
    assert {e["details"]["source"] for e in events} == {"cli"}

    assert (
        kb(
            migrated,
            "import",
            str(HELP_CENTER),
            "--tenant",
            "acme",
            "--url-template",
            "/help/{slug}",
        )
        == 0
    )
    assert f"{len(files)} unchanged" in capsys.readouterr().err
    assert read(migrated, "acme")[0] == 1, "re-importing the same folder changes nothing"

    out = tmp_path / "acme.json"
    assert kb(migrated, "export", "--tenant", "acme", "-o", str(out)) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == "supportai.articles/1" and len(document["articles"]) == len(files)
    assert kb(migrated, "export", "--tenant", "acme", "-o", str(out)) == 2, "no silent overwrite"
    assert "--overwrite" in capsys.readouterr().err

    assert kb(migrated, "import", str(out), "--tenant", "globex") == 0
    _, moved, _ = read(migrated, "globex")
    assert [content(a) for a in moved] == [content(a) for a in articles]


def test_dry_run_and_prune(
    migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "one.md").write_text("# One\n\nFirst.", encoding="utf-8")
    (folder / "two.md").write_text("# Two\n\nSecond.", encoding="utf-8")
    assert kb(migrated, "import", str(folder), "--tenant", "t") == 0
    (folder / "two.md").unlink()
    (folder / "one.md").write_text("# One\n\nFirst, edited.", encoding="utf-8")
    (folder / "three.md").write_text("# Three\n\nThird.", encoding="utf-8")
    capsys.readouterr()

    assert kb(migrated, "import", str(folder), "--tenant", "t", "--prune", "--dry-run") == 0
    assert "would import 2 article(s)" in (err := capsys.readouterr().err)
    assert "1 created, 1 updated, 0 unchanged, 1 deleted" in err
    version, articles, _ = read(migrated, "t")
    assert version == 1 and sorted(a.slug for a in articles) == ["one", "two"]

    assert kb(migrated, "import", str(folder), "--tenant", "t", "--prune") == 0
    version, articles, _ = read(migrated, "t")
    assert version == 2 and sorted(a.slug for a in articles) == ["one", "three"]
    assert next(a for a in articles if a.slug == "one").body == "First, edited."


def test_a_bad_source_lists_every_problem_and_writes_nothing(
    migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nFine.", encoding="utf-8")
    (folder / "untitled.md").write_text("No heading.", encoding="utf-8")
    (folder / "draft.md").write_text("---\npublished: perhaps\n---\n# D\n\nx", encoding="utf-8")
    assert kb(migrated, "import", str(folder), "--tenant", "t") == 1
    err = capsys.readouterr().err
    assert "untitled.md: title: no title" in err and "draft.md: published:" in err
    assert "nothing was imported" in err
    assert read(migrated, "t")[:2] == (0, [])

    bad_json = tmp_path / "bad.json"
    bad_json.write_text(
        json.dumps({"articles": [{"slug": "ok", "title": "T", "body": "b"}, {"slug": "NO"}]}),
        encoding="utf-8",
    )
    assert kb(migrated, "import", str(bad_json), "--tenant", "t") == 1
    err = capsys.readouterr().err
    assert "articles[1].slug:" in err and "articles[1].title: Field required" in err
    assert read(migrated, "t")[:2] == (0, [])
    assert kb(migrated, "import", str(tmp_path / "missing"), "--tenant", "t") == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_never_creates_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "typo.db"
    url = f"sqlite+aiosqlite:///{missing}"
    assert kb(url, "import", str(HELP_CENTER), "--tenant", "t") == 2
    assert f"no database at sqlite+aiosqlite:///{missing}" in capsys.readouterr().err
    assert kb(url, "export", "--tenant", "t") == 2
    assert not missing.exists()

    empty = tmp_path / "empty.db"
    empty.touch()
    assert kb(f"sqlite+aiosqlite:///{empty}", "import", str(HELP_CENTER), "--tenant", "t") == 2
    assert "supportai db upgrade" in capsys.readouterr().err


def test_names_the_database_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    from supportai.knowledge.ingest import describe

    assert describe("postgresql+asyncpg://app:s3cret@db:5432/prod") == (
        "postgresql+asyncpg://app:***@db:5432/prod"
    )


def test_progress_bar(migrated: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert kb(migrated, "import", str(HELP_CENTER), "--tenant", "p", "--progress", "always") == 0
    assert "kb import [" in capsys.readouterr().err
    assert kb(migrated, "export", "--tenant", "p") == 0
    assert json.loads(capsys.readouterr().out)["articles"]


def test_help_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["kb", "import", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--tenant", "--locale", "--url-template", "--prune", "--dry-run", "--actor"):
        assert option in text
    with pytest.raises(SystemExit):
        main(["kb", "import", str(HELP_CENTER), "--tenant", ""])
    assert main(["kb", "import", str(HELP_CENTER), "--tenant", "t", "--locale", "x!"]) == 2
    assert "--locale" in capsys.readouterr().err
