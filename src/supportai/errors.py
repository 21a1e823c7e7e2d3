"""One vocabulary of failure: reason codes, their HTTP statuses and one JSON shape.

Every refusal a client can see is a :class:`Reason`, so front ends can switch on
``reason`` instead of parsing prose. ``docs/errors.md`` lists them all; a test
keeps that page and this enum in step.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from starlette.responses import JSONResponse


class Reason(StrEnum):
    """Machine-readable reason codes returned as ``{"degraded": true, "reason": ...}``."""

    unauthenticated = "unauthenticated"
    forbidden = "forbidden"
    scope_denied = "scope_denied"
    not_found = "not_found"
    validation_error = "validation_error"
    disclosure_required = "disclosure_required"
    conversation_escalated = "conversation_escalated"
    case_closed = "case_closed"
    duplicate_request = "duplicate_request"
    turn_interrupted = "turn_interrupted"
    turn_in_progress = "turn_in_progress"
    idempotency_key_reused = "idempotency_key_reused"
    invalid_transition = "invalid_transition"
    slug_taken = "slug_taken"
    edit_conflict = "edit_conflict"
    rate_limited = "rate_limited"
    cost_cap_exceeded = "cost_cap_exceeded"
    intent_refused = "intent_refused"
    output_blocked = "output_blocked"
    master_flag_off = "master_flag_off"
    vendor_outage = "vendor_outage"
    runtime_not_wired = "runtime_not_wired"
    quota_store_unavailable = "quota_store_unavailable"
    storage_unavailable = "storage_unavailable"
    answer_not_saved = "answer_not_saved"
    tool_failed = "tool_failed"
    internal_error = "internal_error"
    payload_too_large = "payload_too_large"
    unsupported_media_type = "unsupported_media_type"
    method_not_allowed = "method_not_allowed"


STATUS: dict[Reason, int] = {
    Reason.unauthenticated: 401,
    Reason.forbidden: 403,
    Reason.scope_denied: 403,
    Reason.disclosure_required: 403,
    Reason.not_found: 404,
    Reason.conversation_escalated: 409,
    Reason.case_closed: 409,
    Reason.duplicate_request: 409,
    Reason.turn_interrupted: 409,
    Reason.turn_in_progress: 409,
    Reason.idempotency_key_reused: 422,
    Reason.invalid_transition: 409,
    Reason.slug_taken: 409,
    Reason.edit_conflict: 409,
    Reason.payload_too_large: 413,
    Reason.unsupported_media_type: 415,
    Reason.method_not_allowed: 405,
    Reason.validation_error: 422,
    Reason.rate_limited: 429,
    Reason.cost_cap_exceeded: 429,
    Reason.intent_refused: 200,
    Reason.output_blocked: 200,
    Reason.internal_error: 500,
    Reason.master_flag_off: 503,
    Reason.vendor_outage: 503,
    Reason.runtime_not_wired: 503,
    Reason.quota_store_unavailable: 503,
    Reason.storage_unavailable: 503,
    # only ever an SSE ``error`` event / the JSON turn's ``refusal``: the turn's
    # HTTP status was sent before the answer could fail to be saved
    Reason.answer_not_saved: 500,
    Reason.tool_failed: 502,
}


class SupportAIError(Exception):
    """An expected failure that becomes a typed-degraded response (or SSE ``error`` event)."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        retry_after_s: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retry_after_s = retry_after_s
        self.status = status if status is not None else STATUS[reason]

    def body(self) -> dict[str, Any]:
        return degraded_body(self.reason, self.detail, self.retry_after_s)

    def response(self) -> JSONResponse:
        headers = {}
        if self.retry_after_s is not None:
            headers["Retry-After"] = str(self.retry_after_s)
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def degraded_body(reason: Reason, detail: str, retry_after_s: int | None = None) -> dict[str, Any]:
    """The one JSON shape of a typed-degraded answer."""
    body: dict[str, Any] = {"degraded": True, "reason": reason.value, "detail": detail}
    if retry_after_s is not None:
        body["retry_after_s"] = retry_after_s
    return body


def validation_error_response(loc: list[str | int], msg: str, type_: str) -> JSONResponse:
    """A 422 in the one validation shape (a ``detail`` list), for checks made outside FastAPI."""
    item = {"loc": loc, "msg": msg, "type": type_}
    body = {"degraded": True, "reason": Reason.validation_error.value, "detail": [item]}
    return JSONResponse(body, status_code=STATUS[Reason.validation_error])


def not_found(what: str = "object") -> SupportAIError:
    """Missing, foreign tenant and foreign user all look the same: a 404."""
    return SupportAIError(Reason.not_found, f"{what} not found")


class ConfigurationError(RuntimeError):
    """Start-up failed because of settings or plugins; the message says which."""
