"""The analytics reports as SQL aggregates: one tenant, one time range, counted in the database.

Every figure is a ``GROUP BY``/``count``/``sum`` over one tenant's rows of the
range (the ``(tenant_id, created_at)`` indexes of revision 0005), so a report
reads that tenant's rows of that range, never the table, and no row is fetched
into Python to be counted. The definitions are in docs/analytics.md;
each function's docstring names the figure it computes.

Days are UTC calendar days, grouped as a day number (days since 1970-01-01:
PostgreSQL from the epoch seconds, SQLite from ``julianday`` of the stored UTC
text), so the two engines give identical reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from databases.core import Connection

from supportai.store import tables

C = tables.conversations
M = tables.messages
F = tables.feedback
K = tables.cases
IC = tables.intent_classifications
U = tables.usage

EPOCH = datetime(1970, 1, 1, tzinfo=UTC).date()
#: The percentiles of the time to first delta, as fractions.
PERCENTILES = (0.5, 0.9, 0.99)
#: A rating at or below this is negative feedback; at or above ``SATISFIED`` counts for CSAT.
NEGATIVE_RATING = 2
SATISFIED_RATING = 4


@dataclass(frozen=True, slots=True)
class Range:
    """One tenant's report window: ``[start, end)`` in UTC, and the engine that answers."""

    tenant_id: str
    start: datetime
    end: datetime
    is_sqlite: bool


def day_of(column: Any, is_sqlite: bool) -> Any:
    """The UTC calendar day of a timestamp column, as days since 1970-01-01 on both engines.

    Arithmetic, not ``to_char``/``date()`` text: no string is formatted per row.
    """
    if is_sqlite:
        return sa.cast(sa.func.julianday(column) - 2440587.5, sa.Integer)
    # date_part is double precision; EXTRACT is numeric, which took twice as long per row
    seconds = sa.func.date_part("epoch", column, type_=sa.Float)
    return sa.cast(sa.func.floor(seconds / 86400.0), sa.Integer)


def date_of(day_number: Any) -> date:
    return EPOCH + timedelta(days=int(day_number))


def at_most_seconds_after(moment: Any, reference: Any, seconds: int, is_sqlite: bool) -> Any:
    """``moment <= reference + seconds``, in each engine's own date arithmetic."""
    if is_sqlite:
        return sa.func.julianday(moment) <= sa.func.julianday(reference) + seconds / 86400.0
    interval = sa.literal_column(f"interval '{int(seconds)} seconds'", sa.Interval())
    return moment <= reference + interval


def negative_feedback() -> Any:
    """A thumbs-down, or a rating of ``NEGATIVE_RATING`` or less."""
    return sa.or_(F.c.helpful.is_(False), F.c.rating <= NEGATIVE_RATING)


def positive_feedback() -> Any:
    """A thumbs-up, or a rating of ``SATISFIED_RATING`` or more: :func:`negative_feedback`'s
    mirror."""
    return sa.or_(F.c.helpful.is_(True), F.c.rating >= SATISFIED_RATING)


def _answer_feedback(window: Range, condition: Any) -> Any:
    """Feedback of the tenant on the answer ``M`` that meets ``condition``.

    Through the conversation's feedback (indexed), not a scan for the message id.
    """
    return (
        sa.exists()
        .where(
            F.c.tenant_id == window.tenant_id,
            F.c.conversation_id == M.c.conversation_id,
            F.c.message_id == M.c.id,
            condition,
        )
        .correlate(M)
    )


def _in_range(column: Any, window: Range) -> Any:
    return sa.and_(column >= window.start, column < window.end)


def _int(value: Any) -> int:
    return int(value or 0)


# -- conversations and resolution --------------------------------------------------------


async def conversations(
    conn: Connection, window: Range, *, now: datetime, resolution_window_s: int
) -> dict[str, int]:
    """Conversations started in the range, split into pending, resolved and unresolved.

    A conversation *ends* when its last message (``updated_at``) is more than the
    resolution window old; until then it is *pending*. An ended conversation is
    *unresolved* when it was escalated, got a case, or got negative feedback no
    later than its end (last message + window); otherwise *resolved*.
    """
    w = resolution_window_s
    sqlite = window.is_sqlite
    ended = C.c.updated_at <= now - timedelta(seconds=w)
    escalated = sa.and_(
        C.c.escalated_at.is_not(None),
        at_most_seconds_after(C.c.escalated_at, C.c.updated_at, w, sqlite),
    )
    cased = sa.exists().where(
        K.c.conversation_id == C.c.id,
        at_most_seconds_after(K.c.created_at, C.c.updated_at, w, sqlite),
    )
    disliked = sa.exists().where(
        F.c.conversation_id == C.c.id,
        negative_feedback(),
        at_most_seconds_after(F.c.created_at, C.c.updated_at, w, sqlite),
    )
    unresolved = sa.and_(ended, sa.or_(escalated, cased, disliked))
    query = sa.select(
        sa.func.count().label("started"),
        sa.func.count().filter(sa.not_(ended)).label("pending"),
        sa.func.count().filter(unresolved).label("unresolved"),
    ).where(C.c.tenant_id == window.tenant_id, _in_range(C.c.created_at, window))
    row = await conn.fetch_one(query)
    assert row is not None
    started, pending, unresolved_n = (
        _int(row["started"]),
        _int(row["pending"]),
        _int(row["unresolved"]),
    )
    return {
        "started": started,
        "pending": pending,
        "ended": started - pending,
        "resolved": started - pending - unresolved_n,
        "unresolved": unresolved_n,
    }


async def escalations_by_reason(conn: Connection, window: Range) -> dict[str, int]:
    """Conversations started in the range that were escalated, counted per reason."""
    reason = sa.func.coalesce(C.c.escalation_reason, "unspecified")
    query = (
        sa.select(reason.label("reason"), sa.func.count().label("n"))
        .where(
            C.c.tenant_id == window.tenant_id,
            _in_range(C.c.created_at, window),
            C.c.escalated_at.is_not(None),
        )
        .group_by(reason)
    )
    return {str(r["reason"]): _int(r["n"]) for r in await conn.fetch_all(query)}


# -- turns, answers, refusals --------------------------------------------------------------


async def messages_by_day(conn: Connection, window: Range) -> dict[date, dict[str, int]]:
    """Per UTC day, in one pass over the range's messages: turns (user messages, refused
    or answered), answers (assistant messages) and answers that were the not-found fallback.
    """
    day = day_of(M.c.created_at, window.is_sqlite)
    query = (
        sa.select(
            day.label("day"),
            sa.func.count().filter(M.c.role == "user").label("turns"),
            sa.func.count().filter(M.c.role == "assistant").label("answers"),
            sa.func.count().filter(M.c.not_found.is_(True)).label("not_found"),
        )
        .where(M.c.tenant_id == window.tenant_id, _in_range(M.c.created_at, window))
        .group_by(day)
    )
    return {
        date_of(r["day"]): {
            "turns": _int(r["turns"]),
            "answers": _int(r["answers"]),
            "not_found": _int(r["not_found"]),
        }
        for r in await conn.fetch_all(query)
    }


async def refusals_by_intent(conn: Connection, window: Range) -> dict[str, int]:
    """Turns of the range refused for their intent, per intent.

    Read from the classifications (saved with the user message, at its time) through
    the partial index on refused ones: a few rows, not every turn of the range.
    """
    query = (
        sa.select(IC.c.intent, sa.func.count().label("n"))
        .where(
            IC.c.tenant_id == window.tenant_id,
            IC.c.refused.is_(True),
            _in_range(IC.c.created_at, window),
        )
        .group_by(IC.c.intent)
    )
    return {str(r["intent"]): _int(r["n"]) for r in await conn.fetch_all(query)}


# -- satisfaction -----------------------------------------------------------------------------


async def ratings(conn: Connection, window: Range) -> dict[int, int]:
    """Feedback given in the range with a rating, counted per rating (1-5)."""
    query = (
        sa.select(F.c.rating, sa.func.count().label("n"))
        .where(
            F.c.tenant_id == window.tenant_id,
            _in_range(F.c.created_at, window),
            F.c.rating.is_not(None),
        )
        .group_by(F.c.rating)
    )
    return {int(r["rating"]): _int(r["n"]) for r in await conn.fetch_all(query)}


# -- cost ------------------------------------------------------------------------------------


async def cost_by_day(conn: Connection, window: Range) -> dict[date, int]:
    """Spend in micro-dollars per UTC day, from the usage ledger (what quota charged)."""
    day = day_of(U.c.created_at, window.is_sqlite)
    query = (
        sa.select(day.label("day"), sa.func.sum(U.c.cost_micros).label("cost"))
        .where(U.c.tenant_id == window.tenant_id, _in_range(U.c.created_at, window))
        .group_by(day)
    )
    return {date_of(r["day"]): _int(r["cost"]) for r in await conn.fetch_all(query)}


# -- time to first delta -----------------------------------------------------------------------


def _timed_answers(window: Range) -> Any:
    return sa.and_(
        M.c.tenant_id == window.tenant_id,
        _in_range(M.c.created_at, window),
        M.c.role == "assistant",
        M.c.first_delta_ms.is_not(None),
    )


async def first_delta_percentiles(conn: Connection, window: Range) -> dict[float, float] | None:
    """p50/p90/p99 of the time to first delta, interpolated linearly (``percentile_cont``).

    PostgreSQL computes them itself. SQLite has no percentile function: one query
    numbers the timed answers in order (``row_number()`` and ``count()`` windows)
    and returns the two values around each rank ``p * (n - 1)``, which are then
    interpolated: exactly ``percentile_cont``'s definition, so both engines give
    the same figure. ``None`` when no answer of the range sent text.
    """
    if not window.is_sqlite:
        query = sa.select(
            *(
                sa.func.percentile_cont(p).within_group(M.c.first_delta_ms).label(f"p{i}")
                for i, p in enumerate(PERCENTILES)
            )
        ).where(_timed_answers(window))
        row = await conn.fetch_one(query)
        if row is None or row["p0"] is None:
            return None
        return {p: float(row[f"p{i}"]) for i, p in enumerate(PERCENTILES)}
    return await _sqlite_percentiles(conn, window)


async def _sqlite_percentiles(conn: Connection, window: Range) -> dict[float, float] | None:
    """One sort: number the timed answers, keep the two rows around each rank, interpolate.

    ``CAST(p * (n - 1) AS INTEGER)`` is the floor of the rank (it is never negative),
    so SQLite needs no math functions.
    """
    ranked = (
        sa.select(
            M.c.first_delta_ms.label("value"),
            (sa.func.row_number().over(order_by=M.c.first_delta_ms) - 1).label("position"),
            sa.func.count().over().label("n"),
        )
        .where(_timed_answers(window))
        .subquery()
    )
    wanted = []
    for p in PERCENTILES:
        floor_rank = sa.cast(p * (ranked.c.n - 1), sa.Integer)
        wanted.extend([floor_rank, floor_rank + 1])
    rows = await conn.fetch_all(
        sa.select(ranked.c.position, ranked.c.value, ranked.c.n).where(
            ranked.c.position.in_(wanted)
        )
    )
    if not rows:
        return None
    n = int(rows[0]["n"])
    values = {int(r["position"]): float(r["value"]) for r in rows}
    result = {}
    for p in PERCENTILES:
        rank = p * (n - 1)
        low = math.floor(rank)
        upper = values.get(low + 1, values[low])
        result[p] = values[low] + (upper - values[low]) * (rank - low)
    return result


# -- unanswered questions ----------------------------------------------------------------------


def _answers_to_questions(window: Range, question: Any) -> tuple[Any, list[Any]]:
    """The range's answers joined to the user message each replies to (``question``, an
    alias of the messages table), both in the window's tenant: the FROM and the WHERE
    clauses every "questions and how they were answered" query starts from."""
    joined = M.join(question, question.c.id == M.c.reply_to_id)
    return joined, [
        M.c.tenant_id == window.tenant_id,
        _in_range(M.c.created_at, window),
        M.c.role == "assistant",
        question.c.tenant_id == window.tenant_id,
    ]


async def unanswered_questions(conn: Connection, window: Range, limit: int) -> list[dict[str, Any]]:
    """The newest questions of the range whose answer was not-found or got negative feedback.

    One row per question (the user message an answer replies to): its id, text and
    time, and which of the two signals it has. Newest first, at most ``limit``.
    """
    Q = M.alias("question")
    disliked = _answer_feedback(window, negative_feedback())
    joined, answered = _answers_to_questions(window, Q)
    query = (
        sa.select(
            Q.c.id,
            Q.c.content,
            Q.c.created_at,
            M.c.not_found,
            disliked.label("disliked"),
        )
        .select_from(joined)
        .where(*answered, sa.or_(M.c.not_found.is_(True), disliked))
        .order_by(M.c.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": int(r["id"]),
            "content": str(r["content"]),
            "created_at": r["created_at"],
            "not_found": bool(r["not_found"]),
            "disliked": bool(r["disliked"]),
        }
        for r in await conn.fetch_all(query)
    ]


# -- the questions an article answered ---------------------------------------------------------


def first_cited(citations: Any, is_sqlite: bool) -> Any:
    """The ``source_id`` of the first citation of a ``citations`` column (JSON text), or NULL.

    Each engine's own JSON function (the column is text on both): no citation list is
    fetched into Python to find the articles an answer cited.
    """
    if is_sqlite:
        return sa.func.json_extract(citations, "$[0].source_id")
    return sa.func.json_extract_path_text(sa.cast(citations, sa.JSON), "0", "source_id")


async def questions_answered(
    conn: Connection, window: Range, limit: int, slug: str | None = None
) -> list[dict[str, Any]]:
    """The newest questions of the range that an article answered: ``slug``, or any.

    An answer of the range counts when it completed, cites an article first (``slug``
    when given), was not the not-found fallback and got no negative feedback. One row
    per question (the user message the answer replies to): its id, text and time, the
    slug its answer cited first, and whether the answer got positive feedback. Newest
    answers first, at most ``limit``: a page listing every article's questions reads
    them with one query rather than one an article.
    """
    Q = M.alias("question")
    cited = first_cited(M.c.citations, window.is_sqlite)
    joined, answered = _answers_to_questions(window, Q)
    query = (
        sa.select(
            Q.c.id,
            Q.c.content,
            Q.c.created_at,
            cited.label("slug"),
            _answer_feedback(window, positive_feedback()).label("rated_up"),
        )
        .select_from(joined)
        .where(
            *answered,
            M.c.status == "complete",
            M.c.not_found.is_(False),
            cited.is_not(None) if slug is None else cited == slug,
            sa.not_(_answer_feedback(window, negative_feedback())),
            Q.c.role == "user",
        )
        .order_by(M.c.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": int(r["id"]),
            "content": str(r["content"]),
            "created_at": r["created_at"],
            "slug": str(r["slug"]),
            "rated_up": bool(r["rated_up"]),
        }
        for r in await conn.fetch_all(query)
    ]
