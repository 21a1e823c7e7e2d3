"""The summary report: the SQL aggregates of one range, turned into rates.

Rates are ``None`` (JSON ``null``) when their denominator is zero: "no data" is
not "0 %". Every rate is rounded to four decimals, percentiles to a tenth of a ms.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from databases.core import Connection
from fastapi.exceptions import RequestValidationError

from supportai.analytics import schemas
from supportai.store import analytics as sql

#: The range when the request names none: the last 30 days, today included.
DEFAULT_DAYS = 30


#: Days a report may name: no data predates 1970, and the window's end (the day after
#: ``to``) must still be a date (``?to=9999-12-31`` was an OverflowError, a 500).
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9999, 12, 30)


def _invalid(name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", name), "msg": message, "type": "value_error"}])


def period_of(
    start: date | None, end: date | None, *, today: date, max_days: int
) -> schemas.Period:
    """The requested range, checked: ``from`` not after ``to``, at most ``max_days`` days.

    A missing ``to`` is today; a missing ``from`` is 30 days before ``to``. A bad
    range is a 422 naming the parameter (FastAPI already refused a bad date).
    """
    for name, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise _invalid(name, f"{day} is outside {EARLIEST_DAY}..{LATEST_DAY}")
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise _invalid("from", f"from ({start}) is after to ({end})")
    days = (end - start).days + 1
    if days > max_days:
        raise _invalid(
            "to",
            f"the range is {days} days; at most {max_days} (SUPPORTAI_ANALYTICS_MAX_RANGE_DAYS)",
        )
    return schemas.Period(from_=start, to=end, days=days)


def window_of(period: schemas.Period, tenant_id: str, is_sqlite: bool) -> sql.Range:
    start = datetime.combine(period.from_, time(), UTC)
    end = datetime.combine(period.to + timedelta(days=1), time(), UTC)
    return sql.Range(tenant_id, start, end, is_sqlite)


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def summary(
    conn: Connection,
    period: schemas.Period,
    window: sql.Range,
    *,
    now: datetime,
    resolution_window_s: int,
) -> schemas.Summary:
    """Every figure of docs/analytics.md for one tenant and range."""
    outcome = await sql.conversations(
        conn, window, now=now, resolution_window_s=resolution_window_s
    )
    escalated = await sql.escalations_by_reason(conn, window)
    by_day = await sql.messages_by_day(conn, window)
    refused = await sql.refusals_by_intent(conn, window)
    ratings = await sql.ratings(conn, window)
    costs = await sql.cost_by_day(conn, window)
    percentiles = await sql.first_delta_percentiles(conn, window)

    started = outcome["started"]
    turn_count = sum(d["turns"] for d in by_day.values())
    answers = {k: sum(d[k] for d in by_day.values()) for k in ("answers", "not_found")}
    rated = sum(ratings.values())
    satisfied = sum(n for rating, n in ratings.items() if rating >= sql.SATISFIED_RATING)
    days = [period.from_ + timedelta(days=i) for i in range(period.days)]
    return schemas.Summary(
        period=period,
        conversations=started,
        turns=turn_count,
        resolution=schemas.Resolution(
            window_s=resolution_window_s,
            pending=outcome["pending"],
            ended=outcome["ended"],
            resolved=outcome["resolved"],
            unresolved=outcome["unresolved"],
            rate=ratio(outcome["resolved"], outcome["ended"]),
        ),
        escalations=schemas.Escalations(
            total=sum(escalated.values()),
            rate=ratio(sum(escalated.values()), started),
            by_reason=dict(sorted(escalated.items())),
        ),
        satisfaction=schemas.Satisfaction(
            ratings=rated,
            csat=ratio(satisfied, rated),
            average=round(sum(r * n for r, n in ratings.items()) / rated, 4) if rated else None,
            distribution={str(r): ratings.get(r, 0) for r in range(1, 6)},
        ),
        refusals=schemas.Refusals(
            total=sum(refused.values()),
            rate=ratio(sum(refused.values()), turn_count),
            by_intent=dict(sorted(refused.items())),
        ),
        not_found=schemas.NotFound(
            answers=answers["answers"],
            not_found=answers["not_found"],
            rate=ratio(answers["not_found"], answers["answers"]),
        ),
        first_delta=schemas.FirstDelta(
            **{
                f"p{round(p * 100)}_ms": (round(percentiles[p], 1) if percentiles else None)
                for p in sql.PERCENTILES
            }
        ),
        cost_micros=sum(costs.values()),
        days=[
            schemas.Day(day=d, turns=by_day.get(d, {}).get("turns", 0), cost_micros=costs.get(d, 0))
            for d in days
        ],
    )
