"""Fixtures: a clean environment, and a fake OpenAI-compatible embeddings server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llm_backends_fake_embeddings import FakeEmbeddingsServer, serve


@pytest.fixture(autouse=True)
def _no_kb_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests choose their own settings; a developer's SUPPORTAI_KB_* must not leak in.

    Persisted embeddings go to a temporary folder, never next to the repository's articles.
    """
    import os

    for name in list(os.environ):
        if name.upper().startswith(("SUPPORTAI_KB_", "SUPPORTAI_OPENAI_", "SUPPORTAI_EMBEDDINGS_")):
            monkeypatch.delenv(name)
    cache = tmp_path_factory.mktemp("embeddings")
    monkeypatch.setenv("SUPPORTAI_KB_EMBEDDINGS_CACHE_DIR", str(cache))


@pytest.fixture(scope="session")
def fake_embeddings() -> Iterator[FakeEmbeddingsServer]:
    yield from serve()
