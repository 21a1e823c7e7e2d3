"""The analytics API (``/admin/analytics``): resolution figures, unanswered questions, and
the questions an article answered.

Same rules as every admin endpoint (``routes/admin.py``): role
``support_ai_admin``, the admin's own tenant only. Every figure is computed
in SQL for the caller's tenant; another tenant's group id or article id is a 404
because it is looked up among the caller's own questions or articles. The range is whole
UTC days, ``from`` and ``to`` included; a reversed or too long range is a 422
naming the parameter. Definitions: docs/analytics.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BeforeValidator

from supportai.analytics import report, schemas, suggestions, unanswered
from supportai.caller import Caller
from supportai.errors import Reason, SupportAIError, not_found
from supportai.knowledge import changes, queries
from supportai.knowledge import schemas as article_schemas
from supportai.routes.deps import MAX_ID, AdminDep, ConnectionDep, RuntimeDep
from supportai.runtime import Runtime
from supportai.schemas import DegradedResponse
from supportai.store.analytics import Range
from supportai.store.conversations import now

router = APIRouter(
    prefix="/admin/analytics",
    tags=["admin"],
    responses={
        403: {"model": DegradedResponse, "description": "forbidden: not a support_ai_admin"},
    },
)

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """Only ``YYYY-MM-DD``: pydantic alone also reads ``0`` or ``1700000000`` as a Unix time."""
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a UTC day as YYYY-MM-DD")
    return value


From = Annotated[
    date | None,
    BeforeValidator(_iso_day),
    Query(alias="from", description="First UTC day (YYYY-MM-DD); default: 29 days before to."),
]
To = Annotated[
    date | None,
    BeforeValidator(_iso_day),
    Query(description="Last UTC day, included (YYYY-MM-DD); default: today."),
]


def _range(
    runtime: Runtime, admin: Caller, start: date | None, end: date | None
) -> tuple[schemas.Period, Range]:
    """The checked period (a 422 if bad) and the admin's tenant window over it."""
    period = report.period_of(
        start, end, today=now().date(), max_days=runtime.settings.analytics_max_range_days
    )
    return period, report.window_of(period, admin.tenant_id, runtime.database.is_sqlite)


@router.get("/summary", summary="Analytics Summary", response_model=schemas.Summary)
async def analytics_summary(
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    start: From = None,
    to: To = None,
) -> schemas.Summary:
    """Conversations, turns, resolution, escalations, CSAT, refusals, not-found, cost, latency."""
    period, window = _range(runtime, admin, start, to)
    return await report.summary(
        conn,
        period,
        window,
        now=now(),
        resolution_window_s=runtime.settings.analytics_resolution_window_s,
    )


@router.get("/unanswered", summary="Unanswered Questions", response_model=schemas.UnansweredList)
async def unanswered_questions(
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    start: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Groups returned.")] = 20,
) -> schemas.UnansweredList:
    """Questions answered "not found" or rated down, grouped by meaning, largest groups first."""
    period, window = _range(runtime, admin, start, to)
    grouping = await unanswered.top_groups(runtime, conn, window)
    groups = [
        await unanswered.group_out(runtime, admin.tenant_id, group)
        for group in grouping.groups[:limit]
    ]
    return schemas.UnansweredList(
        period=period, questions=grouping.questions, grouped_by=grouping.grouped_by, groups=groups
    )


@router.post(
    "/unanswered/{group_id}/draft",
    summary="Draft Article From Unanswered Group",
    response_model=article_schemas.ArticleOut,
    responses={
        404: {"model": DegradedResponse},
        409: {"model": DegradedResponse, "description": "slug_taken: the group has a draft"},
    },
)
async def draft_from_group(
    group_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    start: From = None,
    to: To = None,
) -> article_schemas.ArticleOut:
    """A new unpublished article prefilled from the group (the same range as the list).

    Its slug is ``unanswered-<group_id>``: a group already drafted is a 409
    ``slug_taken``. The article's creation and an ``analytics.draft_created``
    event are audited.
    """
    _, window = _range(runtime, admin, start, to)
    group = await unanswered.find_group(runtime, conn, window, group_id)
    if group is None:
        raise not_found("unanswered question group")
    try:
        article = await unanswered.create_draft(runtime, conn, admin, group)
    except changes.SlugTaken as exc:
        raise SupportAIError(Reason.slug_taken, str(exc)) from exc
    return article_schemas.article_out(article)


@router.get(
    "/articles/{article_id}/question-suggestions",
    summary="Suggest Article Questions",
    response_model=schemas.QuestionSuggestions,
    responses={404: {"model": DegradedResponse, "description": "not_found: no such article"}},
)
async def question_suggestions(
    article_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    start: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=50, description="Questions returned.")] = 20,
) -> schemas.QuestionSuggestions:
    """Questions readers asked in the range that this article answered: past questions to add.

    A question counts when its answer cited the article first, completed, was not the
    not-found fallback and got no negative feedback. Questions are PII-redacted; empty
    or too long ones (over 300 characters), repeats and those the article already has
    are left out. Rated-up answers first, then newest first. At most the newest
    ``SUPPORTAI_ANALYTICS_UNANSWERED_SCAN`` such answers of the range are read.

    Nothing is written: add the ones you want to the article's ``questions`` with
    ``PATCH /admin/articles/{article_id}``, sending its current questions plus those
    (the list replaces the old one). Retrieval then uses them to choose the first
    article (decision 0032).
    """
    period, window = _range(runtime, admin, start, to)
    article = await queries.get(conn, admin.tenant_id, article_id)
    if article is None:
        raise not_found("article")
    items = await suggestions.suggest(runtime, conn, window, article, limit)
    return schemas.QuestionSuggestions(
        article_id=article.id, slug=article.slug, period=period, items=items
    )
