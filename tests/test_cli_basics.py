"""The ``supportai`` command as an operator meets it: ``--version``, a real ``--help``,
and database commands that name the database they use and never create one by accident.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from supportai import __version__
from supportai.cli import main
from supportai.cli_database import ENV


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shell in a fresh folder without SUPPORTAI_DATABASE_URL (the default ./supportai.db)."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv(ENV, raising=False)
    return folder


def test_version_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"supportai {__version__}"


def test_help_describes_the_tool_not_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "register(subparsers)" not in text
    assert "migrate the database" in text
    for command in ("plugins", "db", "openapi", "export-training", "--version"):
        assert command in text


@pytest.mark.parametrize("command", [["export-training"], ["db", "current"]])
def test_reading_commands_never_create_the_default_database(
    empty_folder: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 2
    err = capsys.readouterr().err
    assert list(empty_folder.iterdir()) == [], "the command created a file"
    assert str(empty_folder / "supportai.db") in err
    assert f"{ENV} is not set" in err
    assert "db upgrade" not in err  # no advice about a database that is not the app's


def test_reading_commands_name_the_database_from_the_option(
    tmp_path: Path, empty_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "elsewhere" / "app.db"
    assert main(["export-training", "--database-url", f"sqlite+aiosqlite:///{missing}"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "--database-url" in err
    assert not missing.parent.exists()


def test_upgrade_creates_and_names_it_then_export_names_it_too(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    empty_folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "app.db"
    monkeypatch.setenv(ENV, f"sqlite+aiosqlite:///{path}")
    assert main(["db", "upgrade"]) == 0
    assert path.exists()
    assert f"database SQLite {path} (from {ENV})" in capsys.readouterr().err
    assert main(["db", "current"]) == 0
    assert f"database SQLite {path} (from {ENV})" in capsys.readouterr().err
    assert main(["export-training", "-o", str(tmp_path / "out.jsonl")]) == 0
    err = capsys.readouterr().err
    assert f"database SQLite {path} (from {ENV})" in err
    assert "nothing to export" in err


def test_a_server_url_is_named_without_its_password() -> None:
    from supportai.cli_database import DatabaseChoice

    choice = DatabaseChoice("postgresql+asyncpg://app:s3cret@db.internal/app", "from test")
    assert choice.describe() == "postgresql+asyncpg://app:***@db.internal/app"
    assert choice.sqlite_file is None
    choice.require_existing()  # a server database is the server's business: no check here
