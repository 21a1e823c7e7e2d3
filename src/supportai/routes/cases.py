"""Human support cases, as their owner sees them (public comments only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from supportai import schemas
from supportai.errors import Reason, SupportAIError, not_found
from supportai.routes.deps import MAX_ID, CallerDep, ConnectionDep, RuntimeDep
from supportai.store import cases as store
from supportai.store import conversations

router = APIRouter(tags=["cases"])

CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/cases", summary="List My Cases", response_model=schemas.CaseList)
async def list_my_cases(
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    status_filter: Annotated[schemas.CaseStatus | None, Query()] = None,
) -> schemas.CaseList:
    """List the caller's support cases."""
    rows = await store.list_owned(
        conn, caller, status_filter.value if status_filter else None, limit=200
    )
    return schemas.CaseList(items=[schemas.CaseSummary(**store.summary_out(r)) for r in rows])


@router.post(
    "/cases",
    summary="Create Case",
    response_model=schemas.CaseDetail,
    responses={404: {"model": schemas.DegradedResponse, "description": "conversation not found"}},
)
async def create_case(
    body: schemas.CreateCaseRequest, caller: CallerDep, conn: ConnectionDep, runtime: RuntimeDep
) -> schemas.CaseDetail:
    """Create a tenant-scoped human support case for the caller."""
    if body.conversation_id is not None and (
        await conversations.get_owned(conn, caller, body.conversation_id) is None
    ):
        raise not_found("conversation")
    try:
        row = await store.create(
            conn,
            caller,
            subject=body.subject,
            description=body.description,
            priority=body.priority.value,
            conversation_id=body.conversation_id,
        )
    except Exception as exc:
        # The conversation was deleted after the check above: same answer as missing.
        if body.conversation_id is not None and store.is_foreign_key_violation(exc):
            raise not_found("conversation") from None
        raise
    await runtime.hooks.case_created(
        {
            "tenant_id": caller.tenant_id,
            "user_id": caller.user_id,
            "case_id": row["id"],
            "conversation_id": row["conversation_id"],
            "priority": row["priority"],
        }
    )
    return schemas.CaseDetail(**store.summary_out(row), description=row["description"], comments=[])


@router.get("/cases/{case_id}", summary="Get My Case", response_model=schemas.CaseDetail)
async def get_my_case(
    case_id: CaseId, caller: CallerDep, conn: ConnectionDep
) -> schemas.CaseDetail:
    """Fetch one caller-owned support case with public comments."""
    row = await store.get(conn, case_id, store.owned(caller))
    if row is None:
        raise not_found("case")
    comments = await store.comments(conn, case_id, caller.tenant_id, include_internal=False)
    return schemas.CaseDetail(
        **store.summary_out(row),
        description=row["description"],
        comments=[schemas.CaseCommentOut(**store.comment_out(c)) for c in comments],
    )


@router.post(
    "/cases/{case_id}/comments",
    summary="Add My Case Comment",
    response_model=schemas.CaseCommentOut,
    responses={409: {"model": schemas.DegradedResponse, "description": "case_closed"}},
)
async def add_my_case_comment(
    case_id: CaseId,
    body: schemas.CaseCommentRequest,
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
) -> schemas.CaseCommentOut:
    """Add a public caller comment to an open support case."""
    async with conn.transaction():
        # Check-and-touch in one statement: an agent closing the case at the
        # same moment either commits first (and we refuse) or after this comment.
        row = await store.touch_if_open(conn, case_id, store.owned(caller))
        if row is None:
            existing = await store.get(conn, case_id, store.owned(caller))
            if existing is None:
                raise not_found("case")
            raise SupportAIError(
                Reason.case_closed,
                f"case {case_id} is {existing['status']}; open a new case instead",
            )
        comment = await store.add_comment(
            conn,
            row,
            author_id=caller.user_id,
            author_role="user",
            visibility="public",
            body=body.body,
            touch=False,
        )
    await runtime.hooks.case_commented(
        {
            "tenant_id": caller.tenant_id,
            "case_id": case_id,
            "comment_id": comment["id"],
            "author_role": "user",
            "visibility": "public",
        }
    )
    return schemas.CaseCommentOut(**store.comment_out(comment))
