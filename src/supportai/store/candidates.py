"""Training candidates: exchanges queued for human review, redacted before they are stored.

A candidate is born from negative feedback (``negative_feedback``), from an
answer an output filter stopped (``output_blocked``) or from a refused intent
(``intent_refused``; both configurable in settings). Reviewers approve or
reject it; the offline export (``supportai export-training``) turns approved
ones into training or evaluation data and marks them ``exported``.

The one invariant of this module: **every text written to the candidate table
passes through** :func:`supportai.redaction.redact` first (the
``supportai_redact`` hook, or core's conservative fallback, plus the tenant's
sensitive terms). That covers the user's turn, the assistant's answer, the
feedback comment and the reviewer's note and corrected answer alike, so a
training file built from this table never needs a second scrub.

Candidates reference their conversation and message with cascading foreign
keys: a GDPR delete of the conversation removes them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from databases.core import Connection

from supportai.caller import Caller
from supportai.redaction import redact
from supportai.store import tables
from supportai.store.conversations import now
from supportai.store.database import row_dict

if TYPE_CHECKING:
    from supportai.runtime import Runtime

log = logging.getLogger("supportai.candidates")

T = tables.training_candidates
M = tables.messages
IC = tables.intent_classifications

STATUSES = ("queued", "approved", "rejected", "exported")
TYPES = ("negative_feedback", "output_blocked", "intent_refused")

#: Review decisions and the statuses they may start from. A reviewer may
#: change their mind or re-approve to add a corrected answer; an exported
#: candidate is final: it is already in someone's training file.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "approved": ("queued", "approved", "rejected"),
    "rejected": ("queued", "approved", "rejected"),
}


@dataclass(frozen=True, slots=True)
class Exchange:
    """The user turn and the assistant answer a candidate is about (either may be missing)."""

    user: dict[str, Any] | None
    assistant: dict[str, Any] | None

    @property
    def message_id(self) -> int | None:
        """The message a candidate points at: the answer if there is one, else the question."""
        row = self.assistant or self.user
        return int(row["id"]) if row is not None else None


# -- finding the exchange ------------------------------------------------------------


async def _one(conn: Connection, query: sa.Select[Any]) -> dict[str, Any] | None:
    row = await conn.fetch_one(query)
    return row_dict(row) if row is not None else None


async def exchange_of(
    conn: Connection, tenant_id: str, conversation_id: int, message_id: int | None
) -> Exchange:
    """The exchange around ``message_id``, or the conversation's last one when it is ``None``.

    A user message pairs with the assistant message that replies to it
    (``reply_to_id``); an assistant message with the user message it replies to.
    """
    in_conversation = sa.and_(M.c.conversation_id == conversation_id, M.c.tenant_id == tenant_id)
    if message_id is None:
        anchor = await _one(
            conn,
            sa.select(M)
            .where(in_conversation, M.c.role == "assistant")
            .order_by(M.c.id.desc())
            .limit(1),
        )
        if anchor is None:
            anchor = await _one(
                conn, sa.select(M).where(in_conversation).order_by(M.c.id.desc()).limit(1)
            )
    else:
        anchor = await _one(conn, sa.select(M).where(in_conversation, M.c.id == message_id))
    if anchor is None:
        return Exchange(None, None)
    if anchor["role"] == "assistant":
        user = None
        if anchor["reply_to_id"] is not None:
            user = await _one(
                conn, sa.select(M).where(in_conversation, M.c.id == anchor["reply_to_id"])
            )
        return Exchange(user, anchor)
    answer = await _one(
        conn,
        sa.select(M)
        .where(in_conversation, M.c.reply_to_id == anchor["id"], M.c.role == "assistant")
        .order_by(M.c.id)
        .limit(1),
    )
    return Exchange(anchor, answer)


async def _intent_of(conn: Connection, message_id: int | None) -> str | None:
    if message_id is None:
        return None
    value = await conn.fetch_val(
        sa.select(IC.c.intent).where(IC.c.message_id == message_id).order_by(IC.c.id).limit(1)
    )
    return str(value) if value is not None else None


async def redacted_snapshot(
    runtime: Runtime,
    conn: Connection,
    tenant_id: str,
    exchange: Exchange,
    **extra: Any,
) -> dict[str, Any]:
    """The exchange as stored on a candidate: texts redacted, ids and statuses kept."""
    user, assistant = exchange.user, exchange.assistant
    return {
        "question": await _redact(runtime, tenant_id, user["content"] if user else None),
        "answer": await _redact(runtime, tenant_id, assistant["content"] if assistant else None),
        "answer_status": assistant["status"] if assistant else None,
        "user_message_id": user["id"] if user else None,
        "assistant_message_id": assistant["id"] if assistant else None,
        "intent": await _intent_of(conn, user["id"] if user else None),
        **extra,
    }


async def _redact(runtime: Runtime, tenant_id: str, text: str | None) -> str | None:
    if text is None or text == "":
        return text
    return await redact(runtime.hooks, tenant_id, text)


async def redact_text(runtime: Runtime, tenant_id: str, text: str | None) -> str | None:
    """Redact a free text (comment, reviewer note) bound for the candidate table."""
    return await _redact(runtime, tenant_id, text)


# -- creating --------------------------------------------------------------------------


async def insert(
    conn: Connection,
    *,
    tenant_id: str,
    conversation_id: int,
    message_id: int | None,
    feedback_id: int | None,
    candidate_type: str,
    comment: str | None,
    snapshot: Mapping[str, Any],
) -> int:
    """Insert a queued candidate. Callers pass texts that are already redacted."""
    row = await conn.fetch_one(
        T.insert()
        .values(
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            message_id=message_id,
            feedback_id=feedback_id,
            candidate_type=candidate_type,
            status="queued",
            comment=comment,
            snapshot=dict(snapshot),
            created_at=now(),
        )
        .returning(T.c.id)
    )
    assert row is not None
    return int(row[0])


async def queue_from_turn(
    runtime: Runtime, caller: Caller, conversation_id: int, message_id: int | None, kind: str
) -> int | None:
    """Queue a refused (``intent_refused``) or filtered (``output_blocked``) turn for review.

    Called by the turn pipeline after the turn is persisted. It never fails the
    turn: the user already has their answer, and losing one review item is
    better than turning a finished turn into an error. Failures are logged.
    """
    if message_id is None:
        return None
    try:
        async with runtime.database.connection() as conn:
            exchange = await exchange_of(conn, caller.tenant_id, conversation_id, message_id)
            if exchange.message_id is None:
                return None
            snapshot = await redacted_snapshot(runtime, conn, caller.tenant_id, exchange)
            async with conn.transaction():
                return await insert(
                    conn,
                    tenant_id=caller.tenant_id,
                    conversation_id=conversation_id,
                    message_id=exchange.message_id,
                    feedback_id=None,
                    candidate_type=kind,
                    comment=None,
                    snapshot=snapshot,
                )
    except Exception:
        log.exception("could not queue %s candidate for message %s", kind, message_id)
        return None


async def for_feedback(conn: Connection, feedback_id: int) -> dict[str, Any] | None:
    return await _one(conn, sa.select(T).where(T.c.feedback_id == feedback_id))


async def refresh_queued(
    conn: Connection, candidate_id: int, *, comment: str | None, snapshot: Mapping[str, Any]
) -> bool:
    """Update a candidate from updated feedback, only while nobody has reviewed it yet."""
    row = await conn.fetch_one(
        T.update()
        .where(T.c.id == candidate_id, T.c.status == "queued")
        .values(comment=comment, snapshot=dict(snapshot))
        .returning(T.c.id)
    )
    return row is not None


async def withdraw_queued(conn: Connection, candidate_id: int) -> bool:
    """Drop a still-queued candidate whose feedback is no longer negative."""
    row = await conn.fetch_one(
        T.delete().where(T.c.id == candidate_id, T.c.status == "queued").returning(T.c.id)
    )
    return row is not None


# -- reviewing -------------------------------------------------------------------------


async def list_page(
    conn: Connection,
    tenant_id: str,
    *,
    limit: int,
    before: int | None = None,
    status: str | None = None,
    candidate_type: str | None = None,
) -> list[dict[str, Any]]:
    """A tenant's candidates, newest first, keyset-paginated by id."""
    query = sa.select(T).where(T.c.tenant_id == tenant_id).order_by(T.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(T.c.id < before)
    if status is not None:
        query = query.where(T.c.status == status)
    if candidate_type is not None:
        query = query.where(T.c.candidate_type == candidate_type)
    return [row_dict(r) for r in await conn.fetch_all(query)]


async def get(conn: Connection, tenant_id: str, candidate_id: int) -> dict[str, Any] | None:
    return await _one(conn, sa.select(T).where(T.c.id == candidate_id, T.c.tenant_id == tenant_id))


async def review(
    conn: Connection,
    reviewer: Caller,
    candidate_id: int,
    to_status: str,
    *,
    from_status: str,
    note: str | None,
    corrected_answer: str | None = None,
) -> dict[str, Any] | None:
    """Move a candidate from ``from_status`` to ``to_status`` (compare-and-set).

    The update is conditional on exactly the status the caller read (and audits
    as "before"), not merely on one the transition allows: on PostgreSQL a
    reviewer whose UPDATE waited for a racing one's row lock re-checks its WHERE
    against the new status, and ``approved`` -> ``rejected`` is allowed too, so a
    condition on the allowed set let both win and broke the audit chain (issue 13).
    Returns the updated row, or ``None`` when the status changed in between.
    """
    if from_status not in TRANSITIONS[to_status]:
        return None
    row = await conn.fetch_one(
        T.update()
        .where(
            T.c.id == candidate_id,
            T.c.tenant_id == reviewer.tenant_id,
            T.c.status == from_status,
        )
        .values(
            status=to_status,
            reviewer_id=reviewer.user_id,
            review_note=note,
            corrected_answer=corrected_answer,
            reviewed_at=now(),
        )
        .returning(*T.c)
    )
    return row_dict(row) if row is not None else None


def candidate_out(row: Mapping[str, Any]) -> dict[str, Any]:
    snapshot = row["snapshot"] or {}
    return {
        "candidate_id": row["id"],
        "candidate_type": row["candidate_type"],
        "status": row["status"],
        "conversation_id": row["conversation_id"],
        "message_id": row["message_id"],
        "feedback_id": row["feedback_id"],
        "comment": row["comment"],
        "snapshot": {
            "question": snapshot.get("question"),
            "answer": snapshot.get("answer"),
            "answer_status": snapshot.get("answer_status"),
            "intent": snapshot.get("intent"),
            "helpful": snapshot.get("helpful"),
            "rating": snapshot.get("rating"),
        },
        "reviewer_id": row["reviewer_id"],
        "review_note": row["review_note"],
        "corrected_answer": row["corrected_answer"],
        "reviewed_at": row["reviewed_at"],
        "exported_at": row["exported_at"],
        "created_at": row["created_at"],
    }


# -- exporting --------------------------------------------------------------------------


def _export_scope(status: str, tenant_id: str | None) -> sa.ColumnElement[bool]:
    scope = T.c.status == status
    if tenant_id is not None:
        scope = sa.and_(scope, T.c.tenant_id == tenant_id)
    return scope


async def count_for_export(conn: Connection, status: str, tenant_id: str | None) -> int:
    value = await conn.fetch_val(
        sa.select(sa.func.count()).select_from(T).where(_export_scope(status, tenant_id))
    )
    return int(value or 0)


async def export_batch(
    conn: Connection, status: str, tenant_id: str | None, after_id: int, limit: int
) -> list[dict[str, Any]]:
    """The next ``limit`` candidates with ``status``, in id order (keyset, stable)."""
    rows = await conn.fetch_all(
        sa.select(T)
        .where(_export_scope(status, tenant_id), T.c.id > after_id)
        .order_by(T.c.id)
        .limit(limit)
    )
    return [row_dict(r) for r in rows]


async def mark_exported(conn: Connection, ids: Sequence[int], chunk: int = 500) -> int:
    """Move approved candidates to ``exported``; returns how many actually moved.

    Only rows still ``approved`` move, so the caller can tell whether a reviewer
    changed one of them while the file was being written.
    """
    moved = 0
    moment = now()
    for start in range(0, len(ids), chunk):
        part = list(ids[start : start + chunk])
        rows = await conn.fetch_all(
            T.update()
            .where(T.c.id.in_(part), T.c.status == "approved")
            .values(status="exported", exported_at=moment)
            .returning(T.c.id)
        )
        moved += len(rows)
    return moved
