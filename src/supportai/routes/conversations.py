"""Conversations: list, create, get, GDPR delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from supportai import schemas
from supportai.errors import not_found
from supportai.resume.log import turns_of
from supportai.routes.deps import MAX_ID, CallerDep, ConnectionDep, RuntimeDep
from supportai.store import conversations as store

router = APIRouter(tags=["conversations"])

ConversationId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get(
    "/conversations",
    summary="List Conversations",
    response_model=schemas.ConversationList,
)
async def list_conversations(
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> schemas.ConversationList:
    """The caller's conversations, newest first. Keyset pagination with ``before``."""
    size = limit or runtime.settings.page_size
    rows = await store.list_page(conn, caller, size + 1, before)
    page = rows[:size]
    return schemas.ConversationList(
        items=[schemas.ConversationSummary(**store.summary_out(r)) for r in page],
        next_cursor=page[-1]["id"] if len(rows) > size else None,
    )


@router.post(
    "/conversations",
    summary="Create Conversation",
    response_model=schemas.CreateConversationResponse,
)
async def create_conversation(
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    body: schemas.CreateConversationRequest | None = None,
) -> schemas.CreateConversationResponse:
    """Create a new support conversation owned by the authenticated user.

    Returns the new conversation_id. Turns are then posted to
    ``/conversations/{conversation_id}/messages``.
    """
    title = body.title if body else None
    if title is not None:
        title = title[: runtime.settings.max_title_chars]
    row = await store.create(conn, caller, title)
    return schemas.CreateConversationResponse(
        conversation_id=row["id"],
        title=row["title"],
        status=row["status"],
        created_at=row["created_at"],
    )


@router.get(
    "/conversations/{conversation_id}",
    summary="Get Conversation",
    response_model=schemas.ConversationDetail,
)
async def get_conversation(
    conversation_id: ConversationId,
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    limit: Annotated[
        int | None,
        Query(ge=1, le=200, description="Messages per page (default: the message page size)."),
    ] = None,
    before: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_ID,
            description="A message id: return the page of messages older than it "
            "(the previous page's ``next_cursor``).",
        ),
    ] = None,
) -> schemas.ConversationDetail:
    """One of the caller's conversations with a page of its messages.

    The first page holds the newest messages (what a chat shows when it opens),
    oldest first; ``next_cursor`` leads to the older ones. A long conversation
    thus costs one page per request, not every message it ever had.
    """
    row = await store.get_owned(conn, caller, conversation_id)
    if row is None:
        raise not_found("conversation")
    size = limit or runtime.settings.message_page_size
    rows = await store.messages_with_classification(
        conn, conversation_id, caller.tenant_id, limit=size + 1, before=before
    )
    page = rows[-size:]  # the extra, oldest row only tells that there is more
    return schemas.ConversationDetail(
        **store.summary_out(row),
        escalation_reason=row["escalation_reason"],
        messages=[schemas.MessageOut(**store.message_out(m)) for m in page],
        next_cursor=page[0]["id"] if len(rows) > size else None,
    )


@router.delete(
    "/conversations/{conversation_id}",
    summary="Delete Conversation",
    response_model=schemas.DeleteConversationResponse,
)
async def delete_conversation(
    conversation_id: ConversationId, caller: CallerDep, conn: ConnectionDep, runtime: RuntimeDep
) -> schemas.DeleteConversationResponse:
    """GDPR delete: cascade-delete the caller's conversation and everything derived from it.

    Removes intent classifications, tool calls, feedback and training candidates
    (via the message foreign keys), the messages and the conversation. Cases and
    usage records keep existing with their reference cleared; audit events of
    admin actions are retained. The caller's own deletion is a data-subject
    right, not an audited admin action.
    """
    event_log = runtime.event_log
    # A log outside the database (Redis) does not cascade: forget its turns by id.
    outside = event_log is not None and not event_log.shares_database
    turns = await turns_of(conn, conversation_id) if outside else []
    async with conn.transaction():
        deleted = await store.delete(conn, caller, conversation_id)
    if not deleted:
        raise not_found("conversation")
    if event_log is not None and turns:
        await event_log.forget(turns)
    await runtime.hooks.conversation_deleted(
        {
            "tenant_id": caller.tenant_id,
            "user_id": caller.user_id,
            "conversation_id": conversation_id,
        }
    )
    return schemas.DeleteConversationResponse(conversation_id=conversation_id)
