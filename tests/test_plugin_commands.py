"""Plugins add ``supportai`` subcommands through ``supportai_register_commands``."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from supportai import hookimpl, plugin_commands
from supportai.cli import main
from supportai.plugins import create_plugin_manager


def test_an_installed_plugin_s_command_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/fixtures/example_plugin registers ``example-echo`` through its entry point."""
    monkeypatch.setenv("SUPPORTAI_EXAMPLE_PREFIX", "said: ")
    assert main(["example-echo", "hello"]) == 0
    assert capsys.readouterr().out == "said: hello\n"
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "example-echo" in capsys.readouterr().out


def test_a_disabled_plugin_adds_no_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_DISABLE_PLUGINS", '["example"]')
    with pytest.raises(SystemExit) as exit_:
        main(["example-echo", "hello"])
    assert exit_.value.code == 2
    assert "invalid choice: 'example-echo'" in capsys.readouterr().err


def test_a_plugin_cannot_take_a_core_command_s_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Shadow:
        @hookimpl
        def supportai_register_commands(self, subparsers: argparse._SubParsersAction[Any]) -> None:
            subparsers.add_parser("db")

    monkeypatch.setattr(
        plugin_commands,
        "create_plugin_manager",
        lambda settings: create_plugin_manager(settings, [Shadow()], load_entry_points=False),
    )
    assert main(["db", "history"]) == 2
    err = capsys.readouterr().err
    assert "supportai_register_commands" in err and "db" in err


def test_a_broken_plugin_setup_leaves_the_core_commands_working(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_PLUGINS", '["not_installed"]')
    assert main(["db", "history"]) == 0
    captured = capsys.readouterr()
    assert "plugin commands are unavailable" in captured.err
    assert "not_installed" in captured.err
