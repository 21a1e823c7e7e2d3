"""GDPR delete of a conversation, on SQLite and PostgreSQL.

The claim under test: after ``DELETE /conversations/{id}`` no row in any table
references the conversation or anything derived from it (messages,
classifications, tool calls, feedback, training candidates), while what must
outlive it does: the linked case (reference cleared), usage for billing
(references cleared) and admin audit events. The rows are made through the
API (turns with a tool call, negative feedback, admin actions that audit).

"Every table" is read from the schema, not listed by hand: the rows that hang
off the conversation are found by walking the foreign keys of
``supportai.store.tables.metadata`` transitively, so a table added later is
checked without editing this file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from supportai.llm import Finish, TextDelta, ToolCallRequest, Usage
from supportai.store import tables
from supportai.testing import ScriptedBackend, as_admin, as_user, backend_plugin, plugin
from supportai.tools import Tool, ToolContext

ME = as_user("t1", "alice")
NEIGHBOUR = as_user("t1", "bob")
STRANGER = as_user("t2", "alice")

CONVERSATIONS = tables.conversations.name

#: Tables whose rows must be gone (cascade), and those whose rows must stay.
CASCADED = {
    "support_ai_messages",
    "support_ai_intent_classifications",
    "support_ai_tool_calls",
    "support_ai_feedback",
    "support_ai_training_candidates",
}
KEPT = {"support_ai_cases", "support_ai_usage"}

Reached = dict[str, set[int]]


def _order_tool() -> object:
    async def order_status(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        caller = context.caller.user_id
        return {"order_id": arguments["order_id"], "state": "shipped", "for": caller}

    def supportai_register_tools(register: Callable[[Tool], None]) -> None:
        register(Tool(name="order_status", description="Where is my order?", handler=order_status))

    return plugin(supportai_register_tools=supportai_register_tools)


def _tool_round(call_id: str) -> list[Any]:
    return [
        ToolCallRequest(call_id, "order_status", {"order_id": "A-42"}),
        Usage(12, 3),
        Finish("tool_calls"),
    ]


def _app(supportai_app: Any) -> Any:
    # Two turns, each a tool round then an answer: backend calls 0-1 and 2-3.
    backend = ScriptedBackend(
        [
            _tool_round("call-1"),
            ScriptedBackend.answer("Order A-42 has shipped."),
            _tool_round("call-2"),
            ScriptedBackend.answer("Still shipped."),
        ]
    )
    return supportai_app(plugins=[backend_plugin(backend), _order_tool()], llm_backend="scripted")


def _pk(table: sa.Table) -> sa.Column[Any] | None:
    columns = list(table.primary_key.columns)
    if len(columns) == 1 and isinstance(columns[0].type, sa.Integer):
        return columns[0]
    return None


async def _reached(conn: Any, conversation_id: int) -> Reached:
    """Ids of every row that references the conversation, directly or through other rows."""
    reached: Reached = {CONVERSATIONS: {conversation_id}}
    changed = True
    while changed:
        changed = False
        for table in tables.metadata.sorted_tables:
            pk = _pk(table)
            conditions = [
                fk.parent.in_(sorted(reached[fk.column.table.name]))
                for fk in table.foreign_keys
                if reached.get(fk.column.table.name)
            ]
            if pk is None or not conditions:
                continue
            rows = await conn.fetch_all(sa.select(pk).where(sa.or_(*conditions)))
            ids = {int(r[0]) for r in rows}
            if not ids <= reached.get(table.name, set()):
                reached.setdefault(table.name, set()).update(ids)
                changed = True
    return reached


async def _dangling(conn: Any, before: Reached) -> dict[str, int]:
    """Rows that still point (by any foreign key) at a row reached before the delete."""
    found: dict[str, int] = {}
    conversation = await conn.fetch_val(
        sa.select(sa.func.count())
        .select_from(tables.conversations)
        .where(tables.conversations.c.id.in_(sorted(before[CONVERSATIONS])))
    )
    if conversation:
        found[CONVERSATIONS] = int(conversation)
    for table in tables.metadata.sorted_tables:
        for fk in table.foreign_keys:
            targets = before.get(fk.column.table.name)
            if not targets:
                continue
            count = await conn.fetch_val(
                sa.select(sa.func.count()).select_from(table).where(fk.parent.in_(sorted(targets)))
            )
            if count:
                found[f"{table.name}.{fk.parent.name}"] = int(count)
    return found


async def _turn(client: httpx.AsyncClient, cid: int, text: str) -> dict[str, Any]:
    response = await client.post(
        f"/conversations/{cid}/messages", json={"content": text}, headers=ME
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "complete", body
    assert [t["name"] for t in body["tool_calls"]] == ["order_status"], body
    return body


async def _negative_feedback(client: httpx.AsyncClient, cid: int, message_id: int) -> None:
    """Feedback that flags the conversation and queues a training candidate."""
    response = await client.post(
        f"/conversations/{cid}/feedback",
        json={"helpful": False, "rating": 1, "comment": "wrong order", "message_id": message_id},
        headers=ME,
    )
    assert response.status_code == 200, response.text
    assert response.json()["training_candidate_id"] is not None, response.json()


async def _audit_rows(conn: Any) -> list[dict[str, Any]]:
    rows = await conn.fetch_all(sa.select(tables.audit_events).order_by(tables.audit_events.c.id))
    return [dict(r._mapping) for r in rows]


def test_every_reference_to_a_conversation_or_message_is_a_foreign_key():
    """Without a foreign key the walk above would miss a table, and the delete would too."""
    for table in tables.metadata.sorted_tables:
        for name in ("conversation_id", "message_id"):
            if name in table.c:
                assert table.c[name].foreign_keys, f"{table.name}.{name} has no foreign key"


async def test_delete_leaves_no_row_referencing_the_conversation(supportai_app, supportai_client):
    app = _app(supportai_app)
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={"title": "order"}, headers=ME)).json()[
        "conversation_id"
    ]
    keep = (await client.post("/conversations", json={"title": "keep"}, headers=ME)).json()[
        "conversation_id"
    ]
    turn = await _turn(client, cid, "Where is order A-42?")
    kept_turn = await _turn(client, keep, "And order A-42 again?")

    case = await client.post(
        "/cases",
        json={"subject": "Order", "description": "late", "conversation_id": cid},
        headers=ME,
    )
    assert case.status_code == 200, case.text
    case_id = case.json()["case_id"]
    await _negative_feedback(client, cid, turn["assistant_message_id"])
    await _negative_feedback(client, keep, kept_turn["assistant_message_id"])

    # Admin actions that mention the conversation: each writes an audit event.
    admin = as_admin("t1")
    viewed = await client.get(f"/admin/conversations/{cid}", headers=admin)
    assert viewed.status_code == 200, viewed.text
    changed = await client.post(
        f"/admin/cases/{case_id}/status", json={"status": "pending"}, headers=admin
    )
    assert changed.status_code == 200, changed.text

    database = app.state.supportai.database
    async with database.connection() as conn:
        before = await _reached(conn, cid)
        # The checker sees the references while they exist (it is not vacuous).
        assert set(await _dangling(conn, before)) >= {CONVERSATIONS, "support_ai_usage.message_id"}
        kept_before = await _reached(conn, keep)
        audit_before = await _audit_rows(conn)
    assert {(a["action"], a["target_type"], a["target_id"]) for a in audit_before} >= {
        ("conversation.viewed", "conversation", cid),
        ("case.status_changed", "case", case_id),
    }

    # The setup really produced a row in every table a conversation reaches.
    assert set(before) >= CASCADED | KEPT, sorted(before)
    assert len(before["support_ai_messages"]) == 2
    assert before["support_ai_cases"] == {case_id}

    response = await client.delete(f"/conversations/{cid}", headers=ME)
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": True, "conversation_id": cid}

    async with database.connection() as conn:
        assert await _dangling(conn, before) == {}
        after = await _reached(conn, cid)
        for name in CASCADED:
            table = tables.metadata.tables[name]
            count = await conn.fetch_val(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.id.in_(sorted(before[name])))
            )
            assert count == 0, name
        survivors = {
            name: [
                dict(r._mapping)
                for r in await conn.fetch_all(
                    sa.select(tables.metadata.tables[name]).where(
                        tables.metadata.tables[name].c.id.in_(sorted(before[name]))
                    )
                )
            ]
            for name in KEPT
        }
        audit_after = await _audit_rows(conn)
        kept_after = await _reached(conn, keep)

    assert after == {CONVERSATIONS: {cid}}  # only the seed: nothing references it
    [kept_case] = survivors["support_ai_cases"]
    assert kept_case["conversation_id"] is None
    assert kept_case["subject"] == "Order"
    assert len(survivors["support_ai_usage"]) == len(before["support_ai_usage"])
    assert all(
        u["conversation_id"] is None and u["message_id"] is None
        for u in survivors["support_ai_usage"]
    )
    assert sum(u["cost_micros"] for u in survivors["support_ai_usage"]) > 0
    assert audit_after == audit_before  # admin actions are retained as they were
    assert kept_after == kept_before  # the other conversation lost nothing

    # The case is still the owner's, now unlinked; the admin's audit log still lists it all.
    fetched = await client.get(f"/cases/{case_id}", headers=ME)
    assert fetched.status_code == 200
    assert fetched.json()["conversation_id"] is None
    assert (await client.get(f"/admin/conversations/{cid}", headers=admin)).status_code == 404
    log = await client.get("/admin/audit-events", params={"limit": 200}, headers=admin)
    assert log.status_code == 200, log.text
    logged = {(e["action"], e["target_id"]) for e in log.json()["items"]}
    assert ("conversation.viewed", cid) in logged


async def test_delete_is_404_when_repeated_or_not_mine(supportai_app, supportai_client):
    app = _app(supportai_app)
    client = supportai_client(app)
    cid = (await client.post("/conversations", headers=ME)).json()["conversation_id"]
    await _turn(client, cid, "Where is order A-42?")
    database = app.state.supportai.database
    async with database.connection() as conn:
        before = await _reached(conn, cid)

    for headers in (NEIGHBOUR, STRANGER):
        refused = await client.delete(f"/conversations/{cid}", headers=headers)
        assert refused.status_code == 404, refused.text
        assert refused.json()["reason"] == "not_found"
    async with database.connection() as conn:
        assert await _reached(conn, cid) == before  # nothing deleted by anyone else
    assert len((await client.get(f"/conversations/{cid}", headers=ME)).json()["messages"]) == 2

    assert (await client.delete(f"/conversations/{cid}", headers=ME)).status_code == 200
    again = await client.delete(f"/conversations/{cid}", headers=ME)
    assert again.status_code == 404, again.text
    assert again.json() == refused.json()


async def _delete_mid_turn(supportai_app: Any, supportai_client: Any) -> tuple[Any, Any, int, Any]:
    """Start a turn, delete its conversation while the answer streams, let it finish."""
    gate, paused = asyncio.Event(), asyncio.Event()

    async def pause() -> None:
        paused.set()
        await gate.wait()

    backend = ScriptedBackend(
        [[TextDelta("Hello "), pause, TextDelta("there"), Usage(5, 5), Finish("stop")]]
    )
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = (await client.post("/conversations", headers=ME)).json()["conversation_id"]
    turn = asyncio.create_task(
        client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=ME)
    )
    await asyncio.wait_for(paused.wait(), 10)
    deleted = await client.delete(f"/conversations/{cid}", headers=ME)
    assert deleted.status_code == 200, deleted.text
    gate.set()
    answered = await asyncio.wait_for(turn, 10)
    return app, client, cid, answered


async def test_turn_in_flight_cannot_bring_deleted_rows_back(supportai_app, supportai_client):
    """The user deletes the conversation while its answer is still streaming.

    When the answer ends, the turn's writes (assistant message, usage) must not
    recreate anything that references the deleted conversation.
    """
    app, client, cid, answered = await _delete_mid_turn(supportai_app, supportai_client)
    assert answered.status_code < 500, answered.text
    assert answered.json().get("assistant_message_id") is None

    async with app.state.supportai.database.connection() as conn:
        assert await _reached(conn, cid) == {CONVERSATIONS: {cid}}
        for table in (tables.messages, tables.intent_classifications, tables.tool_calls):
            count = await conn.fetch_val(sa.select(sa.func.count()).select_from(table))
            assert count == 0, table.name
    assert (await client.get(f"/conversations/{cid}", headers=ME)).status_code == 404


async def test_turn_whose_conversation_was_deleted_is_still_charged(
    supportai_app, supportai_client
):
    _, client, _, answered = await _delete_mid_turn(supportai_app, supportai_client)
    cost = answered.json()["usage"]["cost_micros"]
    assert cost > 0
    quota = (await client.get("/quota", headers=ME)).json()
    assert quota["user_turns"]["used"] == 1
    assert quota["user_cost_micros"]["used"] == cost
