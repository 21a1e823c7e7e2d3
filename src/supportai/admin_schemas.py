"""Request and response bodies of the admin API (``/admin/...``, role ``support_ai_admin``).

Like :mod:`supportai.schemas`: request models forbid unknown fields and bound
every string, so a malformed review is a 422 naming the field before anything
is written.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from supportai.schemas import (
    CaseCommentOut,
    CasePriority,
    CaseStatus,
    ConversationStatus,
    MessageOut,
    Request,
)

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class Cursor(BaseModel):
    next_cursor: int | None = Field(
        default=None,
        description="Pass as ``before`` to fetch the next (older) page; null on the last page.",
    )


# -- training candidates ----------------------------------------------------------------


class CandidateStatus(StrEnum):
    queued = "queued"
    approved = "approved"
    rejected = "rejected"
    exported = "exported"


class CandidateType(StrEnum):
    negative_feedback = "negative_feedback"
    output_blocked = "output_blocked"
    intent_refused = "intent_refused"


class CandidateSnapshot(BaseModel):
    """The exchange the candidate is about, PII-redacted when it was queued."""

    question: str | None
    answer: str | None
    answer_status: str | None
    intent: str | None
    helpful: bool | None = None
    rating: int | None = None


class CandidateOut(BaseModel):
    candidate_id: int
    candidate_type: CandidateType
    status: CandidateStatus
    conversation_id: int | None
    message_id: int | None
    feedback_id: int | None
    comment: str | None = Field(description="The user's feedback comment, PII-redacted.")
    snapshot: CandidateSnapshot
    reviewer_id: str | None
    review_note: str | None
    corrected_answer: str | None
    reviewed_at: datetime | None
    exported_at: datetime | None
    created_at: datetime


class CandidateList(Cursor):
    items: list[CandidateOut]


class ApproveRequest(Request):
    note: Note | None = Field(default=None, description="Why it was approved (redacted).")
    corrected_answer: Answer | None = Field(
        default=None,
        description="The answer the assistant should have given. The openai-chat export "
        "trains on it and skips approved candidates without one (redacted when stored).",
    )


class RejectRequest(Request):
    reason: Note = Field(description="Why it was rejected (redacted when stored).")


# -- flagged conversations ---------------------------------------------------------------


class FlaggedConversation(BaseModel):
    conversation_id: int
    user_id: str
    title: str | None
    status: ConversationStatus
    created_at: datetime
    updated_at: datetime


class FlaggedConversationList(Cursor):
    items: list[FlaggedConversation]


class FeedbackOut(BaseModel):
    feedback_id: int
    message_id: int | None
    helpful: bool | None
    rating: int | None
    comment: str | None
    created_at: datetime
    updated_at: datetime


class FlaggedConversationDetail(FlaggedConversation):
    escalation_reason: str | None
    messages: list[MessageOut]
    feedback: list[FeedbackOut]


# -- cases ----------------------------------------------------------------------------------


class Visibility(StrEnum):
    public = "public"
    internal = "internal"


class AdminCaseSummary(BaseModel):
    case_id: int
    user_id: str
    subject: str
    priority: CasePriority
    status: CaseStatus
    conversation_id: int | None
    created_at: datetime
    updated_at: datetime


class AdminCaseList(Cursor):
    items: list[AdminCaseSummary]


class AdminCaseComment(CaseCommentOut):
    author_id: str
    visibility: Visibility


class AdminCaseDetail(AdminCaseSummary):
    description: str
    comments: list[AdminCaseComment]


class AdminCommentRequest(Request):
    body: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    visibility: Visibility = Field(
        default=Visibility.public,
        description="``internal`` comments are seen by admins only, never by the case owner.",
    )


class CaseStatusRequest(Request):
    status: CaseStatus


# -- audit log --------------------------------------------------------------------------------


AuditTarget = Literal["article", "candidate", "case", "conversation"]


class AuditEventOut(BaseModel):
    event_id: int
    actor_id: str
    action: str
    target_type: AuditTarget
    target_id: int
    before_status: str | None
    after_status: str | None
    details: dict[str, Any]
    created_at: datetime


class AuditEventList(Cursor):
    items: list[AuditEventOut]
