"""The ``guardrails`` output filter: guardrails-ai validators, per sentence, per answer.

Importing this module imports guardrails-ai (about 4 s, it pulls litellm,
langchain-core and OpenTelemetry), so the plugin imports it only inside the
filter's factory.

Why the care below (measured, see DESIGN.md "Known pitfalls"):

* **No egress.** With no ``~/.guardrailsrc`` guardrails-ai sends telemetry to
  an external endpoint, and every Guard constructor re-reads that file and
  switches it back on. So every Guard we construct, ours or the host's, gets
  ``configure(allow_metrics_collection=False)`` right away; tracing is
  disabled; validators run locally; no ``llm_api`` is ever passed (it would
  import litellm, which fetches a cost map unless
  ``LITELLM_LOCAL_MODEL_COST_MAP`` is set, which we also set).
* **Per-answer state.** A new ``AsyncGuard`` and new validators per answer; the
  only thing shared is immutable (the span finder, cached prompt n-grams).
* **Our own sentence buffering.** guardrails' streaming mode mishandles chunks
  from a foreign generator, so :class:`~supportai.filters.SentenceStream`
  buffers and this filter awaits ``guard.validate(sentence)`` once per sentence.
"""

from __future__ import annotations

import os

# Belt and braces: if anything ever imports litellm, it must not fetch its cost map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import contextvars
import importlib
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import guardrails.guard  # type: ignore[import-untyped]
from guardrails import AsyncGuard, Guard, OnFailAction
from guardrails import settings as guardrails_settings
from guardrails.errors import ValidationError  # type: ignore[import-untyped]

from supportai.errors import ConfigurationError
from supportai.filters import Block, FilterContext, FilterStream, SentenceStream
from supportai_filters.grounding import PublicValues, drop_public
from supportai_filters.leakage import LeakDetector, words
from supportai_filters.pii import LABELS, make_finder, redact, replacement_for
from supportai_filters.settings import GuardrailsSettings
from supportai_filters.terms import TermMatcher
from supportai_filters.validators import (
    BANNED_TERMS,
    PII,
    PREVIOUS_WORDS,
    PROMPT_LEAK,
    BannedTermsValidator,
    PiiValidator,
    PromptLeakValidator,
)

log = logging.getLogger("supportai_filters.guardrails")

GuardFactory = Callable[[], Any]


def quiet(guard: Any) -> Any:
    """Switch a freshly built Guard's telemetry off (see the module docstring).

    ``configure`` reloads the rc file into the global settings, so the rc's
    metrics flag is cleared again afterwards: validators constructed next read it.
    """
    guard.configure(allow_metrics_collection=False)
    guardrails_settings.rc.enable_metrics = False
    return guard


def prepare_guardrails() -> None:
    """Process-wide switches; idempotent."""
    guardrails_settings.disable_tracing = True
    guardrails_settings.rc.enable_metrics = False
    _install_lazy_api_client()


# Every Guard constructor builds a client for the Guardrails API server: two
# httpx clients, each loading the CA bundle, about 65 ms of CPU per Guard. We
# never use the server (``use_server=False``), and a new Guard per answer would
# pay that on the event loop for every answer. So, only while *this* module
# builds a Guard (a context variable, hence per thread and per task), the
# client is skipped: guardrails creates one lazily if it is ever needed. Guards
# built by anyone else, the host's included, are constructed exactly as before.
_SKIP_API_CLIENT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "supportai_filters_skip_api_client", default=False
)


def _install_lazy_api_client() -> None:
    current = guardrails.guard.GuardrailsApiClient
    if getattr(current, "_supportai_lazy", False):
        return

    def api_client(*args: Any, **kwargs: Any) -> Any:
        if _SKIP_API_CLIENT.get():
            return None
        return current(*args, **kwargs)

    api_client._supportai_lazy = True  # type: ignore[attr-defined]
    guardrails.guard.GuardrailsApiClient = api_client


def new_local_guard() -> Any:
    """A new AsyncGuard that runs locally, with telemetry off."""
    token = _SKIP_API_CLIENT.set(True)
    try:
        guard = AsyncGuard(name="supportai-filters", use_server=False)
    finally:
        _SKIP_API_CLIENT.reset(token)
    return quiet(guard)


def load_guard_factory(spec: str) -> GuardFactory:
    """Resolve ``"package.module:attr"`` to a callable returning a new Guard."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(
            f"SUPPORTAI_GUARDRAILS_GUARD_FACTORY={spec!r} must look like 'package.module:attr'"
        )
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"SUPPORTAI_GUARDRAILS_GUARD_FACTORY={spec!r} cannot be loaded: {exc}"
        ) from exc
    if isinstance(target, Guard) or not callable(target):
        raise ConfigurationError(
            f"SUPPORTAI_GUARDRAILS_GUARD_FACTORY={spec!r} must name a factory that returns a "
            "new Guard per answer, not a Guard: validators keep per-call state"
        )
    factory: GuardFactory = target
    return factory


class GuardrailsFilter:
    """Runs the built-in validators, then the host's Guard, on each sentence."""

    name = "guardrails"

    def __init__(self, settings: GuardrailsSettings | None = None) -> None:
        self.settings = settings or GuardrailsSettings()
        prepare_guardrails()
        self._find = make_finder(self.settings.pii_kinds)
        self._allowed = PublicValues.allow_list(
            self.settings.pii_public_values, self.settings.pii_kinds
        )
        self._terms = TermMatcher(self.settings.banned_terms)
        self._host_factory = (
            load_guard_factory(self.settings.guard_factory) if self.settings.guard_factory else None
        )
        # Which failing validators stop the answer (the others fix it).
        self._blocking = {PROMPT_LEAK: "system_prompt_leak"}
        if self.settings.banned_terms_action == "block":
            self._blocking[BANNED_TERMS] = "banned_term"
        # Build once now, so a broken host factory fails start-up, not the first answer.
        self._host_guard()

    def open(self, context: FilterContext) -> FilterStream:
        check = _SentenceCheck(
            guard=self._our_guard(context),
            blocking=self._blocking,
            host=self._host_guard(),
            leak_words=self.settings.prompt_leak_words,
            block_message=self.settings.block_message,
        )
        return SentenceStream(check, max_chars=self.settings.max_sentence_chars)

    def _our_guard(self, context: FilterContext) -> Any:
        settings = self.settings
        validators: list[Any] = []
        public = PublicValues(
            context.grounding if settings.pii_keep_grounded else (), self._allowed
        )
        find = (
            drop_public(self._find, public, {k: replacement_for(k) for k in LABELS})
            if public
            else self._find
        )
        if settings.pii:
            validators.append(PiiValidator(find, on_fail=OnFailAction.FIX))
        if settings.prompt_leak and context.system_prompt:
            detector = LeakDetector(context.system_prompt, settings.prompt_leak_words)
            if detector.active:
                validators.append(PromptLeakValidator(detector, on_fail=OnFailAction.NOOP))
        if self._terms:
            redacting = settings.banned_terms_action == "redact"
            validators.append(
                BannedTermsValidator(
                    self._terms,
                    settings.banned_terms_replacement,
                    also=(lambda text: redact(text, find)) if redacting and settings.pii else None,
                    on_fail=OnFailAction.FIX if redacting else OnFailAction.NOOP,
                )
            )
        if not validators:
            return None
        guard = new_local_guard()
        # One call: each use() replaces the validators a previous use() set.
        guard.use(*validators)
        return guard

    def _host_guard(self) -> Any:
        if self._host_factory is None:
            return None
        guard = self._host_factory()
        if not isinstance(guard, Guard):
            raise ConfigurationError(
                f"SUPPORTAI_GUARDRAILS_GUARD_FACTORY={self.settings.guard_factory!r} returned "
                f"{type(guard).__name__}, not a guardrails Guard or AsyncGuard"
            )
        return quiet(guard)


class _SentenceCheck:
    """The per-answer ``check`` of a :class:`SentenceStream`: sentence -> text or Block.

    Fails closed: an error inside guardrails blocks the rest of the answer
    rather than letting unchecked text through.
    """

    def __init__(
        self,
        guard: Any,
        blocking: dict[str, str],
        host: Any,
        leak_words: int,
        block_message: str,
    ) -> None:
        self._guard = guard
        self._blocking = blocking
        self._host = host
        self._keep = max(leak_words - 1, 0)
        self._previous: list[str] = []
        self._block_message = block_message

    async def __call__(self, sentence: str) -> str | Block:
        if not sentence.strip():
            return sentence
        text = sentence
        if self._guard is not None:
            verdict = await self._ours(text)
            if isinstance(verdict, Block):
                return verdict
            text = verdict
        if self._host is not None:
            verdict = await self._theirs(text)
            if isinstance(verdict, Block):
                return verdict
            text = verdict
        return text

    async def _ours(self, sentence: str) -> str | Block:
        metadata = {PREVIOUS_WORDS: tuple(self._previous)}
        try:
            outcome = await self._guard.validate(sentence, metadata=metadata)
        except Exception:
            log.exception("guardrails validation failed; blocking the rest of the answer")
            return self._block("guardrails_error")
        if self._keep:
            self._previous = [*self._previous, *words(sentence)][-self._keep :]
        for summary in outcome.validation_summaries or ():
            if summary.validator_status != "fail":
                continue
            reason = self._blocking.get(_rail_alias(summary.validator_name))
            if reason:
                return self._block(reason)
        validated = outcome.validated_output
        if not isinstance(validated, str):
            return self._block("guardrails_refrained")
        return validated

    async def _theirs(self, sentence: str) -> str | Block:
        guard = self._host
        try:
            if isinstance(guard, AsyncGuard):
                outcome = await guard.validate(sentence)
            else:
                # A synchronous Guard runs its validators in the calling thread.
                outcome = await anyio.to_thread.run_sync(guard.validate, sentence)
        except ValidationError as exc:
            log.info("host guard rejected a sentence: %s", exc)
            return self._block("guardrails")
        except Exception:
            log.exception("host guard failed; blocking the rest of the answer")
            return self._block("guardrails_error")
        # The host's on_fail decides: "exception" raised above, "refrain" and
        # "filter" leave no output (block), "fix" rewrites, "noop" only reports.
        validated = outcome.validated_output
        if not isinstance(validated, str):
            return self._block("guardrails")
        return validated

    def _block(self, reason: str) -> Block:
        return Block(reason=reason, message=self._block_message)


def _rail_alias(validator_name: str) -> str:
    """Summaries name a validator by rail alias or by class; map both to the alias."""
    return _CLASS_ALIASES.get(validator_name, validator_name)


_CLASS_ALIASES = {
    PiiValidator.__name__: PII,
    PromptLeakValidator.__name__: PROMPT_LEAK,
    BannedTermsValidator.__name__: BANNED_TERMS,
}
