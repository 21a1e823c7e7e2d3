"""Every supportai hook, as a typed and documented function.

Plugins implement hooks with ``@supportai.hookimpl``. An implementation may be
a plain function or ``async def``: core calls hooks through the typed methods of
:class:`supportai.hookcalls.Hooks` (one per hook), which await every awaitable
result *before* deciding which one wins (pluggy's own ``firstresult`` would take
the first coroutine object as the answer). The return types below are what an
implementation returns, or what its coroutine returns.

Four kinds of hook (``KINDS`` below; ``docs/hooks.md`` is generated from this
module by ``scripts/docs/generate_hooks_reference.py``):

* **registration** hooks (``supportai_register_*``, ``supportai_settings_models``)
  are synchronous and hand a ``register`` callable to the plugin. Providers are
  registered *by name* and chosen by settings, so installing a plugin never
  silently changes which backend answers;
* **first-result** hooks: the first non-``None`` answer, in pluggy's call order
  (``tryfirst`` first, built-in ``trylast`` defaults last), wins;
* **collecting** hooks: every non-``None`` answer, merged;
* **observer** hooks (``supportai_*_completed``, ``..._received``...): every
  implementation is called; an exception is logged and never breaks the
  user's request. Each receives a typed ``event`` (:mod:`supportai.events`) and
  ``context``, the provider context of the app that sent the event (an
  implementation may leave the argument out): a plugin keeps per-app state in
  ``context.state`` (the metrics plugin's registry), so two apps in one process
  never mix their observations.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from supportai.events import (
    CaseCommentedEvent,
    CaseCreatedEvent,
    ConversationDeletedEvent,
    ConversationEscalatedEvent,
    FeedbackReceivedEvent,
    RetrievalCompletedEvent,
    TurnCompletedEvent,
    TurnRejectedEvent,
)

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
HookKind = Literal["registration", "first", "collect", "observer"]


# -- configuration --------------------------------------------------------------


@hookspec
def supportai_settings_models() -> Sequence[type[BaseSettings]]:
    """Return the pydantic-settings models of this plugin.

    Each is instantiated and validated at start-up (so a wrong
    ``SUPPORTAI_OPENAI_TIMEOUT_S`` fails the app before the first request, with the
    variable's name), overridable per app through ``Settings.plugin_options[<key>]``
    where the key is the env prefix without ``SUPPORTAI_`` (for ``SUPPORTAI_OPENAI_``:
    ``openai``), and shown by ``supportai plugins`` with ``SecretStr`` fields
    redacted. Read the validated instance in a provider factory with
    ``context.plugin_settings(Model)``.
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
    """Register intent classifier factories, chosen by ``SUPPORTAI_CLASSIFIERS``.

    ``SUPPORTAI_CLASSIFIERS`` is a JSON list; the chosen classifiers run
    concurrently on every turn.
    """
    raise NotImplementedError


@hookspec
def supportai_register_output_filters(register: Register) -> None:
    """Register output filter factories, chosen (in order) by ``SUPPORTAI_OUTPUT_FILTERS``.

    Filters stream: each filter's released text feeds the next.
    """
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
    The handler receives a ``ToolContext`` with the caller, so it can scope its own
    queries.
    """
    raise NotImplementedError


# -- identity and policy ------------------------------------------------------------


@hookspec(firstresult=True)
def supportai_resolve_caller(request: Request) -> Caller | None:
    """Say who is calling, or ``None`` (401).

    The built-in default reads ``request.user.tenant_id``, ``request.user.identity``
    and ``request.auth.scopes`` (Starlette's AuthenticationMiddleware).
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def supportai_master_flag(tenant_id: str) -> bool | None:
    """Return ``False`` to switch the assistant off for a tenant (``master_flag_off``).

    ``None`` defers to the ``SUPPORTAI_MASTER_FLAG`` setting.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def supportai_system_prompt(caller: Caller, conversation_id: int) -> str | None:
    """Return the system prompt for this tenant or conversation.

    Default: ``SUPPORTAI_SYSTEM_PROMPT``.
    """
    raise NotImplementedError


@hookspec
def supportai_retrieve_context(
    query: str, caller: Caller, limit: int, context: ProviderContext
) -> Sequence[ContextDocument]:
    """Return grounding documents for ``query``; results of all plugins are merged.

    Backends receive them in ``BackendRequest.context`` and should cite them. A
    document marked ``suggestion`` (close to the question, not an answer) is kept
    from backends and counts as nothing found; the output filters still see it as
    grounding, for a backend that shows it (the ``knowledge_base`` backend's
    suggestion after its not-found text).

    ``context`` is the app's provider context, so an implementation can read its
    plugin settings of *this* app (``context.plugin_settings(Model)``). The
    ``knowledge_base`` backend's plugin implements it over the help-center articles.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def supportai_escalation_url(caller: Caller, conversation_id: int, reason: str) -> str | None:
    """Return the URL of the host's ticket form for an escalated conversation.

    Default: ``SUPPORTAI_ESCALATION_URL_TEMPLATE`` formatted with
    ``conversation_id``, ``tenant_id`` and ``reason``.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def supportai_redact(tenant_id: str, text: str) -> str | None:
    """Return ``text`` with personal data replaced (training candidates, snapshots).

    The ``pii`` filter plugin implements it. Without any implementation core uses
    a conservative built-in redactor that over-redacts (any e-mail, number run, IP
    address or long token; see ``supportai.redaction``).
    """
    raise NotImplementedError


@hookspec
def supportai_sensitive_terms(tenant_id: str) -> Sequence[str]:
    """Return words (customer names, project code names) to redact for this tenant.

    They are removed from anything kept for review, on top of ``supportai_redact``.
    Core adds ``SUPPORTAI_SENSITIVE_TERMS``.
    """
    raise NotImplementedError


@hookspec
def supportai_user_strings(tenant_id: str | None, locale: str | None) -> Mapping[str, str] | None:
    """Return overrides of the texts users see, for this tenant and locale.

    Keys are the string ids of ``supportai.user_strings.DEFAULTS`` (the English
    defaults, all in one place): ``error.intent_refused`` (the refusal of a refused
    intent), ``answer.not_found`` (a retrieval backend's answer when it finds
    nothing), ``answer.suggestion`` (the line that introduces the closest article
    after it, when one came close), ``disclosure.text``, and ``error.<reason code>``
    for the ``detail`` of any typed error. ``tenant_id`` is ``None`` before the
    caller is known (the detail of a 401). ``locale`` is the caller's preferred
    language from the request's ``Accept-Language`` header (its first,
    highest-weighted tag as sent, such as ``de-CH``), ``None`` without one. Results
    of all plugins are merged; for a key several return, the first in call order
    (``tryfirst`` first) wins, and a key nobody returns keeps its English default.
    Unknown keys fail loudly (``HookResultError``), so a typo never silently shows
    the default.
    """
    raise NotImplementedError


# -- command line ---------------------------------------------------------------------


@hookspec
def supportai_register_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add subcommands to the ``supportai`` command line.

    ``subparsers`` is the ``argparse`` sub-parser action of ``supportai``: call
    ``subparsers.add_parser("name", help=...)`` and ``set_defaults(func=...)`` on
    the parser it returns; ``func(args)`` returns the exit status. A name core or
    another plugin already uses fails with ``ConfigurationError``. Plugins are
    loaded for this as for an app (``SUPPORTAI_PLUGINS``,
    ``SUPPORTAI_DISABLE_PLUGINS``), but only when the command line is built.
    """
    raise NotImplementedError


# -- observers ------------------------------------------------------------------------


@hookspec
def supportai_turn_completed(event: TurnCompletedEvent, context: ProviderContext) -> None:
    """Called after every turn is persisted and settled (also refused or interrupted)."""


@hookspec
def supportai_turn_rejected(event: TurnRejectedEvent, context: ProviderContext) -> None:
    """Called when a turn is refused with a typed error before its answer starts.

    A refused *intent* is not a rejection: it completes as a turn with status
    ``refused`` (``supportai_turn_completed``). The metrics plugin counts
    rejections, and quota rejections apart.
    """


@hookspec
def supportai_conversation_escalated(
    event: ConversationEscalatedEvent, context: ProviderContext
) -> None:
    """Called once when a conversation is escalated."""


@hookspec
def supportai_conversation_deleted(
    event: ConversationDeletedEvent, context: ProviderContext
) -> None:
    """Called after a GDPR delete (ids only: the content is gone)."""


@hookspec
def supportai_feedback_received(event: FeedbackReceivedEvent, context: ProviderContext) -> None:
    """Called after feedback is stored (``negative`` says whether a candidate was queued)."""


@hookspec
def supportai_case_created(event: CaseCreatedEvent, context: ProviderContext) -> None:
    """Called after a human support case is created."""


@hookspec
def supportai_case_commented(event: CaseCommentedEvent, context: ProviderContext) -> None:
    """Called after a comment is added to a case."""


@hookspec
def supportai_retrieval_completed(event: RetrievalCompletedEvent, context: ProviderContext) -> None:
    """Called after the grounding of a turn was looked up.

    Core sends it after the ``supportai_retrieve_context`` implementations ran,
    with ``source`` ``supportai_retrieve_context``, and only when at least one is
    installed. A backend that retrieves by itself (a knowledge base answering
    from its own index) sends its own with
    ``await context.hooks.retrieval_completed({...})`` and its name as ``source``.
    The metrics plugin turns it into ``supportai_retrievals_total{source,outcome}``.
    """


#: How core calls each hook (``supportai.hookcalls.Hooks`` has one method per hook).
KINDS: dict[str, HookKind] = {
    "supportai_settings_models": "registration",
    "supportai_register_llm_backends": "registration",
    "supportai_register_classifiers": "registration",
    "supportai_register_output_filters": "registration",
    "supportai_register_quota_stores": "registration",
    "supportai_register_embedders": "registration",
    "supportai_register_tools": "registration",
    "supportai_register_commands": "registration",
    "supportai_resolve_caller": "first",
    "supportai_master_flag": "first",
    "supportai_system_prompt": "first",
    "supportai_retrieve_context": "collect",
    "supportai_escalation_url": "first",
    "supportai_redact": "first",
    "supportai_sensitive_terms": "collect",
    "supportai_user_strings": "collect",
    "supportai_turn_completed": "observer",
    "supportai_turn_rejected": "observer",
    "supportai_conversation_escalated": "observer",
    "supportai_conversation_deleted": "observer",
    "supportai_feedback_received": "observer",
    "supportai_case_created": "observer",
    "supportai_case_commented": "observer",
    "supportai_retrieval_completed": "observer",
}
