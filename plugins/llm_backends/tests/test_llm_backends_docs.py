"""The README and the guide document every setting the two models declare."""

from __future__ import annotations

from pathlib import Path

import pytest
from supportai_llm_backends.settings import EmbeddingSettings, KnowledgeBaseSettings, OpenAISettings

PLUGIN = Path(__file__).resolve().parents[1]
PAGES = [PLUGIN / "README.md", PLUGIN.parents[1] / "docs" / "plugins" / "llm_backends.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
@pytest.mark.parametrize("model", [KnowledgeBaseSettings, OpenAISettings, EmbeddingSettings])
def test_every_setting_is_documented(page: Path, model: type) -> None:
    text = page.read_text(encoding="utf-8")
    prefix = model.model_config["env_prefix"]
    missing = [
        f"{prefix}{name.upper()}"
        for name in model.model_fields
        if f"`{prefix}{name.upper()}`" not in text
    ]
    assert not missing, f"{page.name} does not document {missing}"
