"""How core calls hooks: one typed async method per hook (decision 0013).

pluggy is synchronous: calling an ``async def`` implementation returns a
coroutine, and ``firstresult`` would take that coroutine as *the* answer. So
:class:`Hooks` walks the implementations itself, in pluggy's call order, and
awaits each result before deciding (decision 0004). Each hook has its own
method with the hook's parameters and a precise return type, and the result a
plugin returns is checked at run time against it: a plugin returning the wrong
type fails with :class:`HookResultError` naming the plugin, instead of flowing on
as ``Any``.

Wrappers (``@hookimpl(wrapper=True)``, a generator that yields once) run around
the other implementations as in pluggy: the code before ``yield`` first, then
``yield`` returns the hook's result (or raises its exception) and the
wrapper's ``return`` value replaces it. They are synchronous: a wrapper cannot
await. Old-style ``hookwrapper=True`` implementations of hooks this facade
calls are rejected at registration (``plugins.PluginManager.register``).
"""

from __future__ import annotations

import argparse
import inspect
import logging
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from supportai.caller import Caller
from supportai.errors import ConfigurationError
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
from supportai.hookspecs import Register
from supportai.llm import ContextDocument
from supportai.user_strings import DEFAULTS, KEYS

if TYPE_CHECKING:
    import pluggy
    from pydantic_settings import BaseSettings
    from starlette.requests import Request

    from supportai.plugins import ProviderContext
    from supportai.tools import Tool

log = logging.getLogger("supportai.plugins")

Impl = Any  # pluggy.HookImpl: not part of pluggy's typed public API
T = TypeVar("T")


class HookResultError(TypeError):
    """A hook implementation returned something of the wrong type (a plugin bug)."""


class PluginRegistrationError(ConfigurationError):
    """A plugin's hook implementation cannot be called correctly; start-up fails."""


class Hooks:
    """Typed async facade over pluggy hooks: one method per hook of ``hookspecs``."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        #: The app's provider context, handed to observers as ``context``.
        self.context: ProviderContext | None = None

    # -- registration hooks: synchronous, through pluggy ------------------------------

    def settings_models(self) -> list[type[BaseSettings]]:
        """Every plugin's settings models, flattened."""
        found: list[Sequence[type[BaseSettings]]] = self.pm.hook.supportai_settings_models()
        return [model for models in found for model in models]

    def register_llm_backends(self, register: Register) -> None:
        self.pm.hook.supportai_register_llm_backends(register=register)

    def register_classifiers(self, register: Register) -> None:
        self.pm.hook.supportai_register_classifiers(register=register)

    def register_output_filters(self, register: Register) -> None:
        self.pm.hook.supportai_register_output_filters(register=register)

    def register_quota_stores(self, register: Register) -> None:
        self.pm.hook.supportai_register_quota_stores(register=register)

    def register_embedders(self, register: Register) -> None:
        self.pm.hook.supportai_register_embedders(register=register)

    def register_tools(self, register: Callable[[Tool], None]) -> None:
        self.pm.hook.supportai_register_tools(register=register)

    def register_commands(self, subparsers: argparse._SubParsersAction[Any]) -> None:
        self.pm.hook.supportai_register_commands(subparsers=subparsers)

    # -- first-result hooks -----------------------------------------------------------

    async def resolve_caller(self, request: Request) -> Caller | None:
        return await self._first("supportai_resolve_caller", Caller, request=request)

    async def master_flag(self, tenant_id: str) -> bool | None:
        return await self._first("supportai_master_flag", bool, tenant_id=tenant_id)

    async def system_prompt(self, caller: Caller, conversation_id: int) -> str | None:
        return await self._first(
            "supportai_system_prompt", str, caller=caller, conversation_id=conversation_id
        )

    async def escalation_url(self, caller: Caller, conversation_id: int, reason: str) -> str | None:
        return await self._first(
            "supportai_escalation_url",
            str,
            caller=caller,
            conversation_id=conversation_id,
            reason=reason,
        )

    async def redact(self, tenant_id: str, text: str) -> str | None:
        return await self._first("supportai_redact", str, tenant_id=tenant_id, text=text)

    # -- collecting hooks -------------------------------------------------------------

    async def retrieve_context(
        self, query: str, caller: Caller, limit: int
    ) -> list[ContextDocument]:
        """Every plugin's grounding documents, in call order, as one list."""
        found = await self._collect(
            "supportai_retrieve_context",
            query=query,
            caller=caller,
            limit=limit,
            context=self.context,
        )
        return self._flatten("supportai_retrieve_context", found, ContextDocument)

    async def sensitive_terms(self, tenant_id: str) -> list[str]:
        found = await self._collect("supportai_sensitive_terms", tenant_id=tenant_id)
        return self._flatten("supportai_sensitive_terms", found, str)

    async def user_strings(self, tenant_id: str | None, locale: str | None) -> dict[str, str]:
        """The English defaults with every plugin's overrides (first in call order wins)."""
        merged: dict[str, str] = {}
        for impl, overrides in await self._collect(
            "supportai_user_strings", tenant_id=tenant_id, locale=locale
        ):
            if not isinstance(overrides, Mapping):
                raise _wrong_result("supportai_user_strings", impl, "a mapping", overrides)
            for key, text in overrides.items():
                if key not in KEYS or not isinstance(text, str):
                    raise HookResultError(
                        f"supportai_user_strings of plugin {impl.plugin_name!r} returned "
                        f"{key!r}: {type(text).__name__}; keys are supportai.user_strings.KEYS "
                        "and values strings"
                    )
                merged.setdefault(key, text)
        return {**DEFAULTS, **merged}

    # -- observers: errors logged, never raised ---------------------------------------

    async def turn_completed(self, event: TurnCompletedEvent) -> None:
        await self._notify("supportai_turn_completed", event)

    async def turn_rejected(self, event: TurnRejectedEvent) -> None:
        await self._notify("supportai_turn_rejected", event)

    async def conversation_escalated(self, event: ConversationEscalatedEvent) -> None:
        await self._notify("supportai_conversation_escalated", event)

    async def conversation_deleted(self, event: ConversationDeletedEvent) -> None:
        await self._notify("supportai_conversation_deleted", event)

    async def feedback_received(self, event: FeedbackReceivedEvent) -> None:
        await self._notify("supportai_feedback_received", event)

    async def case_created(self, event: CaseCreatedEvent) -> None:
        await self._notify("supportai_case_created", event)

    async def case_commented(self, event: CaseCommentedEvent) -> None:
        await self._notify("supportai_case_commented", event)

    async def retrieval_completed(self, event: RetrievalCompletedEvent) -> None:
        await self._notify("supportai_retrieval_completed", event)

    def has_impls(self, name: str) -> bool:
        """Whether any plugin implements ``name`` (wrappers aside)."""
        return any(not impl.wrapper for impl in self._impls(name))

    # -- the walk ---------------------------------------------------------------------

    def _impls(self, name: str) -> list[Impl]:
        caller = getattr(self.pm.hook, name)
        # get_hookimpls() is in registration order with trylast first and
        # tryfirst last (wrappers after the rest); pluggy calls them last-to-first.
        return list(reversed(caller.get_hookimpls()))

    async def _call(self, impl: Impl, kwargs: Mapping[str, Any]) -> Any:
        result = impl.function(*(kwargs[arg] for arg in impl.argnames))
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _wrapped(
        self,
        name: str,
        kwargs: Mapping[str, Any],
        inner: Callable[[list[Impl]], Awaitable[Any]],
    ) -> Any:
        """Run ``inner`` over the plain implementations, inside the wrappers (pluggy's order)."""
        impls = self._impls(name)
        wrappers = [impl for impl in impls if impl.wrapper]
        if not wrappers:
            return await inner(impls)
        started: list[Generator[None, Any, Any]] = []
        result: Any = None
        error: BaseException | None = None
        try:
            for impl in wrappers:
                started.append(_enter(name, impl, kwargs))
            result = await inner([impl for impl in impls if not impl.wrapper])
        except BaseException as exc:  # handed to the wrappers, as pluggy does
            error = exc
        for generator in reversed(started):
            result, error = _leave(name, generator, result, error)
        if error is not None:
            raise error
        return result

    async def _first(self, name: str, expected: type[T], **kwargs: Any) -> T | None:
        """The first non-``None`` result (or ``None``), checked against ``expected``."""

        async def first(impls: list[Impl]) -> Any:
            for impl in impls:
                result = await self._call(impl, kwargs)
                if result is not None:
                    if not isinstance(result, expected):
                        raise _wrong_result(name, impl, expected.__name__, result)
                    return result
            return None

        result = await self._wrapped(name, kwargs, first)
        if result is not None and not isinstance(result, expected):
            raise HookResultError(
                f"a wrapper of {name} returned {type(result).__name__}, expected "
                f"{expected.__name__} or None"
            )
        checked: T | None = result
        return checked

    async def _collect(self, name: str, **kwargs: Any) -> list[tuple[Impl, Any]]:
        """Every non-``None`` result with the implementation that returned it.

        Wrappers see (and may replace) the list of results; what they return is
        then attributed to "a wrapper" in error messages.
        """
        pairs: list[tuple[Impl, Any]] = []

        async def collect(impls: list[Impl]) -> list[Any]:
            for impl in impls:
                result = await self._call(impl, kwargs)
                if result is not None:
                    pairs.append((impl, result))
            return [result for _, result in pairs]

        results = await self._wrapped(name, kwargs, collect)
        if not isinstance(results, list):
            raise HookResultError(
                f"a wrapper of {name} returned {type(results).__name__}, expected a list"
            )
        if results == [result for _, result in pairs]:
            return pairs
        return [(_WRAPPED, result) for result in results]

    def _flatten(self, name: str, found: list[tuple[Impl, Any]], item: type) -> list[Any]:
        flat: list[Any] = []
        for impl, results in found:
            if isinstance(results, (str, bytes)) or not isinstance(results, Sequence):
                raise _wrong_result(name, impl, f"a sequence of {item.__name__}", results)
            for result in results:
                if not isinstance(result, item):
                    raise _wrong_result(name, impl, f"a sequence of {item.__name__}", result)
            flat.extend(results)
        return flat

    async def _notify(self, name: str, event: Mapping[str, Any]) -> None:
        """Call every observer (and wrapper) with ``event``; log and swallow their errors."""
        kwargs = {"event": event, "context": self.context}

        async def notify(impls: list[Impl]) -> None:
            for impl in impls:
                try:
                    await self._call(impl, kwargs)
                except Exception:
                    log.exception("observer %s of plugin %s failed", name, impl.plugin_name)

        try:
            await self._wrapped(name, kwargs, notify)
        except Exception:
            log.exception("a wrapper of observer %s failed", name)


class _Wrapped:
    """Stands for "the wrappers" when a wrapped collecting hook's results are checked."""

    plugin_name = "(wrapper)"


_WRAPPED = _Wrapped()


def _enter(name: str, impl: Impl, kwargs: Mapping[str, Any]) -> Generator[None, Any, Any]:
    """Run a wrapper up to its ``yield``."""
    generator: Generator[None, Any, Any] = impl.function(*(kwargs[arg] for arg in impl.argnames))
    try:
        next(generator)
    except StopIteration:
        raise HookResultError(
            f"the wrapper {name} of plugin {impl.plugin_name!r} did not yield"
        ) from None
    return generator


def _leave(
    name: str, generator: Generator[None, Any, Any], result: Any, error: BaseException | None
) -> tuple[Any, BaseException | None]:
    """Resume a wrapper with the result (or the error): its return value is the new result."""
    try:
        if error is not None:
            generator.throw(error)
        else:
            generator.send(result)
        generator.close()
        return result, HookResultError(f"a wrapper of {name} yielded more than once")
    except StopIteration as stop:
        return stop.value, None
    except BaseException as exc:
        return result, exc


def _wrong_result(name: str, impl: Impl, expected: str, got: object) -> HookResultError:
    return HookResultError(
        f"{name} of plugin {impl.plugin_name!r} returned {type(got).__name__}, "
        f"expected {expected} or None"
    )
