"""Small builders of hook arguments for tests of the hook facade."""

from __future__ import annotations

from supportai.caller import Caller
from supportai.events import TurnCompletedEvent


def as_caller(tenant: str = "t1", user: str = "u1") -> Caller:
    return Caller(tenant_id=tenant, user_id=user)


def completed_event(status: str = "complete") -> TurnCompletedEvent:
    """A well-formed ``supportai_turn_completed`` payload."""
    return {
        "tenant_id": "t1",
        "user_id": "u1",
        "conversation_id": 1,
        "user_message_id": 1,
        "message_id": 2,
        "status": status,
        "intent": "question",
        "usage": {"input_tokens": 3, "output_tokens": 4},
        "cost_micros": 5,
        "timings_ms": {"backend": 1.0},
        "first_delta_ms": 0.5,
        "finish_reason": "stop",
    }
