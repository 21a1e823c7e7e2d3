"""GDPR delete leaves no *copy* of the conversation's text behind (issue 8.7).

``test_gdpr_delete.py`` proves no row *references* a deleted conversation. This test
looks for residue: text of the conversation (its title, the user's question, the
answer, the feedback comment) copied somewhere else (candidate snapshots, audit
details, usage, quota rows) would survive a reference-based delete. After the
delete, every cell of every table is scanned for the unique markers; the audit
events of the admin actions stay, unchanged. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import egress_guard
import sqlalchemy as sa

from supportai.store import tables
from supportai.store.database import row_dict
from supportai.testing import ScriptedBackend, as_admin, as_user, backend_plugin


async def dump(app: Any) -> dict[str, list[dict[str, Any]]]:
    async with app.state.supportai.database.connection() as conn:
        return {
            t.name: [row_dict(r) for r in await conn.fetch_all(sa.select(t))]
            for t in tables.metadata.sorted_tables
        }


async def test_no_copy_of_a_deleted_conversation_survives(
    supportai_app: Any, supportai_client: Any
) -> None:
    tag = uuid.uuid4().hex[:12]
    markers = {k: f"GDPR{k}{tag}" for k in ("title", "question", "answer", "comment")}
    backend = ScriptedBackend([ScriptedBackend.answer(f"Answer {markers['answer']}")])
    app = supportai_app(
        plugins=[backend_plugin(backend)], llm_backend="scripted", queue_refusals_for_review=True
    )
    client = supportai_client(app)
    me, admin = as_user(), as_admin()
    cid = (
        await client.post("/conversations", json={"title": markers["title"]}, headers=me)
    ).json()["conversation_id"]
    turn = (
        await client.post(
            f"/conversations/{cid}/messages",
            json={"content": f"Question {markers['question']}"},
            headers=me,
        )
    ).json()
    fb = (
        await client.post(
            f"/conversations/{cid}/feedback",
            json={
                "helpful": False,
                "comment": markers["comment"],
                "message_id": turn["assistant_message_id"],
            },
            headers=me,
        )
    ).json()
    assert (await client.get(f"/admin/conversations/{cid}", headers=admin)).status_code == 200
    approved = await client.post(
        f"/admin/candidates/{fb['training_candidate_id']}/approve",
        json={"note": "ok"},
        headers=admin,
    )
    assert approved.status_code == 200, approved.text

    before = await dump(app)
    flat_before = json.dumps(before, default=str)
    assert all(m in flat_before for m in markers.values()), "the markers were not stored"
    # the turn event log holds the answer too (resumable streams): the scan covers it
    assert markers["answer"] in json.dumps(before["support_ai_turn_events"])
    audit_before = before["support_ai_audit_events"]
    assert len(audit_before) >= 2

    assert (await client.delete(f"/conversations/{cid}", headers=me)).status_code == 200
    after = await dump(app)
    for table, rows in after.items():
        text = json.dumps(rows, default=str)
        for name, marker in markers.items():
            assert marker not in text, f"the {name} survives in {table}"
    assert after["support_ai_audit_events"] == audit_before
    egress_guard.count("gdpr residue scans")


async def test_deleting_a_conversation_forgets_its_events_on_redis(
    supportai_app: Any, supportai_client: Any, supportai_settings: Any, engine: str
) -> None:
    """With the Redis quota store the event log is Redis Streams, which no foreign key
    cascades: the delete removes the conversation's streams itself."""
    import pytest
    from test_overspend_burst import REDIS_URL, drop_redis_prefix, redis_or_skip

    if engine != "sqlite":
        pytest.skip("the Redis log does not depend on the database engine: once is enough")
    await redis_or_skip()
    from redis.asyncio import Redis

    prefix = f"supportai-gdpr-{uuid.uuid4().hex[:8]}:"
    marker = f"GDPRredis{uuid.uuid4().hex[:12]}"
    backend = ScriptedBackend([ScriptedBackend.answer(f"Answer {marker}")])
    settings = supportai_settings.model_copy(
        update={
            "llm_backend": "scripted",
            "plugins": ["redis"],
            "quota_store": "redis",
            "plugin_options": {"redis": {"url": REDIS_URL, "key_prefix": prefix}},
        }
    )
    app = supportai_app(settings, [backend_plugin(backend)], load_entry_points=True)
    client = supportai_client(app)
    me = as_user()
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        cid = (await client.post("/conversations", json={}, headers=me)).json()["conversation_id"]
        for n in range(2):
            r = await client.post(
                f"/conversations/{cid}/messages", json={"content": f"q{n}"}, headers=me
            )
            assert r.status_code == 200, r.text
        streams = [k async for k in redis.scan_iter(match=prefix + "ev:*")]
        assert len(streams) == 2
        assert marker in json.dumps([await redis.xrange(k) for k in streams])
        assert (await client.delete(f"/conversations/{cid}", headers=me)).status_code == 200
        assert [k async for k in redis.scan_iter(match=prefix + "ev:*")] == []
    finally:
        await redis.aclose()
        await drop_redis_prefix(prefix)
