"""Embedders registered by name: wordllama offline (proven with the egress guard) and
any OpenAI-compatible /v1/embeddings server (against a local fake)."""

from __future__ import annotations

from typing import Any

import pytest
from llm_backends_fake_embeddings import DIMENSIONS, FakeEmbeddingsServer
from llm_backends_testing import FIXTURE_ARTICLES, search_offline
from pydantic import SecretStr
from supportai_llm_backends.retrieval.embedders import OpenAIEmbedder, WordLlamaEmbedder
from supportai_llm_backends.settings import EmbeddingSettings

from supportai.embeddings import Embedder, EmbeddingError
from supportai.errors import ConfigurationError
from supportai.runtime import Runtime
from supportai.settings import Settings


def test_wordllama_loads_and_ranks_with_no_connection_attempt() -> None:
    """In a fresh interpreter (no model cached yet), under the socket guard."""
    report = search_offline("WordLlamaEmbedder")
    assert report["blocked"] == []
    assert report["top"] == "refunds"
    # wordllama calls logging.basicConfig on import: the host's logging stays untouched.
    assert report["root_handlers"] == 0


async def test_wordllama_vectors_have_the_model_dimensions() -> None:
    embedder = WordLlamaEmbedder(dim=128)
    vectors = await embedder.embed(["refund", "invoice"])
    assert len(vectors) == 2 and all(len(v) == 128 for v in vectors)
    assert embedder.model.endswith("-128")
    assert await embedder.embed([]) == []


def openai_settings(fake: FakeEmbeddingsServer, model: str = "embed-small") -> EmbeddingSettings:
    return EmbeddingSettings(
        openai_base_url=fake.base_url,
        openai_api_key=SecretStr("test-key"),
        openai_model=model,
        openai_batch_size=2,
        openai_max_retries=0,
    )


async def test_openai_embedder_batches_and_keeps_the_order(
    fake_embeddings: FakeEmbeddingsServer,
) -> None:
    embedder = OpenAIEmbedder(openai_settings(fake_embeddings))
    before = len(fake_embeddings.requests)
    texts = ["refund policy", "reset password", "api tokens"]
    vectors = await embedder.embed(texts)
    await embedder.aclose()
    assert [len(v) for v in vectors] == [DIMENSIONS] * 3
    # The server answers in reverse order; vectors come back in the texts' order.
    from llm_backends_fake_embeddings import vector

    assert [list(v) for v in vectors] == [vector(t) for t in texts]
    sent = fake_embeddings.requests[before:]
    assert [r["input"] for r in sent] == [texts[:2], texts[2:]]
    assert all(r["model"] == "embed-small" for r in sent)
    assert embedder.model == "openai:embed-small"


async def test_openai_embedder_failure_is_typed(fake_embeddings: FakeEmbeddingsServer) -> None:
    embedder = OpenAIEmbedder(openai_settings(fake_embeddings, model="down"))
    with pytest.raises(EmbeddingError, match="embeddings server failed"):
        await embedder.embed(["refund"])
    await embedder.aclose()


def app_runtime(**kb: Any) -> Runtime:
    settings = Settings(
        database_url="sqlite:///:memory:",
        llm_backend="knowledge_base",
        plugin_options={"kb": {"articles_dir": str(FIXTURE_ARTICLES), **kb}},
    )
    return Runtime.build(settings)


async def test_embedders_are_registered_by_name_through_the_hook(
    fake_embeddings: FakeEmbeddingsServer,
) -> None:
    """supportai_register_embedders: the KB picks the one SUPPORTAI_KB_EMBEDDER names."""
    from supportai_llm_backends.knowledge import embedder_registry, service_for

    runtime = app_runtime(embedder="openai")
    runtime.context._plugin_settings[EmbeddingSettings] = openai_settings(fake_embeddings)
    assert {"wordllama", "minilm", "openai"} <= set(embedder_registry(runtime.context).factories)
    service = service_for(runtime.context)
    embedder = service.embedder
    assert isinstance(embedder, Embedder) and embedder.name == "openai"
    before = len(fake_embeddings.requests)
    result = await service.search("tenant-1", "refund within 14 days")
    assert result.hits[0].article_id == "refunds"
    assert len(fake_embeddings.requests) > before
    await runtime.stop()
    await service.aclose()


def test_an_unknown_embedder_fails_start_up() -> None:
    with pytest.raises(ConfigurationError, match=r"SUPPORTAI_KB_EMBEDDER='nope'.*wordllama"):
        app_runtime(embedder="nope")


async def test_embedder_none_turns_dense_retrieval_off() -> None:
    from supportai_llm_backends.knowledge import service_for

    runtime = app_runtime(embedder="none")
    service = service_for(runtime.context)
    assert service.embedder is None
    result = await service.search("tenant-1", "refund within 14 days")
    assert not result.index.has_vectors and result.hits[0].article_id == "refunds"
    await runtime.stop()
