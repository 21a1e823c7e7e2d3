"""The entry point object: hook implementations of ``supportai-llm-backends``.

Importing this module is cheap on purpose: it imports neither ``openai`` nor the
articles. Each backend's module is imported inside its factory, which core calls
only for the backend ``SUPPORTAI_LLM_BACKEND`` names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings

from supportai.hookspecs import Register, hookimpl
from supportai_llm_backends.settings import KnowledgeBaseSettings, OpenAISettings

if TYPE_CHECKING:
    from supportai.caller import Caller
    from supportai.llm import ContextDocument, LLMBackend
    from supportai.plugins import ProviderContext
    from supportai_llm_backends.knowledge import KnowledgeBase

_KB_ENV_PREFIX = "SUPPORTAI_KB_"


def build_knowledge_base_backend(context: ProviderContext) -> LLMBackend:
    """Factory of ``knowledge_base``: indexes the articles folder once, here."""
    from supportai_llm_backends.knowledge import knowledge_base_for
    from supportai_llm_backends.knowledge_base import KnowledgeBaseBackend

    settings = context.plugin_settings(KnowledgeBaseSettings)
    return KnowledgeBaseBackend(knowledge_base_for(settings))


def build_openai_backend(context: ProviderContext) -> LLMBackend:
    """Factory of ``openai``: the only place the ``openai`` package gets imported."""
    from supportai_llm_backends.openai_backend import OpenAIBackend

    settings = context.plugin_settings(OpenAISettings)
    idle = settings.idle_timeout_s or context.settings.backend_idle_timeout_s
    return OpenAIBackend(settings, idle_timeout_s=idle)


#: The environment variables of KnowledgeBaseSettings, looked up one by one: a
#: dozen dict lookups instead of a scan (and decode) of the whole environment.
_KB_VARIABLES = tuple(
    f"{_KB_ENV_PREFIX}{name.upper()}" for name in KnowledgeBaseSettings.model_fields
)


@lru_cache(maxsize=8)
def _knowledge_base_for_environment(
    environment: tuple[str | None, ...],
) -> KnowledgeBase | None:
    settings = KnowledgeBaseSettings()
    if not settings.configured:
        return None
    from supportai_llm_backends.knowledge import knowledge_base_for

    return knowledge_base_for(settings)


def knowledge_base_from_env() -> KnowledgeBase | None:
    """The help center configured by ``SUPPORTAI_KB_*``, or ``None`` when there is none.

    Hooks receive no app context, so the retrieval hook reads its settings from
    the environment itself. The result is cached on the values of those
    variables, so a query pays for two dozen dict lookups, not for settings
    validation; a changed variable (tests, reconfiguration) is seen at once.
    """
    return _knowledge_base_for_environment(tuple(os.environ.get(v) for v in _KB_VARIABLES))


class LLMBackendsPlugin:
    """Registers ``knowledge_base`` and ``openai``, and serves help-center context."""

    @hookimpl
    def supportai_settings_models(self) -> Sequence[type[BaseSettings]]:
        return [KnowledgeBaseSettings, OpenAISettings]

    @hookimpl
    def supportai_register_llm_backends(self, register: Register) -> None:
        register("knowledge_base", build_knowledge_base_backend)
        register("openai", build_openai_backend)

    @hookimpl
    def supportai_retrieve_context(
        self, query: str, caller: Caller, limit: int
    ) -> list[ContextDocument] | None:
        """Help-center passages for any backend to ground on (``None`` when no KB is set).

        Synchronous on purpose: a lookup in the in-memory index takes microseconds,
        less than scheduling a coroutine would.
        """
        if limit <= 0:
            return None
        knowledge_base = knowledge_base_from_env()
        if knowledge_base is None:
            return None
        return knowledge_base.context_documents(query, limit)


plugin = LLMBackendsPlugin()
