"""Human support cases as their owner sees them, on SQLite and PostgreSQL.

The admin side (changing status, internal notes) is another module's API, so
these tests set a case's status and add internal comments directly through
``supportai.store.tables``: what is under test is what the *owner* can do and
see. Bad bodies and ids (422) are in ``test_validation.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from supportai.store import tables
from supportai.testing import QueryCounter, as_user, count_queries

ME = as_user("t1", "alice")
NEIGHBOUR = as_user("t1", "bob")
STRANGER = as_user("t2", "alice")

K = tables.cases
KC = tables.case_comments

#: Blocked on another process's lock: a backend that the holder's transaction keeps waiting.
BLOCKED_BY_ME = (
    "SELECT count(*) FROM pg_locks"
    " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
)


async def waiting_behind(holder: Any, is_sqlite: bool, seen: QueryCounter) -> None:
    """Return once a request is held up by ``holder``'s open transaction.

    PostgreSQL shows it: a backend whose lock ``holder`` blocks (``pg_locks`` is
    live, unlike ``pg_stat_activity`` inside a transaction). SQLite's waits are
    in this process (the pool's write lock, or SQLite's busy handler on the
    driver's thread), so there the evidence is that the request has begun its
    transaction or sent its write, neither of which can finish while ``holder``
    has the write lock. Polls a condition, bounded, instead of sleeping a guess.
    """
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        if is_sqlite:
            if seen.transactions + seen.writes > 0:
                return
        elif await holder.fetch_val(BLOCKED_BY_ME) > 0:
            return
        assert asyncio.get_running_loop().time() < deadline, "the request never reached the lock"
        await asyncio.sleep(0.005)


async def _conversation(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.post(
        "/conversations", json={"title": "about my invoice"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return int(response.json()["conversation_id"])


async def _case(client: httpx.AsyncClient, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {"subject": "Invoice wrong", "description": "I was charged twice.", **extra}
    response = await client.post("/cases", json=body, headers=headers)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _set_status(app: Any, case_id: int, status: str) -> None:
    async with app.state.supportai.database.connection() as conn:
        await conn.execute(K.update().where(K.c.id == case_id).values(status=status))


async def _count(app: Any, table: sa.Table) -> int:
    async with app.state.supportai.database.connection() as conn:
        return int(await conn.fetch_val(sa.select(sa.func.count()).select_from(table)))


async def test_create_case_with_and_without_linked_conversation(supportai_app, supportai_client):
    client = supportai_client(supportai_app())

    plain = await _case(client, ME)
    assert plain["subject"] == "Invoice wrong"
    assert plain["description"] == "I was charged twice."
    assert plain["priority"] == "normal"
    assert plain["status"] == "open"
    assert plain["conversation_id"] is None
    assert plain["comments"] == []
    assert plain["created_at"] and plain["updated_at"]

    cid = await _conversation(client, ME)
    linked = await _case(client, ME, subject="  Refund  ", priority="urgent", conversation_id=cid)
    assert linked["conversation_id"] == cid
    assert linked["priority"] == "urgent"
    assert linked["subject"] == "Refund"
    assert linked["case_id"] != plain["case_id"]

    fetched = await client.get(f"/cases/{linked['case_id']}", headers=ME)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == linked


async def test_linking_a_conversation_that_is_not_mine_is_404(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    mine = await _conversation(client, ME)
    bobs = await _conversation(client, NEIGHBOUR)
    other_tenant = await _conversation(client, STRANGER)
    missing = max(mine, bobs, other_tenant) + 1000

    body = {"subject": "s", "description": "d"}
    absent = await client.post("/cases", json={**body, "conversation_id": missing}, headers=ME)
    assert absent.status_code == 404, absent.text
    assert absent.json()["reason"] == "not_found"
    for foreign in (bobs, other_tenant):
        response = await client.post(
            "/cases", json={**body, "conversation_id": foreign}, headers=ME
        )
        assert response.status_code == 404, response.text
        assert response.json() == absent.json()
    assert await _count(app, K) == 0  # no half-made case


async def test_list_mine_newest_first_with_status_filter(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    ids = {}
    for status in ("open", "pending", "resolved", "closed"):
        ids[status] = (await _case(client, ME, subject=f"case {status}"))["case_id"]
        await _set_status(app, ids[status], status)
    await _case(client, NEIGHBOUR, subject="bob's")
    await _case(client, STRANGER, subject="other tenant's")

    everything = await client.get("/cases", headers=ME)
    assert everything.status_code == 200, everything.text
    items = everything.json()["items"]
    assert [c["case_id"] for c in items] == sorted(ids.values(), reverse=True)
    assert {c["case_id"]: c["status"] for c in items} == {v: k for k, v in ids.items()}
    assert "comments" not in items[0] and "description" not in items[0]  # a summary

    for status, case_id in ids.items():
        filtered = await client.get("/cases", params={"status_filter": status}, headers=ME)
        assert filtered.status_code == 200, filtered.text
        assert [c["case_id"] for c in filtered.json()["items"]] == [case_id]

    for headers, subject in ((NEIGHBOUR, "bob's"), (STRANGER, "other tenant's")):
        theirs = (await client.get("/cases", headers=headers)).json()["items"]
        assert [c["subject"] for c in theirs] == [subject]


async def test_get_shows_public_comments_only_and_comments_append(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    case = await _case(client, ME)
    case_id = case["case_id"]
    async with app.state.supportai.database.connection() as conn:
        for role, visibility, text in (
            ("agent", "public", "We are looking into it."),
            ("agent", "internal", "Customer was double-billed by the retry bug."),
        ):
            await conn.execute(
                KC.insert().values(
                    case_id=case_id,
                    tenant_id="t1",
                    author_id="agent-7",
                    author_role=role,
                    visibility=visibility,
                    body=text,
                    created_at=datetime.now(UTC),
                )
            )

    added = await client.post(f"/cases/{case_id}/comments", json={"body": "Thanks!"}, headers=ME)
    assert added.status_code == 200, added.text
    assert added.json()["author_role"] == "user"
    assert added.json()["body"] == "Thanks!"
    assert isinstance(added.json()["comment_id"], int)

    fetched = await client.get(f"/cases/{case_id}", headers=ME)
    assert fetched.status_code == 200, fetched.text
    comments = fetched.json()["comments"]
    assert [(c["author_role"], c["body"]) for c in comments] == [
        ("agent", "We are looking into it."),
        ("user", "Thanks!"),
    ]
    assert "internal" not in fetched.text.lower() and "retry bug" not in fetched.text
    assert comments[-1]["comment_id"] == added.json()["comment_id"]
    # A new comment marks the case as touched (agents sort their queue by it).
    assert _time(fetched.json()["updated_at"]) > _time(case["updated_at"])

    async with app.state.supportai.database.connection() as conn:
        row = await conn.fetch_one(sa.select(KC).where(KC.c.id == added.json()["comment_id"]))
    assert row is not None
    assert (row["visibility"], row["author_id"], row["tenant_id"]) == ("public", "alice", "t1")


async def test_resolved_or_closed_case_refuses_comments(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    case_id = (await _case(client, ME))["case_id"]

    await _set_status(app, case_id, "pending")  # waiting on the user: still open to them
    pending = await client.post(
        f"/cases/{case_id}/comments", json={"body": "more info"}, headers=ME
    )
    assert pending.status_code == 200, pending.text

    for status in ("resolved", "closed"):
        await _set_status(app, case_id, status)
        refused = await client.post(
            f"/cases/{case_id}/comments", json={"body": "hello?"}, headers=ME
        )
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["degraded"] is True
        assert body["reason"] == "case_closed"
        assert isinstance(body["detail"], str) and body["detail"]
    assert await _count(app, KC) == 1  # only the comment made while pending


async def test_foreign_cases_are_indistinguishable_from_missing(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    case_id = (await _case(client, ME))["case_id"]
    missing = case_id + 1000

    expected = await client.get(f"/cases/{missing}", headers=ME)
    assert expected.status_code == 404
    assert expected.json()["reason"] == "not_found"

    for headers in (NEIGHBOUR, STRANGER):
        for method, suffix, body in (("GET", "", None), ("POST", "/comments", {"body": "hi"})):
            foreign = await client.request(
                method, f"/cases/{case_id}{suffix}", json=body, headers=headers
            )
            absent = await client.request(
                method, f"/cases/{missing}{suffix}", json=body, headers=headers
            )
            assert foreign.status_code == absent.status_code == 404, (method, headers)
            assert foreign.json() == absent.json() == expected.json()
    assert await _count(app, KC) == 0  # nobody else commented on my case


async def test_no_caller_is_401_on_every_endpoint(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    case_id = (await _case(client, ME))["case_id"]
    for method, path, body in (
        ("GET", "/cases", None),
        ("POST", "/cases", {"subject": "s", "description": "d"}),
        ("GET", f"/cases/{case_id}", None),
        ("POST", f"/cases/{case_id}/comments", {"body": "hi"}),
    ):
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["reason"] == "unauthenticated"
    assert await _count(app, K) == 1
    assert await _count(app, KC) == 0


async def test_comment_racing_a_close_is_refused(supportai_app, supportai_client):
    """An agent closes the case while the owner's comment is in flight: the close wins.

    The closing transaction holds the case row (PostgreSQL) or the write lock
    (SQLite) when the comment arrives; the comment must wait for it and then see
    ``closed``: neither act on the status it read before the close committed
    (PostgreSQL: a comment on a closed case) nor fail with "database is locked"
    (SQLite: a 500).
    """
    app = supportai_app()
    client = supportai_client(app)
    case_id = (await _case(client, ME))["case_id"]

    database = app.state.supportai.database
    async with database.connection() as agent, agent.transaction():
        await agent.execute(K.update().where(K.c.id == case_id).values(status="closed"))
        with count_queries() as seen:
            comment = asyncio.create_task(
                client.post(f"/cases/{case_id}/comments", json={"body": "too late?"}, headers=ME)
            )
            await waiting_behind(agent, database.is_sqlite, seen)
        assert not comment.done()  # waiting on the agent's transaction
    response = await asyncio.wait_for(comment, 10)
    assert response.status_code == 409, response.text
    assert response.json()["reason"] == "case_closed"
    assert await _count(app, KC) == 0


async def test_linking_a_conversation_deleted_meanwhile_is_404(supportai_app, supportai_client):
    """The owner deletes a conversation while a case linking it is being created.

    The case request saw the conversation, but the delete commits first: the
    answer must be the same 404 as for a missing conversation, not a 500 from
    the foreign key.
    """
    app = supportai_app()
    client = supportai_client(app)
    cid = await _conversation(client, ME)
    body = {"subject": "s", "description": "d", "conversation_id": cid}

    database = app.state.supportai.database
    async with database.connection() as other, other.transaction():
        await other.execute(tables.conversations.delete().where(tables.conversations.c.id == cid))
        with count_queries() as seen:
            create = asyncio.create_task(client.post("/cases", json=body, headers=ME))
            await waiting_behind(other, database.is_sqlite, seen)
        assert not create.done()
    response = await asyncio.wait_for(create, 10)
    assert response.status_code == 404, response.text
    assert response.json()["reason"] == "not_found"
    assert await _count(app, K) == 0
