"""Registration: the entry point, the settings models, the filters by name, the redact hook."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from pydantic_settings import BaseSettings
from supportai_filters.pii_filter import PiiFilter
from supportai_filters.plugin import plugin
from supportai_filters.settings import GuardrailsSettings, PiiSettings

from supportai.errors import ConfigurationError
from supportai.plugins import (
    ENTRY_POINT_GROUP,
    Hooks,
    ProviderContext,
    Registry,
    create_plugin_manager,
    load_plugin_settings,
    settings_key,
)
from supportai.redaction import builtin_redact, redact
from supportai.settings import Settings

if sys.version_info >= (3, 12):
    from importlib.metadata import entry_points
else:
    from importlib_metadata import entry_points


def hooks_for(settings: Settings) -> Hooks:
    return Hooks(create_plugin_manager(settings, load_entry_points=True))


@pytest.fixture
def settings() -> Settings:
    return Settings(plugins=["filters"], database_url="sqlite+aiosqlite:///:memory:")


def test_the_entry_point_names_the_plugin_object() -> None:
    (ep,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "filters"]
    assert ep.value == "supportai_filters.plugin:plugin"
    assert ep.load() is plugin


def test_loading_the_entry_point_registers_both_filters(settings: Settings) -> None:
    hooks = hooks_for(settings)
    registry = Registry("output filter")
    hooks.register_output_filters(registry.register)
    assert sorted(registry.factories) == ["guardrails", "pii"]


def test_settings_models_use_their_own_prefixes() -> None:
    assert settings_key(PiiSettings) == "pii"
    assert settings_key(GuardrailsSettings) == "guardrails"
    models: list[type[BaseSettings]] = list(plugin.supportai_settings_models())
    assert models == [PiiSettings, GuardrailsSettings]


def test_settings_come_from_the_environment_and_plugin_options(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_PII_KINDS", '["email", "card"]')
    monkeypatch.setenv("SUPPORTAI_GUARDRAILS_BANNED_TERMS", '["Globex"]')
    monkeypatch.setenv("SUPPORTAI_GUARDRAILS_BANNED_TERMS_ACTION", "redact")
    with_options = settings.model_copy(update={"plugin_options": {"pii": {"holdback": 128}}})
    loaded = load_plugin_settings(hooks_for(with_options), with_options)
    pii = loaded[PiiSettings]
    assert isinstance(pii, PiiSettings)
    assert (pii.kinds, pii.holdback) == (["email", "card"], 128)
    guardrails = loaded[GuardrailsSettings]
    assert isinstance(guardrails, GuardrailsSettings)
    assert guardrails.banned_terms == ["Globex"] and guardrails.banned_terms_action == "redact"


def test_an_unknown_kind_fails_start_up_naming_the_variable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_PII_KINDS", '["email", "dna"]')
    with pytest.raises(ConfigurationError, match=r"SUPPORTAI_PII_KINDS.*dna"):
        load_plugin_settings(hooks_for(settings), settings)


def test_the_pii_factory_builds_from_plugin_settings(settings: Settings) -> None:
    hooks = hooks_for(settings)
    context = ProviderContext(settings=settings, hooks=hooks, database=None)  # type: ignore[arg-type]
    context._plugin_settings = {PiiSettings: PiiSettings(kinds=["ip"], step=8)}
    registry = Registry("output filter")
    hooks.register_output_filters(registry.register)
    built: Any = registry.build("pii", context, "SUPPORTAI_OUTPUT_FILTERS")
    assert isinstance(built, PiiFilter)
    assert built.settings.kinds == ["ip"] and built.settings.step == 8


async def test_core_redaction_uses_this_plugins_redactor(settings: Settings) -> None:
    text = "Order 123456 for ann@example.com, key AKIAIOSFODNN7EXAMPLE, call +44 20 7946 0958."
    ours = await redact(hooks_for(settings), "t1", text)
    assert ours == (
        "Order 123456 for [redacted email], key [redacted secret], call [redacted phone number]."
    )
    assert ours != builtin_redact(text)  # core's fallback would have run otherwise


async def test_redaction_for_training_ignores_the_filter_kinds(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_PII_KINDS", '["email"]')
    out = await redact(hooks_for(settings), "t1", "server 8.8.8.8")
    assert out == "server [redacted IP address]"
