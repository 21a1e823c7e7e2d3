"""Bad input to the conversation, disclosure and case endpoints: 422 naming the field.

Every 422 has the one shape of ``docs/errors.md``:
``{"degraded": true, "reason": "validation_error", "detail": [{loc, msg, type}, ...]}``
and its ``loc`` says where the problem is (``["body", "title"]``,
``["path", "case_id"]``, ``["query", "limit"]``). A rejected request must not
have done anything, so each test also checks that nothing was written.

The cases of one endpoint run in one test (the app and the PostgreSQL database
are made once per test, on both engines); a failure names the request.
"""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from supportai.store import tables
from supportai.testing import as_user

ME = as_user("t1", "alice")

TOO_BIG_ID = 2**31  # one past the largest id the schema can hold
HUGE_ID = 10**30
_ABSENT = object()


async def _expect_422(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    loc: list[str | int],
    *,
    json: Any = _ABSENT,
    params: dict[str, Any] | None = None,
    content: bytes | None = None,
) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {"params": params, "headers": dict(ME)}
    if json is not _ABSENT:
        kwargs["json"] = json
    if content is not None:
        kwargs["content"] = content
        kwargs["headers"]["content-type"] = "application/json"
    response = await client.request(method, path, **kwargs)
    where = f"{method} {path} params={params} json={json!r:.80} content={content!r:.40}"
    assert response.status_code == 422, f"{where}: {response.status_code} {response.text}"
    body = response.json()
    assert set(body) == {"degraded", "reason", "detail"}, where
    assert body["degraded"] is True and body["reason"] == "validation_error", where
    detail = body["detail"]
    assert isinstance(detail, list) and detail, where
    for item in detail:
        assert set(item) == {"loc", "msg", "type"}, (where, item)
        assert isinstance(item["msg"], str) and item["msg"], (where, item)
        assert isinstance(item["type"], str) and item["type"], (where, item)
        assert isinstance(item["loc"], list) and item["loc"], (where, item)
    locs = [item["loc"] for item in detail]
    assert loc in locs, f"{where}: expected loc {loc}, got {locs}"
    return detail  # type: ignore[no-any-return]


async def _count(app: Any, table: sa.Table) -> int:
    async with app.state.supportai.database.connection() as conn:
        return int(await conn.fetch_val(sa.select(sa.func.count()).select_from(table)))


def _bad_ids() -> list[Any]:
    return [0, -1, TOO_BIG_ID, HUGE_ID, "abc", "1.5", "1e3"]


async def test_conversation_endpoints_reject_bad_input(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    created = await client.post("/conversations", json={"title": "mine"}, headers=ME)
    assert created.status_code == 200, created.text

    for name, values in {
        "limit": [0, -1, 201, "ten", 1.5],
        "before": [0, -5, TOO_BIG_ID, HUGE_ID, "yesterday"],
    }.items():
        for value in values:
            await _expect_422(
                client, "GET", "/conversations", ["query", name], params={name: value}
            )

    create_cases: list[tuple[Any, list[str | int]]] = [
        ({"title": 5}, ["body", "title"]),
        ({"title": ["a"]}, ["body", "title"]),
        ({"title": "x" * 201}, ["body", "title"]),  # oversized
        ({"title": "   "}, ["body", "title"]),  # blank after trimming
        ({"titel": "typo"}, ["body", "titel"]),  # unknown field
        ({"title": "ok", "user_id": "mallory"}, ["body", "user_id"]),  # no owner spoofing
        ([], ["body"]),
        ("a title", ["body"]),
    ]
    for body, loc in create_cases:
        detail = await _expect_422(client, "POST", "/conversations", loc, json=body)
        if loc[-1] in ("titel", "user_id"):
            assert any(d["type"] == "extra_forbidden" for d in detail), detail
    await _expect_422(client, "POST", "/conversations", ["body", 1], content=b"{not json")

    for value in _bad_ids():
        for method in ("GET", "DELETE"):
            await _expect_422(
                client, method, f"/conversations/{value}", ["path", "conversation_id"]
            )

    assert await _count(app, tables.conversations) == 1  # nothing made, nothing deleted


async def test_disclosure_accept_rejects_bad_input(supportai_app, supportai_client):
    app = supportai_app(disclosure_version="2026-01")
    client = supportai_client(app)
    cases: list[tuple[Any, list[str | int]]] = [
        ({}, ["body", "version"]),
        ({"version": None}, ["body", "version"]),
        ({"version": 202601}, ["body", "version"]),
        ({"version": ""}, ["body", "version"]),
        ({"version": "x" * 65}, ["body", "version"]),
        ({"version": "2026-01", "accepted_at": "2020-01-01"}, ["body", "accepted_at"]),
        (["2026-01"], ["body"]),
    ]
    for body, loc in cases:
        await _expect_422(client, "POST", "/disclosure/accept", loc, json=body)
    await _expect_422(client, "POST", "/disclosure/accept", ["body"])  # no body at all
    status = await client.get("/disclosure/status", headers=ME)
    assert status.json()["accepted"] is False
    assert await _count(app, tables.disclosure_acceptances) == 0


async def test_case_endpoints_reject_bad_input(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    good = {"subject": "Invoice", "description": "Charged twice."}
    created = await client.post("/cases", json=good, headers=ME)
    assert created.status_code == 200, created.text
    case_id = created.json()["case_id"]

    for value in ("bogus", "OPEN", "", "open,closed"):
        await _expect_422(
            client, "GET", "/cases", ["query", "status_filter"], params={"status_filter": value}
        )

    create_cases: list[tuple[Any, list[str | int]]] = [
        ({"description": "d"}, ["body", "subject"]),
        ({"subject": "s"}, ["body", "description"]),
        ({**good, "subject": 42}, ["body", "subject"]),
        ({**good, "subject": "  "}, ["body", "subject"]),
        ({**good, "subject": "s" * 301}, ["body", "subject"]),
        ({**good, "description": ""}, ["body", "description"]),
        ({**good, "description": "d" * 10_001}, ["body", "description"]),
        ({**good, "priority": "critical"}, ["body", "priority"]),
        ({**good, "priority": 1}, ["body", "priority"]),
        ({**good, "conversation_id": "abc"}, ["body", "conversation_id"]),
        ({**good, "conversation_id": 0}, ["body", "conversation_id"]),
        ({**good, "conversation_id": -3}, ["body", "conversation_id"]),
        ({**good, "conversation_id": TOO_BIG_ID}, ["body", "conversation_id"]),
        ({**good, "conversation_id": 1.5}, ["body", "conversation_id"]),
        ({**good, "status": "closed"}, ["body", "status"]),  # users cannot close by creating
        ({**good, "tenant_id": "t2"}, ["body", "tenant_id"]),
    ]
    for body, loc in create_cases:
        await _expect_422(client, "POST", "/cases", loc, json=body)

    for value in _bad_ids():
        await _expect_422(client, "GET", f"/cases/{value}", ["path", "case_id"])
        await _expect_422(
            client, "POST", f"/cases/{value}/comments", ["path", "case_id"], json={"body": "hi"}
        )

    comment_cases: list[tuple[Any, list[str | int]]] = [
        ({}, ["body", "body"]),
        ({"body": ""}, ["body", "body"]),
        ({"body": 7}, ["body", "body"]),
        ({"body": "b" * 10_001}, ["body", "body"]),
        ({"body": "hi", "visibility": "internal"}, ["body", "visibility"]),  # agents only
        ({"body": "hi", "author_role": "agent"}, ["body", "author_role"]),
    ]
    for body, loc in comment_cases:
        await _expect_422(client, "POST", f"/cases/{case_id}/comments", loc, json=body)

    assert await _count(app, tables.cases) == 1
    assert await _count(app, tables.case_comments) == 0


async def test_text_limits_accept_the_boundary(supportai_app, supportai_client):
    """The documented limits are inclusive: the longest allowed text goes through."""
    client = supportai_client(supportai_app())
    conversation = await client.post("/conversations", json={"title": "t" * 200}, headers=ME)
    assert conversation.status_code == 200, conversation.text
    assert len(conversation.json()["title"]) == 200
    case = await client.post(
        "/cases",
        json={
            "subject": "s" * 300,
            "description": "d" * 10_000,
            "priority": "low",
            "conversation_id": conversation.json()["conversation_id"],
        },
        headers=ME,
    )
    assert case.status_code == 200, case.text
    comment = await client.post(
        f"/cases/{case.json()['case_id']}/comments", json={"body": "b" * 10_000}, headers=ME
    )
    assert comment.status_code == 200, comment.text
    assert len(comment.json()["body"]) == 10_000
