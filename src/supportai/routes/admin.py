"""The admin API: review training candidates, read flagged conversations, work cases, audit.

Every endpoint needs the role ``support_ai_admin`` (``SUPPORTAI_ADMIN_ROLE``;
403 ``forbidden`` without it) and sees only the admin's own tenant: another
tenant's objects are 404s and never appear in a list. Every action that
changes something, and every read of a user's chat transcript, writes an audit
event in the same transaction as the action (``store/audit.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from databases.core import Connection
from fastapi import APIRouter, Path, Query

from supportai import admin_schemas as schemas
from supportai.caller import Caller
from supportai.errors import Reason, SupportAIError, not_found
from supportai.routes.deps import MAX_ID, AdminDep, ConnectionDep, RuntimeDep
from supportai.runtime import Runtime
from supportai.schemas import CaseStatus, DegradedResponse, MessageOut
from supportai.store import admin as store
from supportai.store import audit, candidates
from supportai.store import cases as case_store
from supportai.store import conversations as conversation_store
from supportai.store import feedback as feedback_store

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={
        403: {"model": DegradedResponse, "description": "forbidden: not a support_ai_admin"},
        404: {"model": DegradedResponse},
    },
)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int | None, Query(ge=1, le=200)]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Keyset cursor.")]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": DegradedResponse, "description": "invalid_transition"}
}


def _page(runtime: Runtime, limit: int | None) -> int:
    return limit or runtime.settings.page_size


def _cursor(rows: list[dict[str, Any]], size: int) -> int | None:
    """Rows were fetched with ``size + 1``: a surplus row means there is an older page."""
    return int(rows[size - 1]["id"]) if len(rows) > size else None


def _transition(what: str, current: str, wanted: str) -> SupportAIError:
    return SupportAIError(
        Reason.invalid_transition, f"{what} is {current}; it cannot become {wanted}"
    )


# -- training candidates ----------------------------------------------------------------


@router.get("/candidates", summary="List Training Candidates", response_model=schemas.CandidateList)
async def list_candidates(
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    status: Annotated[schemas.CandidateStatus | None, Query()] = None,
    candidate_type: Annotated[schemas.CandidateType | None, Query()] = None,
    limit: Limit = None,
    before: Before = None,
) -> schemas.CandidateList:
    """The tenant's training candidates, newest first; filter by status and type."""
    size = _page(runtime, limit)
    rows = await candidates.list_page(
        conn,
        admin.tenant_id,
        limit=size + 1,
        before=before,
        status=status.value if status else None,
        candidate_type=candidate_type.value if candidate_type else None,
    )
    return schemas.CandidateList(
        items=[schemas.CandidateOut(**candidates.candidate_out(r)) for r in rows[:size]],
        next_cursor=_cursor(rows, size),
    )


@router.get(
    "/candidates/{candidate_id}",
    summary="Get Training Candidate",
    response_model=schemas.CandidateOut,
)
async def get_candidate(
    candidate_id: Id, admin: AdminDep, conn: ConnectionDep
) -> schemas.CandidateOut:
    """One training candidate: the redacted exchange, the comment and the review so far."""
    row = await candidates.get(conn, admin.tenant_id, candidate_id)
    if row is None:
        raise not_found("candidate")
    return schemas.CandidateOut(**candidates.candidate_out(row))


async def _review(
    runtime: Runtime,
    admin: Caller,
    conn: Connection,
    candidate_id: int,
    to_status: str,
    note: str | None,
    corrected_answer: str | None,
) -> schemas.CandidateOut:
    # Reviewer texts land in the candidate table too: redacted like everything else there.
    note = await candidates.redact_text(runtime, admin.tenant_id, note)
    corrected_answer = await candidates.redact_text(runtime, admin.tenant_id, corrected_answer)
    async with conn.transaction():
        current = await candidates.get(conn, admin.tenant_id, candidate_id)
        if current is None:
            raise not_found("candidate")
        if current["status"] not in candidates.TRANSITIONS[to_status]:
            raise _transition(f"candidate {candidate_id}", current["status"], to_status)
        row = await candidates.review(
            conn,
            admin,
            candidate_id,
            to_status,
            from_status=current["status"],
            note=note,
            corrected_answer=corrected_answer,
        )
        if row is None:  # another reviewer moved it between our read and our write
            raise _transition(f"candidate {candidate_id}", "being reviewed", to_status)
        await audit.record(
            conn,
            admin,
            f"candidate.{to_status}",
            target_type="candidate",
            target_id=candidate_id,
            before_status=current["status"],
            after_status=to_status,
            details={
                "candidate_type": current["candidate_type"],
                "conversation_id": current["conversation_id"],
                "corrected_answer": corrected_answer is not None,
            },
        )
    return schemas.CandidateOut(**candidates.candidate_out(row))


@router.post(
    "/candidates/{candidate_id}/approve",
    summary="Approve Training Candidate",
    response_model=schemas.CandidateOut,
    responses=CONFLICT,
)
async def approve_candidate(
    candidate_id: Id,
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    body: schemas.ApproveRequest | None = None,
) -> schemas.CandidateOut:
    """Approve a candidate for the training export.

    ``corrected_answer`` is what the assistant should have said; the
    ``openai-chat`` export needs it, the ``eval`` export does not. Approving
    again replaces the note and corrected answer; a rejected candidate may be
    approved after all. Exported candidates are final (409 ``invalid_transition``).
    Every decision is audited with the status before and after.
    """
    body = body or schemas.ApproveRequest()
    return await _review(
        runtime, admin, conn, candidate_id, "approved", body.note, body.corrected_answer
    )


@router.post(
    "/candidates/{candidate_id}/reject",
    summary="Reject Training Candidate",
    response_model=schemas.CandidateOut,
    responses=CONFLICT,
)
async def reject_candidate(
    candidate_id: Id,
    body: schemas.RejectRequest,
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
) -> schemas.CandidateOut:
    """Reject a candidate, with a reason (redacted when stored).

    Works on queued, approved and rejected candidates (a new reason replaces
    the old); exported ones are final (409 ``invalid_transition``).
    """
    return await _review(runtime, admin, conn, candidate_id, "rejected", body.reason, None)


# -- flagged conversations ---------------------------------------------------------------


@router.get(
    "/conversations",
    summary="List Flagged Conversations",
    response_model=schemas.FlaggedConversationList,
)
async def list_flagged_conversations(
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    limit: Limit = None,
    before: Before = None,
) -> schemas.FlaggedConversationList:
    """The tenant's conversations flagged by negative feedback, newest first."""
    size = _page(runtime, limit)
    rows = await store.flagged_page(conn, admin.tenant_id, limit=size + 1, before=before)
    return schemas.FlaggedConversationList(
        items=[schemas.FlaggedConversation(**store.flagged_out(r)) for r in rows[:size]],
        next_cursor=_cursor(rows, size),
    )


@router.get(
    "/conversations/{conversation_id}",
    summary="Get Flagged Conversation",
    response_model=schemas.FlaggedConversationDetail,
)
async def get_flagged_conversation(
    conversation_id: Id, admin: AdminDep, conn: ConnectionDep
) -> schemas.FlaggedConversationDetail:
    """A flagged conversation with its transcript and feedback.

    Only flagged conversations can be read here (others are 404): an admin
    reads a user's chat where that user's feedback asked for it. Each read is
    audited (``conversation.viewed``).
    """
    row = await store.flagged(conn, admin.tenant_id, conversation_id)
    if row is None:
        raise not_found("conversation")
    messages = await conversation_store.messages_with_classification(
        conn, conversation_id, admin.tenant_id
    )
    feedback = await feedback_store.for_conversation(conn, admin.tenant_id, conversation_id)
    async with conn.transaction():
        await audit.record(
            conn,
            admin,
            "conversation.viewed",
            target_type="conversation",
            target_id=conversation_id,
            details={"user_id": row["user_id"]},
        )
    return schemas.FlaggedConversationDetail(
        **store.flagged_out(row),
        escalation_reason=row["escalation_reason"],
        messages=[MessageOut(**conversation_store.message_out(m)) for m in messages],
        feedback=[
            schemas.FeedbackOut(
                feedback_id=f["id"],
                message_id=f["message_id"],
                helpful=f["helpful"],
                rating=f["rating"],
                comment=f["comment"],
                created_at=f["created_at"],
                updated_at=f["updated_at"],
            )
            for f in feedback
        ],
    )


# -- cases ------------------------------------------------------------------------------------


@router.get("/cases", summary="List Tenant Cases", response_model=schemas.AdminCaseList)
async def list_tenant_cases(
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    status_filter: Annotated[CaseStatus | None, Query()] = None,
    limit: Limit = None,
    before: Before = None,
) -> schemas.AdminCaseList:
    """Every case of the tenant, newest first (``status_filter`` as on ``GET /cases``)."""
    size = _page(runtime, limit)
    rows = await store.cases_page(
        conn,
        admin.tenant_id,
        limit=size + 1,
        before=before,
        status=status_filter.value if status_filter else None,
    )
    return schemas.AdminCaseList(
        items=[schemas.AdminCaseSummary(**store.case_out(r)) for r in rows[:size]],
        next_cursor=_cursor(rows, size),
    )


async def _case_detail(
    conn: Connection, tenant_id: str, row: dict[str, Any]
) -> schemas.AdminCaseDetail:
    comments = await case_store.comments(conn, row["id"], tenant_id, include_internal=True)
    return schemas.AdminCaseDetail(
        **store.case_out(row),
        description=row["description"],
        comments=[
            schemas.AdminCaseComment(
                **case_store.comment_out(c), author_id=c["author_id"], visibility=c["visibility"]
            )
            for c in comments
        ],
    )


@router.get("/cases/{case_id}", summary="Get Tenant Case", response_model=schemas.AdminCaseDetail)
async def get_tenant_case(
    case_id: Id, admin: AdminDep, conn: ConnectionDep
) -> schemas.AdminCaseDetail:
    """One case of the tenant with all comments, internal ones included."""
    row = await case_store.get(conn, case_id, store.tenant_scope(admin.tenant_id))
    if row is None:
        raise not_found("case")
    return await _case_detail(conn, admin.tenant_id, row)


@router.post(
    "/cases/{case_id}/comments",
    summary="Add Case Comment",
    response_model=schemas.AdminCaseComment,
)
async def add_case_comment(
    case_id: Id,
    body: schemas.AdminCommentRequest,
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
) -> schemas.AdminCaseComment:
    """Add an agent comment: ``public`` (the owner sees it) or ``internal`` (admins only).

    Admins may comment on a case in any status (a closing note on a resolved
    case, say); only the owner's own comments need an open case.
    """
    async with conn.transaction():
        row = await case_store.get(conn, case_id, store.tenant_scope(admin.tenant_id))
        if row is None:
            raise not_found("case")
        comment = await case_store.add_comment(
            conn,
            row,
            author_id=admin.user_id,
            author_role="agent",
            visibility=body.visibility.value,
            body=body.body,
        )
        await audit.record(
            conn,
            admin,
            "case.commented",
            target_type="case",
            target_id=case_id,
            before_status=row["status"],
            after_status=row["status"],
            details={"comment_id": comment["id"], "visibility": body.visibility.value},
        )
    await runtime.hooks.case_commented(
        {
            "tenant_id": admin.tenant_id,
            "case_id": case_id,
            "comment_id": comment["id"],
            "author_role": "agent",
            "visibility": body.visibility.value,
        }
    )
    return schemas.AdminCaseComment(
        **case_store.comment_out(comment),
        author_id=comment["author_id"],
        visibility=comment["visibility"],
    )


@router.post(
    "/cases/{case_id}/status",
    summary="Change Case Status",
    response_model=schemas.AdminCaseDetail,
    responses=CONFLICT,
)
async def change_case_status(
    case_id: Id, body: schemas.CaseStatusRequest, admin: AdminDep, conn: ConnectionDep
) -> schemas.AdminCaseDetail:
    """Move a case to ``open``, ``pending``, ``resolved`` or ``closed``.

    Any status may follow any other (reopening is allowed); asking for the
    status the case already has is a 409 ``invalid_transition``, so a
    double-submitted change is never audited twice.
    """
    wanted = body.status.value
    async with conn.transaction():
        row = await case_store.get(conn, case_id, store.tenant_scope(admin.tenant_id))
        if row is None:
            raise not_found("case")
        if row["status"] == wanted:
            raise _transition(f"case {case_id}", row["status"], wanted)
        updated = await store.set_case_status(conn, admin.tenant_id, case_id, row["status"], wanted)
        if updated is None:
            raise _transition(f"case {case_id}", "being changed", wanted)
        await audit.record(
            conn,
            admin,
            "case.status_changed",
            target_type="case",
            target_id=case_id,
            before_status=row["status"],
            after_status=wanted,
            details={"conversation_id": row["conversation_id"]},
        )
    return await _case_detail(conn, admin.tenant_id, updated)


# -- audit log -----------------------------------------------------------------------------------


@router.get("/audit-events", summary="List Audit Events", response_model=schemas.AuditEventList)
async def list_audit_events(
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    action: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00]+$")] = None,
    target_type: Annotated[schemas.AuditTarget | None, Query()] = None,
    target_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = None,
    before: Before = None,
) -> schemas.AuditEventList:
    """The tenant's audit events, newest first. They outlive GDPR deletes of what they mention."""
    size = _page(runtime, limit)
    rows = await audit.list_page(
        conn,
        admin.tenant_id,
        limit=size + 1,
        before=before,
        action=action,
        target_type=target_type,
        target_id=target_id,
    )
    return schemas.AuditEventList(
        items=[schemas.AuditEventOut(**audit.event_out(r)) for r in rows[:size]],
        next_cursor=_cursor(rows, size),
    )
