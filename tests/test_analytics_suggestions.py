"""An article's question suggestions: the questions its answers answered, on SQLite and PostgreSQL.

The rows are written straight into the tables, as in ``test_analytics`` (its seeder,
the same fixed January 2026 range). Tenant ``t1``'s article ``export-invoices`` is
cited by answers of every kind, and only the found, completed, not rated down ones
whose first citation it is may be suggested. Tenant ``t2`` has an article with the
same slug and a conversation citing it: none of it may reach ``t1``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_analytics import BAD_RANGES, RANGE, Seeder, at

from supportai.analytics.schemas import QuestionSuggestion
from supportai.analytics.suggestions import new_questions, suggest, suggest_each
from supportai.knowledge import queries
from supportai.knowledge.articles import MAX_QUESTION_CHARS
from supportai.store.analytics import Range
from supportai.testing import as_admin, as_user

SLUG = "export-invoices"
KNOWN = "How do I export my invoices?"
LONG = "Why " + "really " * 60 + "does the export fail?"
T2_ONLY = "Tenant2only"
PATH = "/admin/analytics/articles/{}/question-suggestions"


async def cited_answer(
    s: Seeder,
    conversation: int,
    question: int,
    when: datetime,
    cites: tuple[str, ...] = (SLUG,),
    *,
    not_found: bool = False,
    status: str = "complete",
) -> int:
    """An answer stored as the turn stores one: its citations in the order they were sent."""
    return await s.answer(
        conversation,
        question,
        when,
        first_delta_ms=None,
        not_found=not_found,
        status=status,
        citations=[{"source_id": c, "title": c, "url": None, "at": 0} for c in cites],
    )


async def asked(
    s: Seeder,
    when: datetime,
    text: str,
    cites: tuple[str, ...] = (SLUG,),
    *,
    not_found: bool = False,
    status: str = "complete",
    helpful: bool | None = None,
    rating: int | None = None,
) -> int:
    """One conversation with one question and its cited answer (and feedback on it)."""
    conversation = await s.conversation(when, when)
    question = await s.question(conversation, when, text)
    answer = await cited_answer(
        s, conversation, question, when, cites, not_found=not_found, status=status
    )
    if helpful is not None or rating is not None:
        await s.feedback(conversation, when, message=answer, helpful=helpful, rating=rating)
    return question


async def seed_t1(s: Seeder) -> dict[str, int]:
    ids = {
        # suggested: cited first (another article second), no feedback; redacted
        "mail": await asked(
            s, at(10, 9), "Can I download my invoices? Mail me at jane@example.com", (SLUG, "b")
        ),
        # suggested and rated up: a rating of 5, a thumbs-up
        "rated": await asked(s, at(10, 10), "Where are  old invoices kept?", rating=5),
        "thumb": await asked(s, at(11, 9), "Invoice as a PDF?", helpful=True),
        # the same question twice: the newer one is the suggestion
        "dup_old": await asked(s, at(11, 10), "Export invoices to CSV"),
        "dup_new": await asked(s, at(12, 8), "  export INVOICES to csv\n"),
    }
    # left out: not found, rated down (thumbs, a rating of 2), another article cited
    # first, an interrupted answer, the article's own question, too long, blank, and
    # a question of the day before the range
    await asked(s, at(10, 11), "LEFTOUT not found", not_found=True)
    await asked(s, at(10, 12), "LEFTOUT thumbs down", helpful=False)
    await asked(s, at(10, 13), "LEFTOUT rated two", rating=2)
    await asked(s, at(10, 14), "LEFTOUT other first", ("b", SLUG))
    await asked(s, at(10, 15), "LEFTOUT interrupted", status="interrupted")
    await asked(s, at(10, 16), "LEFTOUT uncited", ())
    await asked(s, at(11, 11), "how do I   EXPORT my invoices?")
    await asked(s, at(11, 12), LONG)
    await asked(s, at(11, 13), " \n ")
    await asked(s, at(9, 23, 59), "LEFTOUT the day before")
    return ids


@pytest.fixture
async def seeded(supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]) -> Any:
    app = supportai_app()
    client = supportai_client(app)
    ids: dict[str, int] = {}
    for tenant in ("t1", "t2"):
        r = await client.post(
            "/admin/articles",
            json={
                "slug": SLUG,
                "title": "Export invoices",
                "body": "Billing.",
                "questions": [KNOWN],
            },
            headers=as_admin(tenant),
        )
        assert r.status_code == 200, r.text
        ids[f"{tenant}_article"] = r.json()["article_id"]
    async with app.state.supportai.database.connection() as conn:
        ids.update(await seed_t1(Seeder(conn, "t1")))
        # t2: its article of the same slug cited by a question that t1 must never see
        ids["t2"] = await asked(Seeder(conn, "t2"), at(11, 8), f"{T2_ONLY} how to export?")
    return client, ids


async def suggestions(
    client: Any, article_id: int, tenant: str = "t1", **params: Any
) -> dict[str, Any]:
    r = await client.get(
        PATH.format(article_id), params={**RANGE, **params}, headers=as_admin(tenant)
    )
    assert r.status_code == 200, r.text
    assert "LEFTOUT" not in r.text and "jane@" not in r.text
    if tenant != "t2":
        assert T2_ONLY not in r.text
    return dict(r.json())


async def test_an_articles_answered_questions_are_suggested(seeded: Any) -> None:
    client, ids = seeded
    body = await suggestions(client, ids["t1_article"])
    assert body["article_id"] == ids["t1_article"] and body["slug"] == SLUG
    assert body["period"] == {"from": "2026-01-10", "to": "2026-01-12", "days": 3}
    items = body["items"]
    # rated up first (newest first among them), then the others newest first
    assert [(i["message_id"], i["question"], i["rated_up"]) for i in items] == [
        (ids["thumb"], "Invoice as a PDF?", True),
        (ids["rated"], "Where are old invoices kept?", True),
        (ids["dup_new"], "export INVOICES to csv", False),
        (ids["mail"], "Can I download my invoices? Mail me at [email]", False),
    ]
    assert items[0]["asked_at"].startswith("2026-01-11T09:00:00")
    # the other tenant's article of the same slug: its own tenant's question only
    t2 = await suggestions(client, ids["t2_article"], "t2")
    assert [(i["message_id"], i["question"]) for i in t2["items"]] == [
        (ids["t2"], f"{T2_ONLY} how to export?")
    ]


async def test_the_newest_answers_are_the_ones_read(
    supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]
) -> None:
    """``SUPPORTAI_ANALYTICS_UNANSWERED_SCAN`` bounds the answers read, newest first."""
    app = supportai_app(analytics_unanswered_scan=10)
    client = supportai_client(app)
    r = await client.post(
        "/admin/articles",
        json={"slug": SLUG, "title": "Export invoices", "body": "Billing."},
        headers=as_admin("t1"),
    )
    article_id = r.json()["article_id"]
    async with app.state.supportai.database.connection() as conn:
        s = Seeder(conn, "t1")
        for n in range(12):
            await asked(s, at(10, 8) + timedelta(minutes=n), f"question {n}")
    items = (await suggestions(client, article_id, limit=50))["items"]
    assert [i["question"] for i in items] == [f"question {n}" for n in range(11, 1, -1)]


async def test_limit_and_range_are_checked(seeded: Any) -> None:
    client, ids = seeded
    two = await suggestions(client, ids["t1_article"], limit=2)
    assert [i["message_id"] for i in two["items"]] == [ids["thumb"], ids["rated"]]
    for limit in (0, 51, "x"):
        r = await client.get(
            PATH.format(ids["t1_article"]),
            params={**RANGE, "limit": limit},
            headers=as_admin("t1"),
        )
        assert r.status_code == 422, (limit, r.text)
        assert r.json()["detail"][0]["loc"] == ["query", "limit"]
    for params, field in BAD_RANGES:
        r = await client.get(PATH.format(ids["t1_article"]), params=params, headers=as_admin("t1"))
        assert r.status_code == 422, (params, r.text)
        assert r.json()["detail"][0]["loc"] == ["query", field], params
    # a question outside a narrower range is not read
    day = await suggestions(client, ids["t1_article"], **{"from": "2026-01-12", "to": "2026-01-12"})
    assert [i["message_id"] for i in day["items"]] == [ids["dup_new"]]


async def test_another_tenants_article_is_not_found(seeded: Any) -> None:
    client, ids = seeded
    for article_id, tenant in (
        (ids["t2_article"], "t1"),
        (ids["t1_article"], "t2"),
        (ids["t2_article"] + 1000, "t1"),
    ):
        r = await client.get(PATH.format(article_id), params=RANGE, headers=as_admin(tenant))
        assert r.status_code == 404, (article_id, tenant, r.text)
        assert r.json()["reason"] == "not_found"
    r = await client.get(PATH.format(ids["t1_article"]), headers=as_user("t1"))
    assert r.status_code == 403 and r.json()["reason"] == "forbidden"


async def test_a_suggestion_added_with_patch_is_suggested_no_more(seeded: Any) -> None:
    """The loop the endpoint closes: GET writes nothing, PATCH adds, the next GET omits it."""
    client, ids = seeded
    admin = as_admin("t1")
    article_id = ids["t1_article"]
    before = (await client.get(f"/admin/articles/{article_id}", headers=admin)).json()
    first = (await suggestions(client, article_id))["items"][0]["question"]
    unchanged = (await client.get(f"/admin/articles/{article_id}", headers=admin)).json()
    assert unchanged["revision"] == before["revision"]
    r = await client.patch(
        f"/admin/articles/{article_id}",
        json={"questions": [*before["questions"], first], "revision": before["revision"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["questions"] == [KNOWN, first]
    after = [i["question"] for i in (await suggestions(client, article_id))["items"]]
    assert first not in after and len(after) == 3


async def test_every_articles_suggestions_from_one_query_match_each_ones(
    supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]
) -> None:
    """``suggest_each`` (a page listing every article) gives what ``suggest`` gives for
    each article alone: the answers are grouped by the slug they cited first."""
    app = supportai_app()
    client = supportai_client(app)
    created = []
    for slug in (SLUG, "b", "never-cited"):
        r = await client.post(
            "/admin/articles",
            json={"slug": slug, "title": slug, "body": "Billing.", "questions": [KNOWN]},
            headers=as_admin("t1"),
        )
        assert r.status_code == 200, r.text
        created.append(r.json()["article_id"])
    runtime = app.state.supportai
    window = Range("t1", at(10, 0), at(13, 0), runtime.database.is_sqlite)
    async with runtime.database.connection() as conn:
        await seed_t1(Seeder(conn, "t1"))
        await asked(Seeder(conn, "t2"), at(11, 8), f"{T2_ONLY} how to export?")
        articles = [await queries.get(conn, "t1", article_id) for article_id in created]
        each = await suggest_each(runtime, conn, window, articles, 5)
        alone = [await suggest(runtime, conn, window, article, 5) for article in articles]
    assert each == alone
    assert [s.question for s in each[1]] == ["LEFTOUT other first"]  # "b" was cited first
    assert len(each[0]) == 4 and each[2] == []
    assert all(T2_ONLY not in s.question for found in each for s in found)


def suggestion(message_id: int, question: str) -> QuestionSuggestion:
    return QuestionSuggestion(
        message_id=message_id,
        question=question,
        asked_at=datetime(2026, 1, 10, tzinfo=UTC),
        rated_up=False,
    )


def test_what_an_article_could_not_take_is_left_out() -> None:
    """Exactly ``MAX_QUESTION_CHARS`` is a question; one more, or none, is not."""
    fits, too_long = "q" * MAX_QUESTION_CHARS, "q" * (MAX_QUESTION_CHARS + 1)
    given = [
        suggestion(6, fits),
        suggestion(5, too_long),
        suggestion(4, ""),
        suggestion(3, "Known ONE"),
        suggestion(2, "new one"),
        suggestion(1, "NEW ONE"),  # older spelling of 2: the newer is kept
    ]
    kept = new_questions(given, ["known one"])
    assert [s.message_id for s in kept] == [6, 2]
