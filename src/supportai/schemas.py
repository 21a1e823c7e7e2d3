"""Request and response bodies of the public API.

Every request model forbids unknown fields and bounds every string, so bad input
is a 422 naming the field before any work is done. Text limits are documented
in ``docs/api.md``; the message length limit is also a setting
(``SUPPORTAI_MAX_MESSAGE_CHARS``) enforced by the turn.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

MAX_TEXT = 20_000
"""Hard upper bound for any free-text field, whatever the settings say."""

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
IdempotencyKey = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")
]


NO_NUL_PATTERN = "^[^\\u0000]*$"
"""JSON Schema for "no NUL character", stated on every request string (see ``_no_nul``)."""


def _state_no_nul(schema: dict[str, Any]) -> None:
    """Put the NUL rule into the document, so clients and fuzzers see what is enforced."""
    for prop in schema.get("properties", {}).values():
        for branch in prop.get("anyOf", [prop]):
            if branch.get("type") == "string" and "pattern" not in branch:
                branch["pattern"] = NO_NUL_PATTERN


class Request(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=False, json_schema_extra=_state_no_nul
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """NUL is never text: PostgreSQL cannot store it (a 500 there, silently kept on
        SQLite), so it is a 422 naming the field on every engine."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL (\\x00) characters")
        return value


# -- typed errors ----------------------------------------------------------------------


class DegradedResponse(BaseModel):
    """The one shape of every typed failure (see ``docs/errors.md``)."""

    degraded: Literal[True] = True
    reason: str
    detail: str
    retry_after_s: int | None = None


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    degraded: Literal[True] = True
    reason: Literal["validation_error"] = "validation_error"
    detail: list[ValidationErrorItem]


# -- conversations ---------------------------------------------------------------------


class ConversationStatus(StrEnum):
    open = "open"
    escalated = "escalated"


class CreateConversationRequest(Request):
    title: Title | None = None


class CreateConversationResponse(BaseModel):
    conversation_id: int
    title: str | None
    status: ConversationStatus
    created_at: datetime


class ConversationSummary(BaseModel):
    conversation_id: int
    title: str | None
    status: ConversationStatus
    created_at: datetime
    updated_at: datetime


class ConversationList(BaseModel):
    items: list[ConversationSummary]
    next_cursor: int | None = Field(
        description="Pass as ``before`` to fetch the next (older) page; null on the last page."
    )


class ClassificationOut(BaseModel):
    intent: str
    confidence: float
    refused: bool
    classifier: str


class CitationOut(BaseModel):
    source_id: str
    title: str
    url: str | None = None


class MessageOut(BaseModel):
    message_id: int
    role: Literal["user", "assistant"]
    content: str
    status: str
    created_at: datetime
    classification: ClassificationOut | None = None
    citations: list[CitationOut] = []


class ConversationDetail(ConversationSummary):
    escalation_reason: str | None = None
    messages: list[MessageOut] = Field(
        description="One page of messages, oldest first: the newest page unless ``before`` "
        "is given."
    )
    next_cursor: int | None = Field(
        description="Pass as ``before`` to fetch the page of older messages; null when "
        "this page reaches the first message.",
    )


class DeleteConversationResponse(BaseModel):
    deleted: Literal[True] = True
    conversation_id: int


# -- the turn ------------------------------------------------------------------------------


class CreateMessageRequest(Request):
    content: Text = Field(description="The user's message.")
    idempotency_key: IdempotencyKey | None = Field(
        default=None,
        description="Client-chosen key: a retried submit with the same key returns the "
        "original turn instead of creating (and charging) a second one.",
    )


class UsageOut(BaseModel):
    input_tokens: int
    output_tokens: int
    cost_micros: int


class ToolCallOut(BaseModel):
    call_id: str
    name: str
    arguments: dict[str, Any]
    result: Any = None
    error: str | None = None


class TurnResponse(BaseModel):
    """A whole turn for JSON clients (SSE clients get the same as events)."""

    conversation_id: int
    user_message_id: int
    assistant_message_id: int | None
    status: str = Field(description="complete | refused | blocked | interrupted | error")
    content: str
    classification: ClassificationOut | None
    citations: list[CitationOut] = []
    tool_calls: list[ToolCallOut] = []
    usage: UsageOut
    finish_reason: str | None
    refusal: DegradedResponse | None = None
    replayed: bool = Field(default=False, description="True when answered from idempotency.")


# -- escalation ---------------------------------------------------------------------------


class EscalationReason(StrEnum):
    customer_request = "customer_request"
    missing_knowledge = "missing_knowledge"
    unsupported_request = "unsupported_request"
    policy_restriction = "policy_restriction"
    tool_failure = "tool_failure"
    other = "other"


class EscalateRequest(Request):
    reason: EscalationReason = EscalationReason.customer_request
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class EscalationSnapshot(BaseModel):
    conversation_id: int
    title: str | None
    reason: EscalationReason
    note: str | None
    last_classification: ClassificationOut | None
    transcript: list[MessageOut]


class EscalateResponse(BaseModel):
    conversation_id: int
    status: Literal["escalated"] = "escalated"
    ticket_url: str
    snapshot: EscalationSnapshot
    already_escalated: bool


# -- feedback -------------------------------------------------------------------------------


def _state_helpful_or_rating(schema: dict[str, Any]) -> None:
    """The model validator's rule, in JSON Schema: a body without either is a 422."""
    _state_no_nul(schema)
    schema["anyOf"] = [
        {"required": ["helpful"], "properties": {"helpful": {"type": "boolean"}}},
        {"required": ["rating"], "properties": {"rating": {"type": "integer"}}},
    ]


class FeedbackRequest(Request):
    """Feedback on a conversation or one answer: ``helpful``, ``rating`` or both."""

    model_config = ConfigDict(json_schema_extra=_state_helpful_or_rating)

    helpful: bool | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    comment: Annotated[str, StringConstraints(max_length=4000)] | None = None
    message_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None

    @model_validator(mode="after")
    def _helpful_or_rating(self) -> FeedbackRequest:
        if self.helpful is None and self.rating is None:
            raise ValueError("give at least one of helpful or rating")
        return self

    @property
    def negative(self) -> bool:
        return self.helpful is False or (self.rating is not None and self.rating <= 2)


class FeedbackResponse(BaseModel):
    feedback_id: int
    conversation_id: int
    message_id: int | None
    helpful: bool | None
    rating: int | None
    training_candidate_id: int | None
    updated: bool


# -- disclosure -------------------------------------------------------------------------------


class DisclosureStatus(BaseModel):
    accepted: bool
    accepted_version: str | None
    current_version: str
    accepted_at: datetime | None
    required: bool
    text: str = Field(
        description="The current disclosure to show before the first turn "
        "(SUPPORTAI_DISCLOSURE_TEXT, plain text)."
    )
    url: str | None = Field(
        default=None,
        description="Link to the full disclosure or policy page (SUPPORTAI_DISCLOSURE_URL).",
    )


class AcceptDisclosureRequest(Request):
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]


# -- cases ---------------------------------------------------------------------------------------


class CaseStatus(StrEnum):
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"


class CasePriority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class CreateCaseRequest(Request):
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    priority: CasePriority = CasePriority.normal
    conversation_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class CaseCommentRequest(Request):
    body: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class CaseCommentOut(BaseModel):
    comment_id: int
    author_role: Literal["user", "agent"]
    body: str
    created_at: datetime


class CaseSummary(BaseModel):
    case_id: int
    subject: str
    priority: CasePriority
    status: CaseStatus
    conversation_id: int | None
    created_at: datetime
    updated_at: datetime


class CaseDetail(CaseSummary):
    description: str
    comments: list[CaseCommentOut]


class CaseList(BaseModel):
    items: list[CaseSummary]


# -- quota ------------------------------------------------------------------------


class QuotaBucketOut(BaseModel):
    limit: int
    used: int
    reserved: int
    remaining: int
    resets_at: datetime


class QuotaStatusResponse(BaseModel):
    """Turns are counted per rate window; cost is in micro-dollars."""

    user_turns: QuotaBucketOut
    tenant_turns: QuotaBucketOut
    user_cost_micros: QuotaBucketOut
    tenant_cost_micros: QuotaBucketOut
    window_s: int
    turn_reservation_micros: int = Field(
        description="The most one turn can reserve against the cost buckets (a message of "
        "SUPPORTAI_MAX_MESSAGE_CHARS, every tool round at full history and output); 0 when "
        "turns cost nothing or no backend is configured. A cost bucket's remaining "
        "divided by it is a lower bound on the turns that bucket still admits."
    )
