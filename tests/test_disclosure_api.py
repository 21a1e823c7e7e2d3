"""AI-disclosure status and acceptance, versioned, on SQLite and PostgreSQL.

What matters to a host: accepting is idempotent (a second accept only moves
``accepted_at`` forward, it never adds a row nor moves time backwards), a new
``disclosure_version`` in settings asks everyone again, and a client holding a
stale disclosure text cannot accept it as if it were the current one.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from supportai.settings import DEFAULT_DISCLOSURE_TEXT
from supportai.store import tables
from supportai.testing import as_user

ME = as_user("t1", "alice")
NEIGHBOUR = as_user("t1", "bob")
STRANGER = as_user("t2", "alice")

D = tables.disclosure_acceptances


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _rows(app: Any) -> list[dict[str, Any]]:
    async with app.state.supportai.database.connection() as conn:
        rows = await conn.fetch_all(sa.select(D).order_by(D.c.id))
    return [dict(r._mapping) for r in rows]


async def test_status_then_accept_then_accept_again(supportai_app, supportai_client):
    app = supportai_app(disclosure_version="2026-01")
    client = supportai_client(app)

    before = await client.get("/disclosure/status", headers=ME)
    assert before.status_code == 200, before.text
    assert before.json() == {
        "accepted": False,
        "accepted_version": None,
        "current_version": "2026-01",
        "accepted_at": None,
        "required": False,
        "text": DEFAULT_DISCLOSURE_TEXT,
        "url": None,
    }

    first = await client.post("/disclosure/accept", json={"version": "2026-01"}, headers=ME)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] is True
    assert first.json()["accepted_version"] == "2026-01"
    assert first.json()["current_version"] == "2026-01"
    first_at = _time(first.json()["accepted_at"])
    assert abs(datetime.now(UTC) - first_at) < timedelta(minutes=1)

    status = (await client.get("/disclosure/status", headers=ME)).json()
    assert status["accepted"] is True
    assert status["accepted_version"] == "2026-01"
    assert _time(status["accepted_at"]) == first_at  # what was stored is what was answered

    second = await client.post("/disclosure/accept", json={"version": "2026-01"}, headers=ME)
    assert second.status_code == 200, second.text
    second_at = _time(second.json()["accepted_at"])
    assert second_at > first_at
    status = (await client.get("/disclosure/status", headers=ME)).json()
    assert status["accepted"] is True
    assert _time(status["accepted_at"]) == second_at

    # A double click (or two tabs) at once: every accept succeeds, still one row.
    burst = await asyncio.gather(
        *(
            client.post("/disclosure/accept", json={"version": "2026-01"}, headers=ME)
            for _ in range(6)
        )
    )
    assert [r.status_code for r in burst] == [200] * 6, [r.text for r in burst]
    assert min(_time(r.json()["accepted_at"]) for r in burst) > second_at

    rows = await _rows(app)
    assert [(r["tenant_id"], r["user_id"], r["version"]) for r in rows] == [
        ("t1", "alice", "2026-01")
    ]


async def test_accept_again_never_moves_accepted_at_backwards(supportai_app, supportai_client):
    """Workers' clocks differ; a later request on a slower clock must not rewind the record."""
    app = supportai_app(disclosure_version="2026-01")
    client = supportai_client(app)
    await client.get("/disclosure/status", headers=ME)  # starts the app (and migrates)
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    async with app.state.supportai.database.connection() as conn:
        await conn.execute(
            D.insert().values(tenant_id="t1", user_id="alice", version="2026-01", accepted_at=ahead)
        )

    again = await client.post("/disclosure/accept", json={"version": "2026-01"}, headers=ME)
    assert again.status_code == 200, again.text
    assert _time(again.json()["accepted_at"]) == ahead
    status = (await client.get("/disclosure/status", headers=ME)).json()
    assert _time(status["accepted_at"]) == ahead
    assert len(await _rows(app)) == 1


async def test_new_version_asks_again_and_stale_version_is_refused(supportai_app, supportai_client):
    old_app = supportai_app(disclosure_version="2026-01")
    old = supportai_client(old_app)
    accepted = await old.post("/disclosure/accept", json={"version": "2026-01"}, headers=ME)
    assert accepted.status_code == 200, accepted.text

    # The host ships a new disclosure text: same database, new setting.
    new_app = supportai_app(disclosure_version="2026-06", disclosure_required=True)
    new = supportai_client(new_app)
    status = await new.get("/disclosure/status", headers=ME)
    assert status.status_code == 200, status.text
    assert status.json()["accepted"] is False
    assert status.json()["current_version"] == "2026-06"
    assert status.json()["accepted_version"] == "2026-01"  # what the user last saw
    assert status.json()["required"] is True

    # A client still showing the old text cannot accept it any more.
    stale = await new.post("/disclosure/accept", json={"version": "2026-01"}, headers=ME)
    assert stale.status_code == 422, stale.text
    body = stale.json()
    assert body["degraded"] is True
    assert body["reason"] == "validation_error"
    assert isinstance(body["detail"], list), body
    assert body["detail"][0]["loc"] == ["body", "version"]
    assert "2026-06" in body["detail"][0]["msg"]  # tells the client what is current
    assert (await new.get("/disclosure/status", headers=ME)).json()["accepted"] is False

    # Nor a future one.
    future = await new.post("/disclosure/accept", json={"version": "2027-01"}, headers=ME)
    assert future.status_code == 422, future.text

    current = await new.post("/disclosure/accept", json={"version": "2026-06"}, headers=ME)
    assert current.status_code == 200, current.text
    status = (await new.get("/disclosure/status", headers=ME)).json()
    assert status["accepted"] is True
    assert status["accepted_version"] == "2026-06"
    # The earlier acceptance is kept: it records what the user agreed to back then.
    versions = sorted(r["version"] for r in await _rows(new_app))
    assert versions == ["2026-01", "2026-06"]


async def test_acceptance_belongs_to_one_user_in_one_tenant(supportai_app, supportai_client):
    client = supportai_client(supportai_app(disclosure_version="2026-01"))
    accepted = await client.post("/disclosure/accept", json={"version": "2026-01"}, headers=ME)
    assert accepted.status_code == 200, accepted.text
    for headers in (NEIGHBOUR, STRANGER):
        status = (await client.get("/disclosure/status", headers=headers)).json()
        assert status["accepted"] is False
        assert status["accepted_version"] is None
        assert status["accepted_at"] is None


async def test_no_caller_is_401(supportai_app, supportai_client):
    app = supportai_app()
    client = supportai_client(app)
    for method, path, body in (
        ("GET", "/disclosure/status", None),
        ("POST", "/disclosure/accept", {"version": "2026-01"}),
    ):
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["reason"] == "unauthenticated"
        assert response.json()["degraded"] is True
    assert await _rows(app) == []
