"""The entry point object: hook implementations of ``supportai-llm-backends``.

Importing this module is cheap on purpose: it imports neither ``openai`` nor the
articles. Each backend's module is imported inside its factory, which core calls
only for the backend ``SUPPORTAI_LLM_BACKEND`` names.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic_settings import BaseSettings

from supportai.hookspecs import Register, hookimpl
from supportai_llm_backends.settings import EmbeddingSettings, KnowledgeBaseSettings, OpenAISettings

if TYPE_CHECKING:
    from supportai.caller import Caller
    from supportai.embeddings import Embedder
    from supportai.llm import ContextDocument, LLMBackend
    from supportai.plugins import ProviderContext


def build_knowledge_base_backend(context: ProviderContext) -> LLMBackend:
    """Factory of ``knowledge_base``: checks the settings now, indexes tenants lazily.

    The retrieval service (numpy, bm25s, the embedding model) is created on the first
    question; a background thread imports and loads them meanwhile.
    """
    from supportai_llm_backends.knowledge import check, service_for
    from supportai_llm_backends.knowledge_base import KnowledgeBaseBackend

    check(context)
    settings = context.plugin_settings(KnowledgeBaseSettings)
    return KnowledgeBaseBackend(lambda: service_for(context), settings, context.hooks)


def build_wordllama_embedder(context: ProviderContext) -> Embedder:
    """Factory of the ``wordllama`` embedder (offline, bundled model)."""
    from supportai_llm_backends.retrieval.embedders import build_wordllama

    return build_wordllama(context)


def build_minilm_embedder(context: ProviderContext) -> Embedder:
    """Factory of the ``minilm`` embedder (offline, bundled all-MiniLM-L6-v2, numpy only)."""
    from supportai_llm_backends.retrieval.embedders import build_minilm

    return build_minilm(context)


def build_openai_embedder(context: ProviderContext) -> Embedder:
    """Factory of the ``openai`` embedder (any OpenAI-compatible /v1/embeddings)."""
    from supportai_llm_backends.retrieval.embedders import build_openai_embedder as build

    return build(context)


def build_openai_backend(context: ProviderContext) -> LLMBackend:
    """Factory of ``openai``: the only place the ``openai`` package gets imported."""
    from supportai_llm_backends.openai_backend import OpenAIBackend

    settings = context.plugin_settings(OpenAISettings)
    idle = settings.idle_timeout_s or context.settings.backend_idle_timeout_s
    return OpenAIBackend(settings, idle_timeout_s=idle)


class LLMBackendsPlugin:
    """Registers ``knowledge_base`` and ``openai``, and serves help-center context."""

    @hookimpl
    def supportai_settings_models(self) -> Sequence[type[BaseSettings]]:
        return [KnowledgeBaseSettings, OpenAISettings, EmbeddingSettings]

    @hookimpl
    def supportai_register_llm_backends(self, register: Register) -> None:
        register("knowledge_base", build_knowledge_base_backend)
        register("openai", build_openai_backend)

    @hookimpl
    def supportai_register_embedders(self, register: Register) -> None:
        register("wordllama", build_wordllama_embedder)
        register("minilm", build_minilm_embedder)
        register("openai", build_openai_embedder)

    @hookimpl
    def supportai_register_commands(self, subparsers: argparse._SubParsersAction[Any]) -> None:
        """``supportai kb-calibrate``: the no-answer threshold, chosen on labelled questions."""
        from supportai_llm_backends.commands import register

        register(subparsers)

    @hookimpl
    async def supportai_retrieve_context(
        self, query: str, caller: Caller, limit: int, context: ProviderContext
    ) -> list[ContextDocument] | None:
        """Help-center passages for any backend to ground on (``None`` when no KB is set).

        The settings are this app's (environment and ``plugin_options["kb"]``), so
        a host configuring the help center in code grounds the ``openai`` backend
        too. Retrieval is per tenant (the caller's); the backend of the same turn
        reuses this search.
        """
        if limit <= 0:
            return None
        from supportai_llm_backends.knowledge import has_help_center, service_for

        if not has_help_center(context):
            return None
        settings = context.plugin_settings(KnowledgeBaseSettings)
        from supportai_llm_backends.knowledge_base import context_documents

        return await context_documents(
            service_for(context), settings, caller.tenant_id, query, limit
        )


plugin = LLMBackendsPlugin()
