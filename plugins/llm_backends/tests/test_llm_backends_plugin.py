"""Registration, settings, the retrieval hook and lazy imports, through core's own runtime."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from llm_backends_testing import CALLER, FIXTURE_ARTICLES
from supportai_llm_backends.plugin import plugin
from supportai_llm_backends.settings import (
    EmbeddingSettings,
    KnowledgeBaseSettings,
    OpenAISettings,
)

from supportai.errors import ConfigurationError
from supportai.llm import ContextDocument, LLMBackend
from supportai.runtime import Runtime
from supportai.settings import Settings


def runtime(tmp_path: Path, **settings: Any) -> Runtime:
    base = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", **settings)
    return Runtime.build(base, [plugin], load_entry_points=False)


def test_entry_point_exposes_the_plugin_object() -> None:
    from importlib.metadata import entry_points

    (entry_point,) = [ep for ep in entry_points(group="supportai") if ep.name == "llm_backends"]
    assert entry_point.load() is plugin


def test_settings_models_and_backend_names() -> None:
    assert list(plugin.supportai_settings_models()) == [
        KnowledgeBaseSettings,
        OpenAISettings,
        EmbeddingSettings,
    ]
    names: list[str] = []
    plugin.supportai_register_llm_backends(lambda name, factory: names.append(name))
    assert names == ["knowledge_base", "openai"]
    embedders: list[str] = []
    plugin.supportai_register_embedders(lambda name, factory: embedders.append(name))
    assert embedders == ["wordllama", "minilm", "openai"]


def test_knowledge_base_backend_from_plugin_options(tmp_path: Path) -> None:
    rt = runtime(
        tmp_path,
        llm_backend="knowledge_base",
        plugin_options={"kb": {"articles_dir": str(FIXTURE_ARTICLES), "words_per_delta": 2}},
    )
    assert isinstance(rt.backend, LLMBackend)
    assert (rt.backend.name, rt.backend.model) == ("knowledge_base", "knowledge-base")
    assert rt.backend.settings.words_per_delta == 2  # type: ignore[attr-defined]


def test_knowledge_base_backend_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_KB_ARTICLES_DIR", str(FIXTURE_ARTICLES))
    rt = runtime(tmp_path, llm_backend="knowledge_base")
    assert rt.backend is not None and rt.backend.name == "knowledge_base"


def test_knowledge_base_with_a_wrong_articles_folder_fails_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SUPPORTAI_KB_ARTICLES_DIR"):
        runtime(
            tmp_path,
            llm_backend="knowledge_base",
            plugin_options={"kb": {"articles_dir": str(tmp_path / "missing")}},
        )
    # Without a folder the articles come from the app's database (supportai kb import).
    assert runtime(tmp_path, llm_backend="knowledge_base").backend is not None


def test_invalid_plugin_setting_fails_start_up_with_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_OPENAI_TIMEOUT_S", "soon")
    with pytest.raises(ConfigurationError, match="SUPPORTAI_OPENAI_TIMEOUT_S"):
        runtime(tmp_path)


def test_openai_backend_needs_a_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SUPPORTAI_OPENAI_API_KEY"):
        runtime(tmp_path, llm_backend="openai")


def test_openai_backend_builds_with_core_idle_timeout_by_default(tmp_path: Path) -> None:
    rt = runtime(
        tmp_path,
        llm_backend="openai",
        backend_idle_timeout_s=12.5,
        plugin_options={"openai": {"api_key": "sk-test", "model": "local-model"}},
    )
    assert rt.backend is not None
    assert (rt.backend.name, rt.backend.model) == ("openai", "local-model")
    assert rt.backend.idle_timeout_s == 12.5  # type: ignore[attr-defined]
    explicit = runtime(
        tmp_path,
        llm_backend="openai",
        plugin_options={"openai": {"api_key": "sk-test", "idle_timeout_s": 3}},
    )
    assert explicit.backend.idle_timeout_s == 3  # type: ignore[union-attr]


def test_api_key_is_redacted_when_settings_are_shown() -> None:
    from supportai.plugins import redacted_settings

    shown = redacted_settings(OpenAISettings(api_key="sk-very-secret"))  # type: ignore[arg-type]
    assert "sk-very-secret" not in str(shown)


async def test_retrieve_context_hook_serves_the_configured_help_center(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_KB_ARTICLES_DIR", str(FIXTURE_ARTICLES))
    monkeypatch.setenv("SUPPORTAI_KB_URL_TEMPLATE", "https://help.example/{source_id}")
    rt = runtime(tmp_path)
    documents = await rt.hooks.retrieve_context("how do I get a refund", CALLER, 2)
    assert documents and all(isinstance(doc, ContextDocument) for doc in documents)
    first = documents[0]
    assert (first.source_id, first.title) == ("refunds", "Refund policy")
    assert first.url == "https://help.example/refunds"
    assert "14 days" in first.text and first.score > 0
    assert len(documents) <= 2


@pytest.mark.parametrize("articles_dir", [None, "/nonexistent/help"])
async def test_retrieve_context_is_silent_without_a_help_center(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, articles_dir: str | None
) -> None:
    if articles_dir:
        monkeypatch.setenv("SUPPORTAI_KB_ARTICLES_DIR", articles_dir)
    rt = runtime(tmp_path)
    assert await rt.hooks.retrieve_context("refund", CALLER, 3) == []


async def test_retrieve_context_limit_zero_and_no_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_KB_ARTICLES_DIR", str(FIXTURE_ARTICLES))
    context = runtime(tmp_path).context
    assert await plugin.supportai_retrieve_context("refund", CALLER, 0, context) is None
    found = await plugin.supportai_retrieve_context("quantum chromodynamics", CALLER, 3, context)
    assert found == []


async def test_retrieve_context_reads_this_apps_plugin_options(tmp_path: Path) -> None:
    """Configured in code, not in the environment: the hook still grounds answers."""
    rt = runtime(tmp_path, plugin_options={"kb": {"articles_dir": str(FIXTURE_ARTICLES)}})
    found = await plugin.supportai_retrieve_context("how do I get a refund", CALLER, 1, rt.context)
    assert found and found[0].source_id == "refunds"
    bare = runtime(tmp_path).context
    assert await plugin.supportai_retrieve_context("how do I get a refund", CALLER, 1, bare) is None


def test_importing_the_plugin_and_the_kb_backend_never_imports_openai(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from supportai.runtime import Runtime
        from supportai.settings import Settings
        from supportai_llm_backends.plugin import plugin
        settings = Settings(
            database_url="sqlite+aiosqlite:///{tmp_path / "lazy.db"}",
            llm_backend="knowledge_base",
            plugin_options={{"kb": {{"articles_dir": {str(FIXTURE_ARTICLES)!r}}}}},
        )
        Runtime.build(settings, [plugin], load_entry_points=False)
        assert "openai" not in sys.modules, "openai imported eagerly"
        settings = settings.model_copy(update={{
            "llm_backend": "openai", "plugin_options": {{"openai": {{"api_key": "k"}}}}}})
        Runtime.build(settings, [plugin], load_entry_points=False)
        assert "openai" in sys.modules
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


async def test_backend_and_hook_share_one_service_and_one_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportai_llm_backends.knowledge import service_for

    monkeypatch.setenv("SUPPORTAI_KB_ARTICLES_DIR", str(FIXTURE_ARTICLES))
    rt = runtime(tmp_path, llm_backend="knowledge_base")
    service = service_for(rt.context)
    assert rt.backend.service is service  # type: ignore[union-attr]
    other = runtime(tmp_path / "other", llm_backend="knowledge_base")
    assert service_for(other.context) is not service  # one service per app
