"""The admin's Analytics page: supportai's figures and unanswered questions, rendered on the server.

The page calls supportai's analytics modules in-process, with the signed-in
admin's tenant (the same functions behind ``GET /admin/analytics/...``), and
draws the charts as SVG (``charts.py``): the page works with scripts off. The
"Draft an article" buttons are plain forms posting to this host, which creates
the draft through supportai and comes back here with a notice; so are the "Add to
the article" buttons of the past questions section (``past_questions.py``).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from host_app import charts, past_questions
from host_app.auth import LumenUser
from host_app.pages import ADMIN_PATH, _e, _user, admins_only, posted_form, render, template
from supportai.analytics import report, schemas, unanswered
from supportai.caller import Caller
from supportai.knowledge.changes import SlugTaken
from supportai.runtime import Runtime
from supportai.store.conversations import now

ANALYTICS_PATH = f"{ADMIN_PATH}/analytics"
DRAFT_PATH = f"{ANALYTICS_PATH}/draft"
QUESTIONS_PATH = f"{ANALYTICS_PATH}/questions"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.support.state.supportai
    return runtime


def _day(value: str | None) -> date | None:
    """A date from a form field; a bad one is a 422 like the API's."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("query", "date"), "msg": f"{value!r} is not a date (YYYY-MM-DD)"}]
        ) from exc


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _dollars(micros: float) -> str:
    return f"${micros / 1_000_000:,.2f}"


def _figure(label: str, value: str, note: str = "") -> str:
    small = f'<span class="small muted">{_e(note)}</span>' if note else ""
    return (
        f'<div class="figure"><span class="small muted">{_e(label)}</span>'
        f"<strong>{_e(value)}</strong>{small}</div>"
    )


def _figures(s: schemas.Summary) -> str:
    r = s.resolution
    return "".join(
        [
            _figure("Conversations", f"{s.conversations:,}", f"{s.turns:,} turns"),
            _figure(
                "Resolution rate",
                _percent(r.rate),
                f"{r.resolved} of {r.ended} ended; {r.pending} pending",
            ),
            _figure(
                "Escalation rate", _percent(s.escalations.rate), f"{s.escalations.total} escalated"
            ),
            _figure("CSAT", _percent(s.satisfaction.csat), f"{s.satisfaction.ratings} ratings"),
            _figure(
                "Not found",
                _percent(s.not_found.rate),
                f"{s.not_found.not_found} of {s.not_found.answers} answers",
            ),
            _figure("Refusals", _percent(s.refusals.rate), f"{s.refusals.total} refused"),
            _figure(
                "First delta p50 / p90 / p99",
                " / ".join(
                    _ms(v)
                    for v in (s.first_delta.p50_ms, s.first_delta.p90_ms, s.first_delta.p99_ms)
                ),
            ),
            _figure("Cost", _dollars(s.cost_micros)),
        ]
    )


def _charts(s: schemas.Summary) -> str:
    days = [d.day.isoformat() for d in s.days]
    costs = [d.cost_micros for d in s.days]
    return (
        '<div class="charts">'
        f'<figure class="card"><figcaption>Turns per day</figcaption>'
        f"{charts.day_bars('Turns per day', days, [d.turns for d in s.days])}</figure>"
        f'<figure class="card"><figcaption>Cost per day</figcaption>'
        f"{charts.day_bars('Cost per day', days, costs, fmt=_dollars)}</figure>"
        f'<figure class="card"><figcaption>Escalations by reason</figcaption>'
        f"{charts.category_bars('Escalations by reason', s.escalations.by_reason)}</figure>"
        f'<figure class="card"><figcaption>Refusals by intent</figcaption>'
        f"{charts.category_bars('Refusals by intent', s.refusals.by_intent)}</figure>"
        "</div>"
    )


def _group(group: schemas.UnansweredGroup, period: schemas.Period) -> str:
    examples = "".join(f"<li>{_e(x)}</li>" for x in group.examples)
    return (
        f'<li class="card group"><p><strong>{group.size} question(s)</strong> '
        f'<span class="small muted">{group.not_found} not found, {group.disliked} rated down, '
        f"last {_e(group.last_asked_at.date().isoformat())}</span></p>"
        f"<ul>{examples}</ul>"
        f'<form method="post" action="{DRAFT_PATH}">'
        f'<input type="hidden" name="group_id" value="{group.group_id}">'
        f'<input type="hidden" name="from" value="{period.from_.isoformat()}">'
        f'<input type="hidden" name="to" value="{period.to.isoformat()}">'
        '<button type="submit">Draft an article</button></form></li>'
    )


async def _groups(
    runtime: Runtime, tenant_id: str, window: Any
) -> tuple[list[schemas.UnansweredGroup], str]:
    async with runtime.database.connection() as conn:
        grouping = await unanswered.top_groups(runtime, conn, window)
    shown = [await unanswered.group_out(runtime, tenant_id, g) for g in grouping.groups[:20]]
    return shown, grouping.grouped_by


def _notice(request: Request) -> str:
    drafted = request.query_params.get("drafted")
    error = request.query_params.get("error")
    if drafted and drafted.isdigit():
        return (
            '<p class="notice" role="status">Draft article created (unpublished). '
            f'Edit and publish it under <a href="{ADMIN_PATH}">Admin · Help center</a>.</p>'
        )
    if error:
        return f'<p class="notice error" role="alert">{_e(error[:200])}</p>'
    return ""


async def analytics_page(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return RedirectResponse(f"/login?next={ANALYTICS_PATH}", status_code=303)
    if not user.is_admin:
        return admins_only(request)
    runtime = _runtime(request)
    try:
        period = report.period_of(
            _day(request.query_params.get("from")),
            _day(request.query_params.get("to")),
            today=now().date(),
            max_days=runtime.settings.analytics_max_range_days,
        )
    except RequestValidationError as exc:
        message = exc.errors()[0]["msg"]
        content = (
            f'<h1>Analytics</h1><p class="notice error" role="alert">{_e(message)}</p>'
            f'<p><a href="{ANALYTICS_PATH}">Last 30 days</a></p>'
        )
        return render(request, "admin", "Analytics", content, status_code=422)
    window = report.window_of(period, user.tenant_id, runtime.database.is_sqlite)
    async with runtime.database.connection() as conn:
        summary = await report.summary(
            conn,
            period,
            window,
            now=now(),
            resolution_window_s=runtime.settings.analytics_resolution_window_s,
        )
        suggested = await past_questions.suggested(runtime, conn, window)
        added = await past_questions.added_notice(conn, user.tenant_id, request.query_params)
    groups, grouped_by = await _groups(runtime, user.tenant_id, window)
    unanswered_html = (
        "".join(_group(g, period) for g in groups)
        if groups
        else '<li class="muted">No unanswered questions in this range.</li>'
    )
    content = template("analytics.html").substitute(
        start=_e(period.from_.isoformat()),
        end=_e(period.to.isoformat()),
        days=period.days,
        notice=_notice(request) + added,
        figures=_figures(summary),
        charts=_charts(summary),
        grouped_by=_e(grouped_by),
        groups=unanswered_html,
        past_questions=past_questions.section(suggested, period, QUESTIONS_PATH),
        admin=ADMIN_PATH,
    )
    return render(request, "admin", "Analytics", content)


async def draft(request: Request) -> Response:
    """Create the group's draft through supportai, then back to the page with a notice."""
    user = _user(request)
    if user is None or not user.is_admin:
        return Response("admins only", status_code=403)
    posted = await posted_form(request, max_fields=5)
    if posted is None:
        return _form_refused()
    form = {k: v[0] for k, v in posted.items()}
    back = _back(posted)
    runtime = _runtime(request)
    try:
        period = report.period_of(
            _day(form.get("from")),
            _day(form.get("to")),
            today=now().date(),
            max_days=runtime.settings.analytics_max_range_days,
        )
    except RequestValidationError:
        return RedirectResponse(
            f"{ANALYTICS_PATH}?{urlencode({'error': 'Bad date range.'})}", status_code=303
        )
    group_id = int(form["group_id"]) if form.get("group_id", "").isdigit() else 0
    window = report.window_of(period, user.tenant_id, runtime.database.is_sqlite)
    admin = _admin_caller(runtime, user)
    async with runtime.database.connection() as conn:
        group = await unanswered.find_group(runtime, conn, window, group_id)
        if group is None:
            outcome = {"error": "That group is no longer in this range."}
        else:
            try:
                article = await unanswered.create_draft(runtime, conn, admin, group)
                outcome = {"drafted": str(article.id)}
            except SlugTaken:
                outcome = {"error": "This group already has a draft article."}
    return RedirectResponse(f"{ANALYTICS_PATH}?{urlencode({**back, **outcome})}", status_code=303)


async def add_questions(request: Request) -> Response:
    """Add the chosen past questions to their article through supportai, then back to
    the page, same range, with a notice (``past_questions.add`` does the work)."""
    user = _user(request)
    if user is None:
        return RedirectResponse(f"/login?next={ANALYTICS_PATH}", status_code=303)
    if not user.is_admin:
        return Response("admins only", status_code=403)
    form = await posted_form(request, max_fields=past_questions.MAX_FORM_FIELDS)
    if form is None:
        return _form_refused()
    choice = past_questions.choice_of(form)
    if choice is None:
        outcome = {"error": "That form is not valid any more: reload the page and choose again."}
    else:
        runtime = _runtime(request)
        outcome = await past_questions.add(runtime, _admin_caller(runtime, user), choice)
    return RedirectResponse(
        f"{ANALYTICS_PATH}?{urlencode({**_back(form), **outcome})}", status_code=303
    )


def _form_refused() -> Response:
    """What a form :func:`~host_app.pages.posted_form` refuses gets."""
    return Response("form too large", status_code=413)


def _back(form: dict[str, list[str]]) -> dict[str, str]:
    """The page's range as the form carried it, for the redirect back to the same range."""
    return {k: form[k][0] for k in ("from", "to") if form.get(k)}


def _admin_caller(runtime: Runtime, user: LumenUser) -> Caller:
    """The signed-in admin as supportai's admin functions check callers: the admin role."""
    return Caller(user.tenant_id, user.identity, frozenset({runtime.settings.admin_role}))


routes = [
    Route(ANALYTICS_PATH, analytics_page, methods=["GET"]),
    Route(DRAFT_PATH, draft, methods=["POST"]),
    Route(QUESTIONS_PATH, add_questions, methods=["POST"]),
]
