"""What a turn tells tracing, observers and the review queue, kept out of its stages.

Span attributes are ids, names, statuses and numbers only: no message text, no
user identity (``tests/test_tracing.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supportai.telemetry.tracing import Attributes

if TYPE_CHECKING:
    from supportai.caller import Caller
    from supportai.events import TurnCompletedEvent
    from supportai.llm import Usage
    from supportai.pipeline.prepare import Prepared, Timings
    from supportai.pipeline.turn import Turn
    from supportai.runtime import Runtime


def prepare_span(runtime: Runtime, caller: Caller, conversation_id: int, *_: Any) -> Attributes:
    """Attributes of ``supportai.turn.prepare`` when it starts."""
    return {"supportai.tenant_id": caller.tenant_id, "supportai.conversation_id": conversation_id}


def prepared_outcome(prepared: Prepared, *_: Any) -> Attributes:
    """Attributes of ``supportai.turn.prepare`` once the turn is admitted, refused or replayed."""
    outcome = "replayed" if prepared.replay else "refused" if prepared.refusal else "admitted"
    return {
        "supportai.outcome": outcome,
        "supportai.intent": prepared.classification.intent,
        "supportai.turn_id": prepared.user_message_id,
    }


def answer_span(turn: Turn) -> Attributes:
    """Attributes of ``supportai.turn.answer`` when the answer starts."""
    backend = turn.runtime.backend
    return {
        "supportai.tenant_id": turn.caller.tenant_id,
        "supportai.conversation_id": turn.prepared.conversation_id,
        "supportai.turn_id": turn.prepared.user_message_id,
        "supportai.intent": turn.prepared.classification.intent,
        "supportai.backend": str(getattr(backend, "name", type(backend).__name__)),
    }


def answer_outcome(_: None, turn: Turn) -> Attributes:
    """Attributes of ``supportai.turn.answer`` once the answer is saved (or not)."""
    return {
        "supportai.status": turn.status,
        "supportai.finish_reason": turn.finish_reason or "",
        "supportai.cost_micros": turn.cost_micros,
    }


async def retrieval_completed(turn: Turn, documents: int) -> None:
    """Tell observers how much grounding was found (``documents == 0``: no answer).

    Sent only when some plugin implements ``supportai_retrieve_context``: without
    retrieval, "found nothing" would be meaningless.
    """
    hooks = turn.runtime.hooks
    if not hooks.has_impls("supportai_retrieve_context"):
        return
    await hooks.retrieval_completed(
        {
            "tenant_id": turn.caller.tenant_id,
            "conversation_id": turn.prepared.conversation_id,
            "user_message_id": turn.prepared.user_message_id,
            "source": "supportai_retrieve_context",
            "documents": documents,
        }
    )


def completed_event(
    caller: Caller,
    prepared: Prepared,
    assistant_id: int | None,
    status: str,
    usage: Usage,
    cost: int,
    timings: Timings,
) -> TurnCompletedEvent:
    """The ``supportai_turn_completed`` payload of a refused or answered turn."""
    return {
        "tenant_id": caller.tenant_id,
        "user_id": caller.user_id,
        "conversation_id": prepared.conversation_id,
        "user_message_id": prepared.user_message_id,
        "message_id": assistant_id,
        "status": status,
        "intent": prepared.classification.intent,
        "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
        "cost_micros": cost,
        "timings_ms": dict(timings.values),
        "first_delta_ms": timings.first_delta_ms,
        "finish_reason": "intent_refused" if status == "refused" else None,
    }


async def queue_for_review(
    runtime: Runtime, caller: Caller, conversation_id: int, message_id: int, kind: str
) -> None:
    """Queue a refused or blocked turn for review, redacted (the improvement loop)."""
    from supportai.store import candidates  # imported on this rare path only

    await candidates.queue_from_turn(runtime, caller, conversation_id, message_id, kind)
