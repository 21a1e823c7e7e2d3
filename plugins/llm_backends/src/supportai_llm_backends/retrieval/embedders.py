"""The built-in embedders: ``wordllama`` (offline, default), ``minilm`` (offline,
contextual) and ``openai``.

``wordllama`` ships its 256-dimension static embedding model inside the wheel:
no download, no GPU, about 0.1 ms per query. Version 0.4.0.post1 looks for its
bundled tokenizer in the wrong folder (``tokenizer/``; the wheel has
``tokenizers/``) and would then fetch it from the internet, so it is loaded with
``cache_dir`` set to the package's own folder and downloads disabled: supportai
never opens a connection its settings did not ask for.

``minilm`` is all-MiniLM-L6-v2 run by ONNX Runtime (``retrieval/minilm.py``, the
``minilm`` extra): its int8 model ships inside this plugin, so it is offline too;
it reads words in context but costs about 1.5 ms per query instead of a tenth of
a millisecond.

``openai`` talks to any server implementing ``POST /v1/embeddings`` (OpenAI,
vLLM, Ollama, Hugging Face TEI, LiteLLM) through the ``openai`` client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from supportai.embeddings import Embedder, EmbeddingError
from supportai.errors import ConfigurationError

if TYPE_CHECKING:
    from supportai_llm_backends.retrieval.alignment import Pieces
    from supportai_llm_backends.retrieval.dense import Matrix
    from supportai_llm_backends.retrieval.minilm import MiniLM
    from supportai_llm_backends.settings import EmbeddingSettings

    from supportai.plugins import ProviderContext

_wordllama_lock = threading.Lock()
_wordllama_models: dict[int, Any] = {}


def load_wordllama(dim: int = 256) -> Any:
    """The bundled wordllama model, loaded once per process, never downloaded."""
    model = _wordllama_models.get(dim)
    if model is not None:
        return model
    with _wordllama_lock:
        model = _wordllama_models.get(dim)
        if model is None:
            with _host_logging_kept():
                model = _load_bundled(dim)
            _wordllama_models[dim] = model
    return model


def _load_bundled(dim: int) -> Any:
    import wordllama
    from wordllama import WordLlama

    # The bundled tokenizer is found under <cache_dir>/tokenizers/: pointing the cache
    # at the package itself finds it there (0.4.0.post1 first looks in tokenizer/).
    package = Path(wordllama.__file__).resolve().parent
    try:
        return WordLlama.load(
            dim=256,
            trunc_dim=None if dim == 256 else dim,
            cache_dir=package,
            disable_download=True,
        )
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"the wordllama embedder could not load its bundled model: {exc}"
        ) from exc


@contextlib.contextmanager
def _host_logging_kept() -> Iterator[None]:
    """Keep wordllama from configuring the host's logging.

    Its modules call ``logging.basicConfig(level=INFO)`` when imported, which would
    add a handler to the host application's root logger (and print every INFO line
    of every library). While they are imported, ``basicConfig`` does nothing.
    """
    original = logging.basicConfig
    logging.basicConfig = _no_basic_config
    try:
        yield
    finally:
        logging.basicConfig = original


def _no_basic_config(*args: Any, **kwargs: Any) -> None:
    return None


class WordLlamaEmbedder:
    """Static word embeddings, mean-pooled: fast enough to embed in the request."""

    name = "wordllama"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.model = f"wordllama-l2_supercat-{dim}"

    async def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        return self.embed_sync(texts)

    def embed_sync(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        """Synchronous on purpose: a query embeds in ~0.1 ms, less than a task switch."""
        if not texts:
            return []
        model = load_wordllama(self.dim)
        if len(texts) == 1:
            return [self._one(model, texts[0])]
        vectors = model.embed(list(texts), norm=False)
        return cast(Sequence[Sequence[float]], vectors)

    @staticmethod
    def _one(model: Any, text: str) -> Sequence[float]:
        """One question: the same mean of token vectors as ``embed``, without its batch
        padding and the tokenizer's thread pool (``encode_batch``), which on a busy
        machine cost more than the arithmetic."""
        table = model.embedding
        ids = np.asarray(model.tokenizer.encode(text, add_special_tokens=False).ids)
        ids = ids[(ids >= 0) & (ids < table.shape[0])]
        if not len(ids):
            return cast(Sequence[float], np.zeros(table.shape[1], dtype=np.float32))
        return cast(Sequence[float], table[ids].mean(axis=0))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d), loaded on first use.

    The forward pass runs in a worker thread: an index build takes seconds and a
    query a millisecond or two, both too long to hold the event loop (ONNX
    Runtime releases the GIL while it runs).
    """

    name = "minilm"
    #: The shipped model's identity: vectors are persisted under it, so a new
    #: conversion (another quantization, another runtime) re-embeds instead of
    #: mixing spaces. ``-1`` was the numpy forward pass (decision 0015), ``-2`` the
    #: 8-bit weights that AVX2-only CPUs computed differently (decision 0020), ``-3``
    #: ONNX Runtime's SkipLayerNormalization fusion (decision 0024), ``-4`` the
    #: original weights before they were fine-tuned on support questions (decision 0030),
    #: ``-5`` the weights fine-tuned on sixteen help centers before thirty-two (decision 0031).
    model = "minilm-l6-support-onnx-int8-6"
    #: Token budgets: passages (sections, headings) and questions.
    passage_tokens = 128
    query_tokens = 64

    def __init__(self, threads: int | None = None) -> None:
        #: ONNX Runtime threads per run (``None``: :func:`.minilm.default_threads`); the
        #: vectors are the same whatever the count.
        self.threads = threads

    async def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        if not texts:
            return []
        return await asyncio.to_thread(self._run, list(texts), self.passage_tokens)

    async def embed_query(self, text: str) -> Sequence[float]:
        """One question, cut to ``query_tokens`` (a long narrative costs no more)."""
        vectors = await asyncio.to_thread(self._run, [text], self.query_tokens)
        return vectors[0]

    # -- word pieces (retrieval/alignment.py): minilm is a PieceEmbedder --------------

    def piece_ids(self, text: str) -> tuple[int, ...]:
        skipped = _skipped_pieces()
        ids = self._model().token_ids(text, self.passage_tokens)
        return tuple(dict.fromkeys(i for i in ids if i not in skipped))

    async def embed_pieces(self, texts: Sequence[str]) -> Sequence[Pieces]:
        return await asyncio.to_thread(self._pieces, list(texts))

    async def embed_query_pieces(self, text: str) -> tuple[Matrix, Matrix | None]:
        """One run for both: the question's vector costs nothing more than before."""
        return await asyncio.to_thread(self._query_pieces, text)

    def _pieces(self, texts: list[str]) -> list[Pieces]:
        from supportai_llm_backends.retrieval.alignment import distinct_pieces

        skipped = _skipped_pieces()
        model = self._model()
        found = []
        for text in texts:
            encoded = model.encode(text, self.passage_tokens)
            found.append(distinct_pieces(encoded.ids, encoded.states, skipped))
        return found

    def _query_pieces(self, text: str) -> tuple[Matrix, Matrix | None]:
        from supportai_llm_backends.retrieval.alignment import question_pieces

        encoded = self._model().encode(text, self.query_tokens)
        return encoded.vector, question_pieces(encoded.ids, encoded.states, _skipped_pieces())

    def _run(self, texts: list[str], max_tokens: int) -> Sequence[Sequence[float]]:
        return cast(Sequence[Sequence[float]], self._model().embed(texts, max_tokens=max_tokens))

    def _model(self) -> MiniLM:
        from supportai_llm_backends.retrieval.minilm import load_minilm

        try:
            return load_minilm(self.threads)
        except ConfigurationError:
            raise
        except Exception as exc:  # a damaged install: ONNX Runtime's own error types
            raise ConfigurationError(
                f"the minilm embedder could not load its bundled model: {exc}"
            ) from exc


def _skipped_pieces() -> frozenset[int]:
    """The word pieces of the shipped tokenizer that the alignment leaves out."""
    from supportai_llm_backends.retrieval.alignment import skipped_of
    from supportai_llm_backends.retrieval.minilm import TOKENIZER_FILE

    return skipped_of(str(TOKENIZER_FILE))


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` server, in batches."""

    name = "openai"

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model = f"openai:{settings.openai_model}"
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            import openai
            from openai import AsyncOpenAI

            key = self.settings.openai_api_key
            self._client = AsyncOpenAI(
                base_url=self.settings.openai_base_url,
                api_key=key.get_secret_value() if key else "unused",
                max_retries=self.settings.openai_max_retries,
                timeout=openai.Timeout(self.settings.openai_timeout_s, connect=5.0),
            )
        return self._client

    async def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        import openai

        client = self._get_client()
        vectors: list[Sequence[float]] = []
        batch = self.settings.openai_batch_size
        for start in range(0, len(texts), batch):
            part = list(texts[start : start + batch])
            try:
                response = await client.embeddings.create(
                    model=self.settings.openai_model, input=part, encoding_format="float"
                )
            except (TimeoutError, openai.OpenAIError) as exc:
                raise EmbeddingError(f"the embeddings server failed: {type(exc).__name__}") from exc
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(part):
                raise EmbeddingError(
                    f"the embeddings server returned {len(data)} vectors for {len(part)} texts"
                )
            vectors.extend(item.embedding for item in data)
        return vectors

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def build_wordllama(context: ProviderContext) -> Embedder:
    from supportai_llm_backends.settings import EmbeddingSettings

    return WordLlamaEmbedder(context.plugin_settings(EmbeddingSettings).wordllama_dim)


def build_openai_embedder(context: ProviderContext) -> Embedder:
    from supportai_llm_backends.settings import EmbeddingSettings

    return OpenAIEmbedder(context.plugin_settings(EmbeddingSettings))


def build_minilm(context: ProviderContext) -> Embedder:
    from supportai_llm_backends.settings import EmbeddingSettings

    return MiniLMEmbedder(context.plugin_settings(EmbeddingSettings).minilm_threads)
