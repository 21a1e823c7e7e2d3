"""Every supportai hook, as a typed and documented function.

Plugins implement hooks with ``@supportai.hookimpl``. An implementation may be
a plain function or ``async def``: core calls hooks through
:class:`supportai.plugins.Hooks`, which awaits every awaitable result *before*
deciding which one wins (pluggy's own ``firstresult`` would take the first
coroutine object as the answer).

Three kinds of hook:

* **registration** hooks (``supportai_register_*``) hand a ``register`` callable
  to the plugin. Providers are registered *by name* and chosen by settings, so
  installing a plugin never silently changes which backend answers;
* **first-result** hooks (marked ``firstresult``): the first non-``None``
  answer, in pluggy's call order (``tryfirst`` first, built-in ``trylast``
  defaults last), wins;
* **observer** hooks (``supportai_*_completed``, ``..._received``...): every
  implementation is called; an exception is logged and never breaks the
  user's request. Each also receives ``context``, the provider context of the
  app that sent the event (an implementation may leave the argument out): a
  plugin keeps per-app state in ``context.state`` (the metrics plugin's
  registry), so two apps in one process never mix their observations.

``docs/hooks.md`` has a section for each; a test fails if one is missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings
    from starlette.requests import Request

    from supportai.caller import Caller
    from supportai.llm import ContextDocument
    from supportai.plugins import ProviderContext
    from supportai.tools import Tool

PROJECT = "supportai"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Factory = Callable[["ProviderContext"], Any]
Register = Callable[[str, Factory], None]


# -- configuration --------------------------------------------------------------


@hookspec
def supportai_settings_models() -> Sequence[type[BaseSettings]]:
    """Return the pydantic-settings models of this plugin.

    Each is instantiated and validated at start-up (so a wrong
    ``SUPPORTAI_OPENAI_TIMEOUT_S`` fails the app before the first request), and
    shown by ``supportai plugins`` with ``SecretStr`` fields redacted. Read the
    validated instance in a provider factory with ``context.plugin_settings(Model)``.
    """
    raise NotImplementedError


# -- providers, registered by name ------------------------------------------------


@hookspec
def supportai_register_llm_backends(register: Register) -> None:
    """Register LLM backend factories: ``register("openai", factory)``.

    ``factory(context)`` returns an :class:`~supportai.llm.LLMBackend`. It is called
    at start-up only for the backend named by ``SUPPORTAI_LLM_BACKEND``, so an
    unused backend costs nothing, not even its imports.
    """
    raise NotImplementedError


@hookspec
def supportai_register_classifiers(register: Register) -> None:
    """Register intent classifier factories, chosen by ``SUPPORTAI_CLASSIFIERS``."""
    raise NotImplementedError


@hookspec
def supportai_register_output_filters(register: Register) -> None:
    """Register output filter factories, chosen (in order) by ``SUPPORTAI_OUTPUT_FILTERS``."""
    raise NotImplementedError


@hookspec
def supportai_register_quota_stores(register: Register) -> None:
    """Register quota store factories, chosen by ``SUPPORTAI_QUOTA_STORE`` (default ``sql``)."""
    raise NotImplementedError


@hookspec
def supportai_register_embedders(register: Register) -> None:
    """Register embedding providers: ``register("wordllama", factory)``.

    ``factory(context)`` returns an :class:`~supportai.embeddings.Embedder`. A
    retrieval plugin builds only the one its settings name (the knowledge base's
    ``SUPPORTAI_KB_EMBEDDER``), the first time it needs one, so an unused
    embedder costs nothing, not even its imports.
    """
    raise NotImplementedError


@hookspec
def supportai_register_tools(register: Callable[[Tool], None]) -> None:
    """Register tools the model may call: ``register(Tool(name=..., handler=...))``.

    Every registered tool is offered unless ``SUPPORTAI_TOOLS`` narrows the list.
    """
    raise NotImplementedError


# -- identity and policy ------------------------------------------------------------


@hookspec(firstresult=True)
def supportai_resolve_caller(request: Request) -> Caller | Awaitable[Caller | None] | None:
    """Say who is calling, or ``None`` (401).

    The built-in default reads ``request.user.tenant_id``, ``request.user.identity``
    and ``request.auth.scopes`` (Starlette's AuthenticationMiddleware).
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def supportai_master_flag(tenant_id: str) -> bool | Awaitable[bool | None] | None:
    """Return ``False`` to switch the assistant off for a tenant (``master_flag_off``).

    ``None`` defers to the ``SUPPORTAI_MASTER_FLAG`` setting.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def supportai_system_prompt(
    caller: Caller, conversation_id: int
) -> str | Awaitable[str | None] | None:
    """Return the system prompt for this tenant/conversation (default: the setting)."""
    raise NotImplementedError


@hookspec
def supportai_retrieve_context(
    query: str, caller: Caller, limit: int, context: ProviderContext
) -> Sequence[ContextDocument] | Awaitable[Sequence[ContextDocument]]:
    """Return grounding documents for ``query``; results of all plugins are merged.

    Backends receive them in ``BackendRequest.context`` and should cite them.
    ``context`` is the app's provider context, so an implementation can read its
    plugin settings of *this* app (``context.plugin_settings(Model)``).
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def supportai_escalation_url(
    caller: Caller, conversation_id: int, reason: str
) -> str | Awaitable[str | None] | None:
    """Return the URL of the host's ticket form for an escalated conversation.

    Default: ``SUPPORTAI_ESCALATION_URL_TEMPLATE`` formatted with
    ``conversation_id``, ``tenant_id`` and ``reason``.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def supportai_redact(tenant_id: str, text: str) -> str | Awaitable[str | None] | None:
    """Return ``text`` with personal data replaced (training candidates, snapshots).

    The ``pii`` filter plugin implements it. Without any implementation core uses
    a conservative built-in redactor (see ``supportai.redaction``).
    """
    raise NotImplementedError


@hookspec
def supportai_sensitive_terms(tenant_id: str) -> Sequence[str] | Awaitable[Sequence[str]]:
    """Return words (customer names, project code names) to redact for this tenant."""
    raise NotImplementedError


# -- observers ------------------------------------------------------------------------


@hookspec
def supportai_turn_completed(
    event: Mapping[str, Any], context: ProviderContext
) -> Awaitable[None] | None:
    """Called after every turn is persisted and settled (also refused or interrupted).

    ``event`` holds ``tenant_id``, ``user_id``, ``conversation_id``, ``message_id``,
    ``user_message_id``, ``status``, ``intent``, ``usage``, ``cost_micros``,
    ``timings_ms`` (per stage), ``first_delta_ms`` (from the start of the pipeline
    to the first text sent; ``None`` if none was) and ``finish_reason``.
    """


@hookspec
def supportai_conversation_escalated(
    event: Mapping[str, Any], context: ProviderContext
) -> Awaitable[None] | None:
    """Called once when a conversation is escalated (``snapshot`` and ``ticket_url``)."""


@hookspec
def supportai_conversation_deleted(
    event: Mapping[str, Any], context: ProviderContext
) -> Awaitable[None] | None:
    """Called after a GDPR delete (ids only: the content is gone)."""


@hookspec
def supportai_feedback_received(
    event: Mapping[str, Any], context: ProviderContext
) -> Awaitable[None] | None:
    """Called after feedback is stored (``negative`` says whether a candidate was queued)."""


@hookspec
def supportai_case_created(
    event: Mapping[str, Any], context: ProviderContext
) -> Awaitable[None] | None:
    """Called after a human support case is created."""


@hookspec
def supportai_case_commented(
    event: Mapping[str, Any], context: ProviderContext
) -> Awaitable[None] | None:
    """Called after a comment is added to a case (``visibility`` public or internal)."""


@hookspec
def supportai_turn_rejected(
    event: Mapping[str, Any], context: ProviderContext
) -> Awaitable[None] | None:
    """Called when a turn is refused before its answer starts, with a typed error.

    ``event`` holds ``tenant_id``, ``conversation_id``, ``reason`` (the reason code:
    ``rate_limited``, ``cost_cap``, ``master_flag_off``...) and ``status`` (HTTP).
    A refused *intent* is not a rejection: it is a completed turn with status ``refused``.
    """


@hookspec
def supportai_retrieval_completed(
    event: Mapping[str, Any], context: ProviderContext
) -> Awaitable[None] | None:
    """Called after grounding was looked up for a turn; ``documents == 0`` means no answer.

    Core sends it after the ``supportai_retrieve_context`` implementations ran (if
    any are installed), with ``source`` ``"supportai_retrieve_context"``; a retrieval
    backend can send its own through ``context.hooks.notify`` with its name as
    ``source``. ``event`` holds ``tenant_id``, ``conversation_id``,
    ``user_message_id``, ``source`` and ``documents``.
    """
