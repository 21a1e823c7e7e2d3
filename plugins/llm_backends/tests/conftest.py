"""Fixtures: the small fixture help center, the Lumen help center, a clean environment."""

from __future__ import annotations

import pytest
from llm_backends_testing import LUMEN_ARTICLES, kb_settings
from supportai_llm_backends.knowledge import KnowledgeBase
from supportai_llm_backends.settings import KnowledgeBaseSettings


@pytest.fixture(autouse=True)
def _no_kb_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their own settings; a developer's SUPPORTAI_KB_* must not leak in."""
    import os

    for name in list(os.environ):
        if name.upper().startswith(("SUPPORTAI_KB_", "SUPPORTAI_OPENAI_")):
            monkeypatch.delenv(name)


@pytest.fixture
def fixture_kb() -> KnowledgeBase:
    return KnowledgeBase.from_settings(kb_settings())


@pytest.fixture(scope="session")
def lumen_kb() -> KnowledgeBase:
    return KnowledgeBase.from_settings(KnowledgeBaseSettings(articles_dir=LUMEN_ARTICLES))
