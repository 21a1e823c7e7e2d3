"""The plugin system: entry points, allow/block lists, failures, the async facade, providers."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from hook_events import as_caller, completed_event

from supportai import hookimpl
from supportai.cli import main as cli_main
from supportai.errors import ConfigurationError
from supportai.plugins import Hooks, create_plugin_manager
from supportai.runtime import Runtime
from supportai.settings import Settings
from supportai.testing import ScriptedBackend, as_user, backend_plugin, plugin


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", **values)


def test_installed_plugin_is_loaded_through_its_entry_point(tmp_path: Path) -> None:
    runtime = Runtime.build(settings(tmp_path, plugins=["example"], llm_backend="example_echo"))
    assert runtime.backend is not None
    assert runtime.backend.model == "echo-1"
    assert runtime.pm.get_plugin("example") is not None


async def test_entry_point_backend_answers_a_turn(tmp_path: Path, supportai_app, supportai_client):
    app = supportai_app(
        settings(
            tmp_path, plugins=["example"], llm_backend="example_echo", disclosure_required=False
        ),
        load_entry_points=True,
    )
    client = supportai_client(app)
    cid = (await client.post("/conversations", headers=as_user())).json()["conversation_id"]
    turn = await client.post(
        f"/conversations/{cid}/messages", json={"content": "ping"}, headers=as_user()
    )
    assert turn.json()["content"] == "echo: ping"


def test_block_list_wins_over_installation(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="example_echo"):
        Runtime.build(
            settings(
                tmp_path,
                plugins=["example"],
                disable_plugins=["example"],
                llm_backend="example_echo",
            )
        )


def test_allow_list_naming_a_missing_plugin_fails_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not installed: nope"):
        create_plugin_manager(settings(tmp_path, plugins=["nope"]))


def _fake_distribution(root: Path, name: str, module_source: str) -> None:
    """A real dist-info with an entry point, importable from ``root`` on sys.path."""
    (root / f"{name}.py").write_text(textwrap.dedent(module_source))
    dist = root / f"{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[supportai]\n{name} = {name}:plugin\n")


def test_broken_plugin_fails_start_up_with_its_name(tmp_path: Path, monkeypatch) -> None:
    _fake_distribution(tmp_path, "broken_supportai_plugin", "import does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigurationError) as failure:
        create_plugin_manager(settings(tmp_path, plugins=["broken_supportai_plugin"]))
    message = str(failure.value)
    assert "broken_supportai_plugin" in message
    assert "does_not_exist_anywhere" in message
    sys.modules.pop("broken_supportai_plugin", None)


def test_hook_with_a_typo_is_rejected(tmp_path: Path) -> None:
    class Typo:
        @hookimpl
        def supportai_resolve_callr(self) -> None:  # missing "e"
            return None

    with pytest.raises(ConfigurationError, match="supportai_resolve_callr"):
        create_plugin_manager(settings(tmp_path), [Typo()], load_entry_points=False)


async def test_facade_awaits_async_results_before_choosing(tmp_path: Path) -> None:
    """pluggy's firstresult would return the first coroutine; the facade awaits it."""

    class AsyncNone:
        @hookimpl(tryfirst=True)
        async def supportai_master_flag(self, tenant_id: str) -> bool | None:
            return None

    class AsyncOff:
        @hookimpl
        async def supportai_master_flag(self, tenant_id: str) -> bool | None:
            return tenant_id != "t-off"

    pm = create_plugin_manager(
        settings(tmp_path), [AsyncOff(), AsyncNone()], load_entry_points=False
    )
    hooks = Hooks(pm)
    assert await hooks.master_flag("t-off") is False
    assert await hooks.master_flag("t-on") is True


async def test_builtin_defaults_are_trylast(tmp_path: Path) -> None:
    override = plugin(supportai_system_prompt=lambda caller, conversation_id: "custom")
    pm = create_plugin_manager(
        settings(tmp_path, system_prompt="from settings"), [override], load_entry_points=False
    )
    assert await Hooks(pm).system_prompt(as_caller(), 1) == "custom"


async def test_observer_errors_are_logged_not_raised(tmp_path: Path, caplog) -> None:
    seen: list[dict] = []

    def boom(event: dict) -> None:
        raise RuntimeError("observer broke")

    pm = create_plugin_manager(
        settings(tmp_path),
        [
            plugin(supportai_turn_completed=boom),
            plugin(supportai_turn_completed=lambda event: seen.append(event)),
        ],
        load_entry_points=False,
    )
    event = completed_event()
    await Hooks(pm).turn_completed(event)
    assert seen == [event]
    assert "observer broke" in caplog.text


def test_unknown_provider_name_lists_the_available_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"SUPPORTAI_LLM_BACKEND='nope'.*scripted"):
        Runtime.build(
            settings(tmp_path, llm_backend="nope"),
            [backend_plugin(ScriptedBackend([[]]))],
            load_entry_points=False,
        )


def test_duplicate_provider_name_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="two plugins register the LLM backend"):
        Runtime.build(
            settings(tmp_path),
            [backend_plugin(ScriptedBackend([[]])), backend_plugin(ScriptedBackend([[]]))],
            load_entry_points=False,
        )


def test_invalid_plugin_setting_names_the_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SUPPORTAI_EXAMPLE_PREFIX", "")
    from supportai_example_plugin import EchoSettings

    class Strict(EchoSettings):
        model_config = EchoSettings.model_config | {"env_prefix": "SUPPORTAI_STRICT_"}
        retries: int = 1

    monkeypatch.setenv("SUPPORTAI_STRICT_RETRIES", "many")
    strict = plugin(supportai_settings_models=lambda: [Strict])
    with pytest.raises(ConfigurationError, match="SUPPORTAI_STRICT_RETRIES"):
        Runtime.build(settings(tmp_path), [strict], load_entry_points=False)


def test_invalid_core_setting_names_the_variable(monkeypatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("SUPPORTAI_RATE_LIMIT_WINDOW_S", "soon")
    with pytest.raises(ValidationError, match="rate_limit_window_s"):
        Settings()


def test_cli_lists_plugins_with_versions_and_redacted_secrets(capsys, monkeypatch) -> None:
    monkeypatch.setenv("SUPPORTAI_PLUGINS", '["example"]')
    assert cli_main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "example 1.2.3" in out
    assert "supportai_register_llm_backends" in out
    assert "example-secret-value" not in out
    assert "**********" in out


def test_plugin_options_override_plugin_settings(tmp_path: Path) -> None:
    runtime = Runtime.build(
        settings(
            tmp_path,
            plugins=["example"],
            llm_backend="example_echo",
            plugin_options={"example": {"prefix": ">> "}},
        )
    )
    assert runtime.backend.settings.prefix == ">> "  # type: ignore[union-attr]


def test_two_apps_do_not_share_plugins(tmp_path: Path) -> None:
    first = Runtime.build(
        settings(tmp_path), [backend_plugin(ScriptedBackend([[]]))], load_entry_points=False
    )
    second = Runtime.build(settings(tmp_path), load_entry_points=False)
    assert first.pm is not second.pm
    assert len(first.pm.get_plugins()) == len(second.pm.get_plugins()) + 1
