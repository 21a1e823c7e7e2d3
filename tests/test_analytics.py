"""Every analytics figure against a small data set whose answers were worked out by hand.

The rows are written straight into the tables (fixed times in January 2026, so the
figures never depend on today), on SQLite and PostgreSQL. Tenant ``t2`` gets a row
for every figure; none of them may be counted for ``t1``. The expected numbers are
derived in the comments next to them, from docs/analytics.md's definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from supportai.analytics.unanswered import Group, draft_of, group_by_vectors
from supportai.hookspecs import hookimpl
from supportai.knowledge.articles import check_draft
from supportai.llm import BackendRequest, Finish, TextDelta, Usage
from supportai.store import tables
from supportai.testing import as_admin, as_user, backend_plugin

RANGE = {"from": "2026-01-10", "to": "2026-01-12"}
WINDOW_S = 3600
INVOICES = "How do I export my invoices?"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


class Seeder:
    """Inserts rows for one tenant; returns ids so later rows can point at them."""

    def __init__(self, conn: Any, tenant: str) -> None:
        self.conn, self.tenant = conn, tenant

    async def insert(self, table: sa.Table, **values: Any) -> int:
        row = await self.conn.fetch_one(
            table.insert().values(tenant_id=self.tenant, **values).returning(table.c.id)
        )
        return int(row["id"])

    async def conversation(
        self,
        created: datetime,
        updated: datetime,
        *,
        escalated: datetime | None = None,
        reason: str | None = None,
    ) -> int:
        return await self.insert(
            tables.conversations,
            user_id="u1",
            created_at=created,
            updated_at=updated,
            escalated_at=escalated,
            escalation_reason=reason,
            status="escalated" if escalated else "open",
        )

    async def question(
        self,
        conversation: int,
        when: datetime,
        content: str = "a question",
        *,
        intent: str = "faq",
        refused: bool = False,
    ) -> int:
        message = await self.insert(
            tables.messages,
            conversation_id=conversation,
            user_id="u1",
            role="user",
            content=content,
            status="refused" if refused else "complete",
            created_at=when,
        )
        await self.insert(
            tables.intent_classifications,
            message_id=message,
            intent=intent,
            confidence=0.9,
            refused=refused,
            classifier="keyword",
            created_at=when,
        )
        return message

    async def answer(
        self,
        conversation: int,
        question: int,
        when: datetime,
        *,
        first_delta_ms: float | None,
        not_found: bool = False,
        **columns: Any,
    ) -> int:
        """An answer to ``question``, a second after it (``columns``: any other of its
        columns, such as its status and citations)."""
        return await self.insert(
            tables.messages,
            conversation_id=conversation,
            user_id="u1",
            role="assistant",
            content="an answer",
            reply_to_id=question,
            first_delta_ms=first_delta_ms,
            not_found=not_found,
            created_at=when + timedelta(seconds=1),
            **columns,
        )

    async def feedback(
        self,
        conversation: int,
        when: datetime,
        *,
        message: int | None = None,
        helpful: bool | None = None,
        rating: int | None = None,
    ) -> None:
        await self.insert(
            tables.feedback,
            conversation_id=conversation,
            message_id=message,
            user_id="u1",
            helpful=helpful,
            rating=rating,
            created_at=when,
            updated_at=when,
        )

    async def case(self, conversation: int, when: datetime) -> None:
        await self.insert(
            tables.cases,
            user_id="u1",
            conversation_id=conversation,
            subject="s",
            description="d",
            priority="normal",
            created_at=when,
            updated_at=when,
        )

    async def usage(self, when: datetime, cost: int) -> None:
        await self.insert(
            tables.usage,
            user_id="u1",
            model="m",
            input_tokens=1,
            output_tokens=1,
            cost_micros=cost,
            created_at=when,
        )


async def seed_t1(s: Seeder) -> dict[str, int]:
    """Seven conversations started 10-12 January, one before; see the expectations below."""
    ids: dict[str, int] = {}
    # c1: answered, rated 4 on the conversation: resolved
    c1 = await s.conversation(at(10, 9), at(10, 9, 10))
    q = await s.question(c1, at(10, 9))
    await s.answer(c1, q, at(10, 9), first_delta_ms=100)
    await s.feedback(c1, at(10, 9, 20), rating=4)
    # c2: not found, then a refused question (billing), escalated a minute after: unresolved
    c2 = await s.conversation(
        at(10, 10), at(10, 10, 5), escalated=at(10, 10, 6), reason="missing_knowledge"
    )
    ids["invoices"] = q = await s.question(c2, at(10, 10), INVOICES)
    await s.answer(c2, q, at(10, 10), first_delta_ms=200, not_found=True)
    await s.question(c2, at(10, 10, 5), "refund my card", intent="billing", refused=True)
    # c3: not found (same question, other spelling), a case 20 minutes after: unresolved
    c3 = await s.conversation(at(11, 8), at(11, 8, 10))
    q = await s.question(c3, at(11, 8), "  how do I export my INVOICES ")
    await s.answer(c3, q, at(11, 8), first_delta_ms=300, not_found=True)
    await s.case(c3, at(11, 8, 30))
    # c4: the answer rated down (thumbs down and 2) two minutes after: unresolved
    c4 = await s.conversation(at(11, 9), at(11, 9, 10))
    ids["refund"] = q = await s.question(c4, at(11, 9), "Where is my refund? jane@example.com")
    a = await s.answer(c4, q, at(11, 9), first_delta_ms=400)
    await s.feedback(c4, at(11, 9, 12), message=a, helpful=False, rating=2)
    # c5: refused (legal); a case 26 h later is outside the 1 h window: resolved
    c5 = await s.conversation(at(11, 10), at(11, 10))
    await s.question(c5, at(11, 10), "sue them", intent="legal", refused=True)
    await s.case(c5, at(12, 12))
    # c6: still active (last message now): pending, yet its escalation counts
    c6 = await s.conversation(
        at(12, 11), datetime.now(UTC), escalated=datetime.now(UTC), reason="customer_request"
    )
    q = await s.question(c6, at(12, 11))
    await s.answer(c6, q, at(12, 11), first_delta_ms=None)
    # c7: rated 5: resolved
    c7 = await s.conversation(at(12, 12), at(12, 12, 5))
    q = await s.question(c7, at(12, 12))
    a = await s.answer(c7, q, at(12, 12), first_delta_ms=500)
    await s.feedback(c7, at(12, 12, 6), message=a, rating=5)
    # c8: the day before the range: counted nowhere
    c8 = await s.conversation(at(9, 23, 59), at(9, 23, 59))
    q = await s.question(c8, at(9, 23, 59), INVOICES)
    await s.answer(c8, q, at(9, 23, 58), first_delta_ms=9999, not_found=True)
    await s.feedback(c8, at(9, 23, 59), rating=1)
    for when, cost in ((at(10, 9), 1000), (at(10, 23, 59), 2000), (at(11, 0), 500)):
        await s.usage(when, cost)
    await s.usage(at(9, 23, 59), 7777)
    await s.usage(at(13, 0), 8888)
    return ids


async def seed_t2(s: Seeder) -> int:
    """Another tenant, in the same range, with a row for every figure."""
    c = await s.conversation(at(11, 8), at(11, 8), escalated=at(11, 8, 1), reason="other")
    q = await s.question(c, at(11, 8), INVOICES)
    await s.question(c, at(11, 8), "x", intent="billing", refused=True)
    a = await s.answer(c, q, at(11, 8), first_delta_ms=1, not_found=True)
    await s.feedback(c, at(11, 8), message=a, helpful=False, rating=1)
    await s.case(c, at(11, 8))
    await s.usage(at(11, 8), 99999)
    return q


@pytest.fixture
async def seeded(supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]) -> Any:
    app = supportai_app(analytics_resolution_window_s=WINDOW_S)
    client = supportai_client(app)
    r = await client.get("/admin/analytics/summary", headers=as_admin("t1"))
    assert r.status_code == 200, r.text  # started (and migrated) the app
    async with app.state.supportai.database.connection() as conn:
        ids = await seed_t1(Seeder(conn, "t1"))
        ids["t2"] = await seed_t2(Seeder(conn, "t2"))
    return client, ids


async def summary(client: Any, tenant: str = "t1", **params: str) -> dict[str, Any]:
    r = await client.get(
        "/admin/analytics/summary", params={**RANGE, **params}, headers=as_admin(tenant)
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_summary_figures_match_the_hand_computed_ones(seeded: Any) -> None:
    """Every figure of t1; then t2 sees only its rows, and an empty range has nulls."""
    client, _ = seeded
    body = await summary(client)
    assert body["period"] == {"from": "2026-01-10", "to": "2026-01-12", "days": 3}
    assert body["conversations"] == 7  # c1-c7; c8 started the day before
    # user messages: c1 1, c2 2, c3 1, c4 1, c5 1, c6 1, c7 1
    assert body["turns"] == 8
    # pending c6; unresolved c2 (escalated), c3 (case), c4 (rated down); resolved c1 c5 c7
    assert body["resolution"] == {
        "window_s": WINDOW_S,
        "pending": 1,
        "ended": 6,
        "resolved": 3,
        "unresolved": 3,
        "rate": 0.5,
    }
    # c2 and c6 (pending ones count here: escalation is not an outcome to wait for)
    assert body["escalations"] == {
        "total": 2,
        "rate": round(2 / 7, 4),
        "by_reason": {"customer_request": 1, "missing_knowledge": 1},
    }
    # ratings 4 (c1), 2 (c4), 5 (c7): two of three are 4+
    assert body["satisfaction"] == {
        "ratings": 3,
        "csat": round(2 / 3, 4),
        "average": round(11 / 3, 4),
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    }
    assert body["refusals"] == {"total": 2, "rate": 0.25, "by_intent": {"billing": 1, "legal": 1}}
    # answers of c1 c2 c3 c4 c6 c7; not found c2 c3
    assert body["not_found"] == {"answers": 6, "not_found": 2, "rate": round(2 / 6, 4)}
    # 100..500 (c6 sent no text): p50 rank 2 -> 300; p90 rank 3.6 -> 460; p99 rank 3.96 -> 496
    assert body["first_delta"] == {"p50_ms": 300.0, "p90_ms": 460.0, "p99_ms": 496.0}
    assert body["cost_micros"] == 3500
    assert body["days"] == [
        {"day": "2026-01-10", "turns": 3, "cost_micros": 3000},
        {"day": "2026-01-11", "turns": 3, "cost_micros": 500},
        {"day": "2026-01-12", "turns": 2, "cost_micros": 0},
    ]
    # another tenant's rows: only its own
    body = await summary(client, "t2")
    assert body["conversations"] == 1 and body["turns"] == 2
    assert body["escalations"]["by_reason"] == {"other": 1}
    assert body["cost_micros"] == 99999
    assert body["first_delta"]["p50_ms"] == 1.0
    assert (await summary(client, "t3"))["conversations"] == 0
    # a range without data: null rates, not zeros
    empty = await summary(client, **{"from": "2025-06-01", "to": "2025-06-01"})
    assert empty["conversations"] == 0 and empty["turns"] == 0
    assert empty["resolution"]["rate"] is None
    assert empty["satisfaction"]["csat"] is None
    assert empty["first_delta"] == {"p50_ms": None, "p90_ms": None, "p99_ms": None}
    assert empty["days"] == [{"day": "2025-06-01", "turns": 0, "cost_micros": 0}]


async def test_window_setting_decides_resolution(
    supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]
) -> None:
    app = supportai_app(analytics_resolution_window_s=2 * 86400)
    client = supportai_client(app)
    await client.get("/admin/analytics/summary", headers=as_admin("t1"))
    async with app.state.supportai.database.connection() as conn:
        await seed_t1(Seeder(conn, "t1"))
    body = await summary(client)
    # c5's case 26 h after its last message now falls inside the window
    assert body["resolution"]["resolved"] == 2 and body["resolution"]["unresolved"] == 4


async def test_unanswered_groups_by_text_without_an_embedder(seeded: Any) -> None:
    client, ids = seeded
    r = await client.get("/admin/analytics/unanswered", params=RANGE, headers=as_admin("t1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["questions"] == 3 and body["grouped_by"] == "text"
    first, second = body["groups"]
    assert first["group_id"] == ids["invoices"]
    assert (first["size"], first["not_found"], first["disliked"]) == (2, 2, 0)
    # one distinct question (the two differ in case and spacing only), the newest wording
    assert first["examples"] == ["  how do I export my INVOICES "]
    assert second["group_id"] == ids["refund"]
    assert (second["size"], second["not_found"], second["disliked"]) == (1, 0, 1)
    assert second["examples"] == ["Where is my refund? [email]"]  # PII-redacted
    assert "jane@" not in r.text


class KeywordEmbedder:
    """Vectors by topic: questions about invoices or bills point the same way."""

    name = "keywords"
    model = "keywords-1"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        def one(text: str) -> list[float]:
            t = text.lower()
            return [float("invoice" in t or "bill" in t), float("refund" in t), 0.1]

        return [one(t) for t in texts]


class EmbedderPlugin:
    @hookimpl
    def supportai_register_embedders(self, register: Callable[[str, Any], None]) -> None:
        register("keywords", lambda context: KeywordEmbedder())


async def test_unanswered_groups_by_meaning_through_the_embedder_hook(
    supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]
) -> None:
    app = supportai_app(plugins=[EmbedderPlugin()], analytics_embedder="keywords")
    client = supportai_client(app)
    await client.get("/admin/analytics/summary", headers=as_admin("t1"))
    async with app.state.supportai.database.connection() as conn:
        s = Seeder(conn, "t1")
        ids = await seed_t1(s)
        c = await s.conversation(at(12, 13), at(12, 13))
        q = await s.question(c, at(12, 13), "Can I get last month's bill as a PDF?")
        await s.answer(c, q, at(12, 13), first_delta_ms=50, not_found=True)
    r = await client.get("/admin/analytics/unanswered", params=RANGE, headers=as_admin("t1"))
    body = r.json()
    assert body["grouped_by"] == "keywords-1"
    sizes = {g["group_id"]: g["size"] for g in body["groups"]}
    assert sizes == {ids["invoices"]: 3, ids["refund"]: 1}
    assert body["groups"][0]["examples"] == [
        "Can I get last month's bill as a PDF?",
        "  how do I export my INVOICES ",
    ]


def test_vector_grouping_is_greedy_against_each_groups_first_question() -> None:
    questions = [{"id": i} for i in (1, 2, 3, 4)]
    # 2 is close to 1; 3 is orthogonal; 4 is closer to 3 than to 1
    vectors = [[1, 0], [0.9, 0.1], [0, 1], [0.3, 1]]
    groups = group_by_vectors(questions, vectors, threshold=0.8)
    assert [[m["id"] for m in g.members] for g in groups] == [[1, 2], [3, 4]]


def test_a_drafts_past_questions_are_those_an_article_can_hold() -> None:
    """A message longer than an article's question may be is quoted in the brief only, so
    a long message never turns the draft click into a 422."""
    long = "I have a question about refunds. " * 12
    draft = draft_of(Group([{"id": 3}, {"id": 4}]), ["refund status?", long.strip()])
    assert draft.questions == ("refund status?",)
    assert long.strip() in draft.body
    assert check_draft(draft).questions == draft.questions  # the article accepts them as they are


async def test_draft_from_a_group_is_an_unpublished_audited_article(seeded: Any) -> None:
    client, ids = seeded
    admin = as_admin("t1")
    gid = ids["refund"]
    r = await client.post(f"/admin/analytics/unanswered/{gid}/draft", params=RANGE, headers=admin)
    assert r.status_code == 200, r.text
    article = r.json()
    assert article["published"] is False
    assert article["slug"] == f"unanswered-{gid}"
    assert article["title"] == "Where is my refund? [email]"
    assert "- Where is my refund? [email]" in article["body"]
    # how its readers asked, redacted: retrieval knows them once the article is published
    assert article["questions"] == ["Where is my refund? [email]"]
    assert "jane@" not in r.text
    events = (
        await client.get(
            "/admin/audit-events", params={"target_id": article["article_id"]}, headers=admin
        )
    ).json()["items"]
    assert {e["action"] for e in events} == {"article.created", "analytics.draft_created"}
    drafted = next(e for e in events if e["action"] == "analytics.draft_created")
    assert drafted["details"] == {"group_id": gid, "group_size": 1}
    again = await client.post(
        f"/admin/analytics/unanswered/{gid}/draft", params=RANGE, headers=admin
    )
    assert again.status_code == 409 and again.json()["reason"] == "slug_taken"
    # another tenant's group, and a question that is not a group of the range: 404
    for path_id, tenant in ((ids["t2"], "t1"), (gid, "t2"), (ids["invoices"] + 1, "t1")):
        r = await client.post(
            f"/admin/analytics/unanswered/{path_id}/draft", params=RANGE, headers=as_admin(tenant)
        )
        assert r.status_code == 404 and r.json()["reason"] == "not_found", (path_id, tenant)


BAD_RANGES = [
    ({"from": "2026-01-12", "to": "2026-01-10"}, "from"),  # reversed
    ({"from": "2024-01-01", "to": "2026-01-10"}, "to"),  # longer than 366 days
    ({"from": "2026-02-30"}, "from"),  # no such day
    ({"to": "yesterday"}, "to"),  # not a date
    ({"to": "0"}, "to"),  # a Unix time is not a day (pydantic alone would accept it)
    ({"from": "1700000000"}, "from"),
    ({"to": "0001-01-05"}, "to"),  # its default start would be before year 1
    ({"from": "9999-12-31", "to": "9999-12-31"}, "from"),  # the day after is no date
]


async def test_a_bad_range_is_a_typed_422(
    supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]
) -> None:
    client = supportai_client(supportai_app())
    for params, field in BAD_RANGES:
        for path in ("summary", "unanswered", "unanswered/1/draft"):
            method = "POST" if path.endswith("draft") else "GET"
            r = await client.request(
                method, f"/admin/analytics/{path}", params=params, headers=as_admin()
            )
            assert r.status_code == 422, (params, path, r.text)
            body = r.json()
            assert body["reason"] == "validation_error"
            assert body["detail"][0]["loc"] == ["query", field], (params, path)


async def test_analytics_needs_the_admin_role(
    supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]
) -> None:
    client = supportai_client(supportai_app())
    r = await client.get("/admin/analytics/summary", headers=as_user())
    assert r.status_code == 403 and r.json()["reason"] == "forbidden"


class NotFoundBackend:
    """Says it found nothing, after a first text."""

    name = "nothing"
    model = "nothing-model"

    async def stream(self, request: BackendRequest) -> Any:
        yield TextDelta("I could not find this.")
        yield Usage(1, 1)
        yield Finish("stop", not_found=True)


async def test_a_turn_persists_its_first_delta_time_and_not_found(
    supportai_app: Callable[..., Any], supportai_client: Callable[[Any], Any]
) -> None:
    app = supportai_app(
        plugins=[backend_plugin(NotFoundBackend(), "nothing")], llm_backend="nothing"
    )
    client = supportai_client(app)
    user = as_user()
    conversation = (await client.post("/conversations", json={}, headers=user)).json()
    r = await client.post(
        f"/conversations/{conversation['conversation_id']}/messages",
        json={"content": "where is the moon?"},
        headers=user,
    )
    assert r.status_code == 200, r.text
    async with app.state.supportai.database.connection() as conn:
        row = await conn.fetch_one(
            sa.select(tables.messages.c.first_delta_ms, tables.messages.c.not_found).where(
                tables.messages.c.id == r.json()["assistant_message_id"]
            )
        )
    assert row is not None and row["not_found"] is True
    assert row["first_delta_ms"] is not None and row["first_delta_ms"] > 0
    today = datetime.now(UTC).date().isoformat()
    body = await summary(client, **{"from": today, "to": today})
    assert body["not_found"] == {"answers": 1, "not_found": 1, "rate": 1.0}
    assert body["first_delta"]["p50_ms"] is not None
