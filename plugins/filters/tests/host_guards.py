"""Guard factories a host would name in SUPPORTAI_GUARDRAILS_GUARD_FACTORY (test doubles).

Imported only by the guardrails tests, after guardrails-ai is loaded.
"""

from __future__ import annotations

from typing import Any

from guardrails import AsyncGuard, Guard, OnFailAction, Validator, register_validator  # type: ignore[import-untyped]
from guardrails.classes.validation.validation_result import FailResult, PassResult  # type: ignore[import-untyped]

built: list[Any] = []


@register_validator(name="host-tests/no-refund-promises", data_type="string")
class NoRefundPromises(Validator):  # type: ignore[misc]
    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        if "guaranteed refund" in str(value).lower():
            return FailResult(error_message="promises a refund")
        return PassResult()


@register_validator(name="host-tests/say-credit", data_type="string")
class SayCredit(Validator):  # type: ignore[misc]
    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        text = str(value)
        if "voucher" in text:
            return FailResult(
                error_message="say credit", fix_value=text.replace("voucher", "credit")
            )
        return PassResult()


@register_validator(name="host-tests/broken", data_type="string")
class Broken(Validator):  # type: ignore[misc]
    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        if "explode" in str(value):
            raise RuntimeError("validator bug")
        return PassResult()


def async_guard() -> Any:
    guard = AsyncGuard().use(
        NoRefundPromises(on_fail=OnFailAction.EXCEPTION, use_local=True),
        SayCredit(on_fail=OnFailAction.FIX, use_local=True),
        Broken(on_fail=OnFailAction.EXCEPTION, use_local=True),
    )
    built.append(guard)
    return guard


def sync_guard() -> Any:
    guard = Guard().use(
        NoRefundPromises(on_fail=OnFailAction.REFRAIN, use_local=True),
        SayCredit(on_fail=OnFailAction.FIX, use_local=True),
    )
    built.append(guard)
    return guard


def not_a_guard() -> Any:
    return "a string"


# A module-level Guard, configured like every guard must be (see DESIGN.md).
A_GUARD_INSTANCE = Guard()
A_GUARD_INSTANCE.configure(allow_metrics_collection=False)
