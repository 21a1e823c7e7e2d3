"""guardrails-ai validators registered by this plugin.

This module imports guardrails-ai at import time, so only
:mod:`supportai_filters.guardrails_filter` imports it, and only when the
``guardrails`` filter is built: an app that does not enable that filter never
pays the ~4 s import.

Every validator here:

* runs locally (``use_local=True``): guardrails' remote inference would post
  the answer to the Guardrails Hub;
* overrides ``async_validate`` to run inline: the base class sends each call
  to a thread pool, which buys nothing for microsecond checks;
* keeps no state between calls; what a check needs from earlier sentences
  arrives in ``metadata`` (see :data:`PREVIOUS_WORDS`), so a validator is safe
  under any scheduling guardrails chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guardrails import OnFailAction, Validator, register_validator  # type: ignore[import-untyped]
from guardrails.classes.validation.validation_result import (  # type: ignore[import-untyped]
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
)

from supportai.filters import Span, apply_spans
from supportai_filters.leakage import LeakDetector
from supportai_filters.terms import TermMatcher

PREVIOUS_WORDS = "supportai_previous_words"
"""Metadata key: the last words already checked (for copies across sentences)."""

PII = "supportai/pii"
PROMPT_LEAK = "supportai/prompt_leak"
BANNED_TERMS = "supportai/banned_terms"


@register_validator(name=PII, data_type="string")
class PiiValidator(Validator):  # type: ignore[misc]  # guardrails ships no type hints
    """Personal data and secrets, found by the ``pii`` filter's span finder.

    Fix: the text with each value replaced (``[redacted email]``).
    """

    def __init__(
        self,
        find: Callable[[str], list[Span]],
        on_fail: OnFailAction = OnFailAction.FIX,
    ) -> None:
        super().__init__(on_fail=on_fail, use_local=True)
        self._find = find

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        text = str(value)
        spans = self._find(text)
        if not spans:
            return PassResult()
        return FailResult(
            error_message="contains " + ", ".join(sorted({s.kind for s in spans})),
            fix_value=apply_spans(text, spans),
            error_spans=[
                ErrorSpan(start=s.start, end=s.end, reason=f"{s.kind} redacted") for s in spans
            ],
        )

    async def async_validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        return self.validate(value, metadata)


@register_validator(name=PROMPT_LEAK, data_type="string")
class PromptLeakValidator(Validator):  # type: ignore[misc]
    """Fails when the text reproduces ``n`` consecutive words of the system prompt.

    Built per answer with that answer's system prompt; the filter blocks on failure.
    """

    def __init__(self, detector: LeakDetector, on_fail: OnFailAction = OnFailAction.NOOP) -> None:
        super().__init__(on_fail=on_fail, use_local=True)
        self._detector = detector

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        previous = metadata.get(PREVIOUS_WORDS, ())
        if self._detector.leaks(str(value), previous):
            return FailResult(error_message="reproduces the system prompt")
        return PassResult()

    async def async_validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        return self.validate(value, metadata)


@register_validator(name=BANNED_TERMS, data_type="string")
class BannedTermsValidator(Validator):  # type: ignore[misc]
    """Fails on any banned term; the fix replaces each with ``replacement``.

    With ``on_fail=FIX`` the terms are redacted, with ``NOOP`` the filter blocks.
    ``also`` is applied before the replacement so that, when this fix and the
    PII fix both apply, each fix already contains the other (guardrails merges
    concurrent fixes with a three-way diff, which garbles overlapping edits).
    """

    def __init__(
        self,
        matcher: TermMatcher,
        replacement: str,
        also: Callable[[str], str] | None = None,
        on_fail: OnFailAction = OnFailAction.NOOP,
    ) -> None:
        super().__init__(on_fail=on_fail, use_local=True)
        self._matcher = matcher
        self._replacement = replacement
        self._also = also

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        text = str(value)
        found = self._matcher.find(text)
        if not found:
            return PassResult()
        fixed = self._also(text) if self._also else text
        return FailResult(
            error_message="contains banned terms: " + ", ".join(sorted(set(found))),
            fix_value=self._matcher.replace(fixed, self._replacement),
        )

    async def async_validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        return self.validate(value, metadata)
