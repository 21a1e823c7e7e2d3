"""Response bodies of ``/admin/analytics`` (definitions in docs/analytics.md)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class Period(BaseModel):
    """The report's range: whole UTC days, both ends included."""

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    days: int

    model_config = {"populate_by_name": True}


class Resolution(BaseModel):
    """Conversations started in the range, by outcome."""

    window_s: int = Field(description="SUPPORTAI_ANALYTICS_RESOLUTION_WINDOW_S.")
    pending: int = Field(description="Last message less than window_s ago: not counted yet.")
    ended: int
    resolved: int
    unresolved: int
    rate: float | None = Field(description="resolved / ended; null when none ended.")


class Escalations(BaseModel):
    total: int
    rate: float | None = Field(description="Escalated / conversations started; null when none.")
    by_reason: dict[str, int]


class Satisfaction(BaseModel):
    """CSAT from the 1-5 ratings given in the range."""

    ratings: int
    csat: float | None = Field(description="Share of ratings of 4 or 5; null without ratings.")
    average: float | None
    distribution: dict[str, int] = Field(description="Count per rating, '1' to '5'.")


class Refusals(BaseModel):
    total: int
    rate: float | None = Field(description="Refused turns / turns; null without turns.")
    by_intent: dict[str, int]


class NotFound(BaseModel):
    answers: int
    not_found: int
    rate: float | None = Field(description="not_found / answers; null without answers.")


class FirstDelta(BaseModel):
    """Time from the turn's request to its first answer text, in ms (percentile_cont)."""

    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None


class Day(BaseModel):
    day: date
    turns: int
    cost_micros: int


class Summary(BaseModel):
    period: Period
    conversations: int
    turns: int
    resolution: Resolution
    escalations: Escalations
    satisfaction: Satisfaction
    refusals: Refusals
    not_found: NotFound
    first_delta: FirstDelta
    cost_micros: int
    days: list[Day] = Field(description="Every day of the range, oldest first, zeros included.")


class UnansweredGroup(BaseModel):
    group_id: int = Field(description="The id of the group's first question; stable per range.")
    size: int
    not_found: int = Field(description="Questions of the group answered with the fallback.")
    disliked: int = Field(description="Questions of the group whose answer got negative feedback.")
    examples: list[str] = Field(description="Up to five distinct questions, PII-redacted.")
    last_asked_at: datetime


class UnansweredList(BaseModel):
    period: Period
    questions: int = Field(description="Unanswered questions of the range that were grouped.")
    grouped_by: str = Field(description="The embedder model, or 'text' (identical questions).")
    groups: list[UnansweredGroup]


class QuestionSuggestion(BaseModel):
    """A question a reader asked that the article answered: a candidate past question."""

    message_id: int = Field(description="The user message that asked it.")
    question: str = Field(description="PII-redacted, on one line: as PATCH would store it.")
    asked_at: datetime
    rated_up: bool = Field(description="The answer got a thumbs-up or a rating of 4 or 5.")


class QuestionSuggestions(BaseModel):
    """Questions the article answered in the period, for its ``questions`` (PATCH the article)."""

    article_id: int
    slug: str
    period: Period
    items: list[QuestionSuggestion] = Field(
        description="Rated-up first, then newest first; none the article already has."
    )
