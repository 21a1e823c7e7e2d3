"""Feedback on a conversation, and the start of the improvement loop."""

from __future__ import annotations

from typing import Annotated, Any

from databases.core import Connection
from fastapi import APIRouter, Path

from supportai import schemas
from supportai.caller import Caller
from supportai.errors import not_found
from supportai.routes.deps import MAX_ID, CallerDep, ConnectionDep, RuntimeDep
from supportai.store import candidates
from supportai.store import conversations as conversation_store
from supportai.store import feedback as store
from supportai.store.database import is_unique_violation

router = APIRouter(tags=["feedback"])

ConversationId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/conversations/{conversation_id}/feedback",
    summary="Submit Feedback",
    response_model=schemas.FeedbackResponse,
    responses={404: {"model": schemas.DegradedResponse}},
)
async def submit_feedback(
    conversation_id: ConversationId,
    body: schemas.FeedbackRequest,
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
) -> schemas.FeedbackResponse:
    """Persist user feedback on a conversation; auto-flag for improvement.

    Give at least one of ``helpful`` and ``rating``; ``message_id`` (a message
    of this conversation) narrows the feedback to one answer. Submitting again
    on the same message (or again on the whole conversation) replaces the
    earlier feedback and answers ``updated: true``.

    Negative feedback (``helpful=false`` or ``rating<=2``) flags the conversation
    and queues one training candidate (``negative_feedback``, ``queued``) holding
    the PII-redacted comment and a redacted snapshot of the exchange (the user
    turn and the assistant answer, or the last exchange). Admins review it with
    the admin endpoints; approved candidates are exported offline
    (``supportai export-training``).
    """
    if await conversation_store.get_owned(conn, caller, conversation_id) is None:
        raise not_found("conversation")
    if body.message_id is not None and not await store.message_in_conversation(
        conn, caller.tenant_id, conversation_id, body.message_id
    ):
        raise not_found("message")

    negative = body.negative
    redacted: dict[str, Any] | None = None
    if negative:
        # Redaction may call plugins (and be slow): do it before the transaction.
        exchange = await candidates.exchange_of(
            conn, caller.tenant_id, conversation_id, body.message_id
        )
        redacted = {
            "message_id": exchange.message_id,
            "comment": await candidates.redact_text(runtime, caller.tenant_id, body.comment),
            "snapshot": await candidates.redacted_snapshot(
                runtime, conn, caller.tenant_id, exchange, helpful=body.helpful, rating=body.rating
            ),
        }

    for attempt in (1, 2):
        try:
            async with conn.transaction():
                row, updated = await store.upsert(
                    conn,
                    caller,
                    conversation_id,
                    body.message_id,
                    helpful=body.helpful,
                    rating=body.rating,
                    comment=body.comment,
                )
                candidate_id = await _sync_candidate(
                    conn, caller, conversation_id, int(row["id"]), redacted
                )
                if negative:
                    await store.flag_conversation(conn, caller, conversation_id)
            break
        except Exception as exc:
            # A concurrent first submission won the unique index: ours becomes an update.
            if attempt == 2 or not is_unique_violation(exc):
                raise

    await runtime.hooks.feedback_received(
        {
            "tenant_id": caller.tenant_id,
            "user_id": caller.user_id,
            "conversation_id": conversation_id,
            "message_id": body.message_id,
            "feedback_id": row["id"],
            "helpful": body.helpful,
            "rating": body.rating,
            "has_comment": bool(body.comment),
            "negative": negative,
            "training_candidate_id": candidate_id,
            "updated": updated,
        }
    )
    return schemas.FeedbackResponse(
        feedback_id=row["id"],
        conversation_id=conversation_id,
        message_id=row["message_id"],
        helpful=row["helpful"],
        rating=row["rating"],
        training_candidate_id=candidate_id,
        updated=updated,
    )


async def _sync_candidate(
    conn: Connection,
    caller: Caller,
    conversation_id: int,
    feedback_id: int,
    redacted: dict[str, Any] | None,
) -> int | None:
    """Keep exactly one candidate per negative feedback, in step with its latest version.

    * negative, no candidate yet: queue one;
    * negative again: refresh the candidate while it is still queued (a reviewed
      one is never changed under its reviewer);
    * no longer negative: withdraw a still-queued candidate (the user took the
      complaint back before anyone looked); a reviewed one stays.
    """
    existing = await candidates.for_feedback(conn, feedback_id)
    if redacted is not None:
        if existing is None:
            return await candidates.insert(
                conn,
                tenant_id=caller.tenant_id,
                conversation_id=conversation_id,
                message_id=redacted["message_id"],
                feedback_id=feedback_id,
                candidate_type="negative_feedback",
                comment=redacted["comment"],
                snapshot=redacted["snapshot"],
            )
        await candidates.refresh_queued(
            conn, int(existing["id"]), comment=redacted["comment"], snapshot=redacted["snapshot"]
        )
        return int(existing["id"])
    if existing is None:
        return None
    if await candidates.withdraw_queued(conn, int(existing["id"])):
        return None
    return int(existing["id"])
