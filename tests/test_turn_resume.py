"""Resumable streams (issue 15): a turn's events after ``Last-Event-ID``, on one worker.

The turn keeps running when its client goes away; ``GET .../messages/{id}/events``
returns exactly the events after the given id, then follows the turn (in memory on
the worker producing it, from the event log elsewhere) until ``turn.completed``. A
finished turn's rest comes from the log, or, once the log expired, as one
``turn.completed`` with the final state. Reading never moves the quota. SQLite and
PostgreSQL; two worker processes: test_turn_resume_workers.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import sqlalchemy as sa

from supportai.caller import Caller
from supportai.llm import Citation, Finish, TextDelta, Usage
from supportai.pipeline.prepare import prepare
from supportai.pipeline.turn import Turn
from supportai.store import tables
from supportai.testing import ScriptedBackend, as_user, backend_plugin, count_queries

SSE = {"accept": "text/event-stream"}
PIECES = ["Open ", "Settings, ", "then ", "Billing. ", "Export ", "the ", "invoices."]
ANSWER = "".join(PIECES)


def blocks(body: str) -> list[dict[str, Any]]:
    """SSE blocks as dicts: ``event``, ``id``, parsed ``data``; ``comment`` for pings."""
    found = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        fields: dict[str, Any] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                fields["comment"] = line[1:].strip()
            else:
                key, _, value = line.partition(": ")
                fields[key] = json.loads(value) if key == "data" else value
        found.append(fields)
    return found


def events_only(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in found if "event" in b]


def deltas(found: list[dict[str, Any]]) -> str:
    return "".join(b["data"]["text"] for b in found if b.get("event") == "delta")


def gated(gate: asyncio.Event, before: int = 2) -> ScriptedBackend:
    """An answer that pauses after ``before`` pieces until ``gate`` is set."""
    script: list[Any] = [TextDelta(p) for p in PIECES[:before]]
    script.append(gate.wait)
    script += [TextDelta(p) for p in PIECES[before:]]
    script += [Usage(10, len(ANSWER)), Finish("stop")]
    return ScriptedBackend([script])


async def setup(supportai_app: Any, supportai_client: Any, backend: Any, **settings: Any) -> Any:
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted", **settings)
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    return app, client, cid


async def started_turn(app: Any, cid: int, content: str = "how do I export?") -> Turn:
    runtime = app.state.supportai
    caller = Caller("t1", "u1")
    return Turn(runtime, caller, await prepare(runtime, caller, cid, content, None), content)


async def read_until_deltas(events: Any, count: int) -> list[Any]:
    seen = []
    while sum(1 for e in seen if e is not None and e.event == "delta") < count:
        event = await asyncio.wait_for(events.__anext__(), 10)
        if event is not None:
            seen.append(event)
    return seen


async def stored_answer(app: Any, cid: int, wait_s: float = 10) -> dict[str, Any]:
    M = tables.messages
    deadline = time.monotonic() + wait_s
    while True:
        async with app.state.supportai.database.connection() as conn:
            row = await conn.fetch_one(
                sa.select(M.c.content, M.c.status).where(
                    M.c.conversation_id == cid, M.c.role == "assistant"
                )
            )
        if row is not None:
            return {"content": row[0], "status": row[1]}
        assert time.monotonic() < deadline, "the answer was never saved"
        await asyncio.sleep(0.02)


async def test_resume_returns_exactly_the_events_after_the_last_id(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend(
        [
            [
                *(TextDelta(p) for p in PIECES[:4]),
                Citation("kb-1", "Exporting invoices", "/kb/1"),
                *(TextDelta(p) for p in PIECES[4:]),
                Usage(10, 40),
                Finish("stop"),
            ]
        ]
    )
    _app, client, cid = await setup(supportai_app, supportai_client, backend)
    live = await client.post(
        f"/conversations/{cid}/messages", json={"content": "export?"}, headers={**as_user(), **SSE}
    )
    original = events_only(blocks(live.text))
    turn = original[0]["data"]["user_message_id"]
    assert [b["id"] for b in original] == [f"{turn}:{n}" for n in range(1, len(original) + 1)]
    path = f"/conversations/{cid}/messages/{turn}/events"
    for k, last in enumerate(original):
        resumed = await client.get(path, headers={**as_user(), "Last-Event-ID": last["id"]})
        assert resumed.status_code == 200
        assert resumed.headers["content-type"].startswith("text/event-stream")
        assert events_only(blocks(resumed.text)) == original[k + 1 :]
    # the query parameter, for EventSource polyfills that cannot set headers
    by_query = await client.get(
        path, params={"last_event_id": original[2]["id"]}, headers=as_user()
    )
    assert events_only(blocks(by_query.text)) == original[3:]
    # no id: the whole turn, as it was sent
    assert events_only(blocks((await client.get(path, headers=as_user())).text)) == original
    # the answer's id names the same turn
    answer_id = original[-1]["data"]["message_id"]
    via_answer = await client.get(
        f"/conversations/{cid}/messages/{answer_id}/events",
        headers={**as_user(), "Last-Event-ID": original[1]["id"]},
    )
    assert events_only(blocks(via_answer.text)) == original[2:]


async def test_a_client_that_leaves_does_not_stop_the_turn_and_resumes_it_live(
    supportai_app: Any, supportai_client: Any
) -> None:
    """Same worker: the resume follows the running turn in memory, heartbeats included."""
    gate = asyncio.Event()
    app, client, cid = await setup(supportai_app, supportai_client, gated(gate), heartbeat_s=0.05)
    turn = await started_turn(app, cid)
    events = turn.events(0.05)
    seen = await read_until_deltas(events, 2)
    await events.aclose()  # the connection drops
    last = seen[-1].event_id
    resume = asyncio.create_task(
        client.get(
            f"/conversations/{cid}/messages/{turn.prepared.user_message_id}/events",
            headers={**as_user(), "Last-Event-ID": last},
        )
    )
    await asyncio.sleep(0.3)  # the resume waits on the live turn: heartbeats meanwhile
    assert turn.recorder is not None and app.state.supportai.live_turns.get(turn.recorder.turn)
    gate.set()
    found = blocks((await asyncio.wait_for(resume, 10)).text)
    assert any(b.get("comment") == "ping" for b in found)
    rest = events_only(found)
    assert [b["id"] for b in rest] == [
        f"{turn.prepared.user_message_id}:{n}"
        for n in range(seen[-1].id + 1, seen[-1].id + 1 + len(rest))
    ]
    assert rest[-1]["event"] == "turn.completed" and rest[-1]["data"]["status"] == "complete"
    text = "".join(e.data["text"] for e in seen if e.event == "delta") + deltas(rest)
    stored = await stored_answer(app, cid)
    assert text == stored["content"] == ANSWER  # nothing lost, nothing twice
    assert stored["status"] == "complete"


async def test_resume_from_the_log_when_the_turn_runs_elsewhere(
    supportai_app: Any, supportai_client: Any
) -> None:
    """Without the turn in this worker's memory the resume polls the log and ends on
    the logged ``turn.completed`` (what another worker sees)."""
    gate = asyncio.Event()
    app, client, cid = await setup(
        supportai_app, supportai_client, gated(gate, before=3), turn_events_flush_s=0.05
    )
    runtime = app.state.supportai
    turn = await started_turn(app, cid)
    events = turn.events()
    seen = await read_until_deltas(events, 2)
    await events.aclose()
    assert turn.recorder is not None
    runtime.live_turns.discard(turn.recorder)  # as if it ran on another worker
    deadline = time.monotonic() + 5
    while turn.recorder.logged < 4:  # the timer's batch reached the log
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    resume = asyncio.create_task(
        client.get(
            f"/conversations/{cid}/messages/{turn.prepared.user_message_id}/events",
            headers={**as_user(), "Last-Event-ID": seen[-1].event_id},
        )
    )
    await asyncio.sleep(0.2)
    gate.set()
    rest = events_only(blocks((await asyncio.wait_for(resume, 10)).text))
    assert rest[-1]["event"] == "turn.completed"
    assert "final_state" not in rest[-1]["data"]  # the logged one, not a reconstruction
    text = "".join(e.data["text"] for e in seen if e.event == "delta") + deltas(rest)
    assert text == (await stored_answer(app, cid))["content"] == ANSWER


async def test_after_the_log_expired_the_final_state_is_one_turn_completed(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([ScriptedBackend.answer(ANSWER, pieces=4)])
    app, client, cid = await setup(supportai_app, supportai_client, backend)
    live = events_only(
        blocks(
            (
                await client.post(
                    f"/conversations/{cid}/messages",
                    json={"content": "export?"},
                    headers={**as_user(), **SSE},
                )
            ).text
        )
    )
    turn = live[0]["data"]["user_message_id"]
    runtime = app.state.supportai
    async with runtime.database.connection() as conn:
        assert await conn.fetch_val(sa.select(sa.func.count()).select_from(tables.turn_events))
    # the sweep's cleanup, run as if the lifetime had passed
    await runtime._purge_turn_events(time.time() + runtime.settings.turn_events_ttl_s + 1)
    async with runtime.database.connection() as conn:
        left = await conn.fetch_val(sa.select(sa.func.count()).select_from(tables.turn_events))
    assert left == 0
    resumed = events_only(
        blocks(
            (
                await client.get(
                    f"/conversations/{cid}/messages/{turn}/events",
                    headers={**as_user(), "Last-Event-ID": live[2]["id"]},
                )
            ).text
        )
    )
    assert [b["event"] for b in resumed] == ["turn.completed"]
    final = resumed[0]["data"]
    assert final["final_state"] is True and final["content"] == ANSWER
    assert final["status"] == "complete" and final["message_id"] == live[-1]["data"]["message_id"]
    assert resumed[0]["id"] == f"{turn}:4"  # after the last id the client had


async def test_the_json_twin_and_reads_never_move_the_quota(
    supportai_app: Any, supportai_client: Any
) -> None:
    gate = asyncio.Event()
    app, client, cid = await setup(supportai_app, supportai_client, gated(gate))
    turn = await started_turn(app, cid)
    events = turn.events()
    await read_until_deltas(events, 2)
    await events.aclose()
    umid = turn.prepared.user_message_id
    running = await client.get(f"/conversations/{cid}/messages/{umid}/turn", headers=as_user())
    assert running.status_code == 409 and running.json()["reason"] == "turn_in_progress"
    gate.set()
    await asyncio.wait_for(turn.wait(), 10)
    before = (await client.get("/quota", headers=as_user())).json()
    body = (
        await client.get(f"/conversations/{cid}/messages/{umid}/turn", headers=as_user())
    ).json()
    assert body["content"] == ANSWER and body["status"] == "complete"
    assert body["user_message_id"] == umid and body["replayed"] is False
    assert body["usage"]["output_tokens"] == len(ANSWER)
    for _ in range(3):
        await client.get(f"/conversations/{cid}/messages/{umid}/events", headers=as_user())
        await client.get(f"/conversations/{cid}/messages/{umid}/turn", headers=as_user())
    after = (await client.get("/quota", headers=as_user())).json()
    assert after == before
    assert after["user_turns"]["used"] == 1 and after["user_cost_micros"]["reserved"] == 0


async def test_refused_turn_resumes_as_its_final_state(
    supportai_app: Any, supportai_client: Any
) -> None:
    from supportai.classifiers import Classification
    from supportai.testing import plugin

    class Refuse:
        name = "refuse"

        async def classify(self, message: Any) -> Classification:
            return Classification(intent="off_topic", confidence=1.0, refused=True)

    def supportai_register_classifiers(register: Any) -> None:
        register("refuse", lambda context: Refuse())

    backend = ScriptedBackend([ScriptedBackend.answer("never")])
    app = supportai_app(
        plugins=[
            backend_plugin(backend),
            plugin(supportai_register_classifiers=supportai_register_classifiers),
        ],
        llm_backend="scripted",
        classifiers=["refuse"],
        refused_intents=["off_topic"],
    )
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    live = events_only(
        blocks(
            (
                await client.post(
                    f"/conversations/{cid}/messages",
                    json={"content": "x"},
                    headers={**as_user(), **SSE},
                )
            ).text
        )
    )
    turn = live[0]["data"]["user_message_id"]
    assert live[0]["id"] == f"{turn}:1"
    resumed = events_only(
        blocks(
            (
                await client.get(
                    f"/conversations/{cid}/messages/{turn}/events",
                    headers={**as_user(), "Last-Event-ID": f"{turn}:1"},
                )
            ).text
        )
    )
    assert [b["event"] for b in resumed] == ["turn.completed"]
    assert resumed[0]["data"]["status"] == "refused"
    body = (
        await client.get(f"/conversations/{cid}/messages/{turn}/turn", headers=as_user())
    ).json()
    assert body["status"] == "refused" and body["refusal"]["reason"] == "intent_refused"


BAD_IDS = ["abc", "12", "1:x", ":3", "99999:1", "1:2:3", "-1:2", "1" * 50 + ":1"]


async def test_malformed_or_foreign_ids_are_422_and_unknown_turns_404(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([ScriptedBackend.answer("Hi.")])
    _app, client, cid = await setup(supportai_app, supportai_client, backend)
    turn = (
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "x"}, headers=as_user()
        )
    ).json()["user_message_id"]
    path = f"/conversations/{cid}/messages/{turn}/events"
    for value in BAD_IDS:
        r = await client.get(path, headers={**as_user(), "Last-Event-ID": value})
        assert r.status_code == 422 and r.json()["reason"] == "validation_error", value
        r = await client.get(path, params={"last_event_id": value}, headers=as_user())
        assert r.status_code == 422 and r.json()["reason"] == "validation_error", value
    other = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    for missing in (
        f"/conversations/{cid}/messages/{turn + 100}/events",
        f"/conversations/{other}/messages/{turn}/events",  # right turn, wrong conversation
        f"/conversations/{other}/messages/{turn}/turn",
    ):
        r = await client.get(missing, headers=as_user())
        assert r.status_code == 404 and r.json()["reason"] == "not_found", missing


async def test_a_short_turn_adds_no_write_transaction(
    supportai_app: Any, supportai_client: Any
) -> None:
    """The log's last (here only) batch rides in the transaction saving the answer."""
    backend = ScriptedBackend([ScriptedBackend.answer(ANSWER, pieces=7)])
    app, client, cid = await setup(supportai_app, supportai_client, backend)
    await client.post(f"/conversations/{cid}/messages", json={"content": "warm"}, headers=as_user())
    await app.state.supportai.sweep_finished()  # the first turn starts the quota sweep
    with count_queries() as counted:
        r = await client.post(
            f"/conversations/{cid}/messages", json={"content": "x"}, headers={**as_user(), **SSE}
        )
    assert r.status_code == 200
    assert 1 <= counted.transactions <= 3
    turn = events_only(blocks(r.text))[0]["data"]["user_message_id"]
    E = tables.turn_events
    async with app.state.supportai.database.connection() as conn:
        rows = await conn.fetch_all(
            sa.select(E.c.first_seq, E.c.last_seq).where(E.c.message_id == turn)
        )
    # one row: the whole turn in one batch, written with the answer
    assert [(row[0], row[1]) for row in rows] == [(1, len(events_only(blocks(r.text))))]


async def test_with_the_log_off_a_resume_still_gets_the_final_state(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([ScriptedBackend.answer(ANSWER, pieces=3)])
    app, client, cid = await setup(supportai_app, supportai_client, backend, turn_events_ttl_s=0)
    assert app.state.supportai.event_log is None
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "x"}, headers={**as_user(), **SSE}
    )
    live = events_only(blocks(r.text))
    turn = live[0]["data"]["user_message_id"]
    resumed = events_only(
        blocks(
            (
                await client.get(
                    f"/conversations/{cid}/messages/{turn}/events",
                    headers={**as_user(), "Last-Event-ID": live[1]["id"]},
                )
            ).text
        )
    )
    assert [b["event"] for b in resumed] == ["turn.completed"]
    assert resumed[0]["data"]["content"] == ANSWER


def test_a_batch_is_the_json_the_encoder_would_make_and_reads_back_event_for_event() -> None:
    """The batch text is put together by hand (from the events' own JSON) to keep the
    turn's end small; it must be exactly ``json.dumps``'s, and decode to the same events."""
    from supportai.pipeline.events import TurnEvent
    from supportai.resume.batch import decode_batch, encode_batch, other_json

    started = TurnEvent("turn.started", {"user_message_id": 7, "classification": None}, 5, 7)
    ended = TurnEvent("turn.completed", {"status": "complete", "usage": {"n": [1, 2.5]}}, 9, 7)
    pieces = ['Say "hi"\n', "naïve 日本 ", "\\ end"]
    lengths: list[int | None] = [None, *(len(p) for p in pieces), None]
    data = encode_batch(
        7,
        5,
        "".join(pieces),
        lengths,
        [other_json(e.event, e.payload()) for e in (started, ended)],
    )
    assert data is not None and (data.first, data.last) == (5, 9)
    expected = {
        "f": 5,
        "t": "".join(pieces),
        "n": lengths,
        "o": [[e.event, e.data] for e in (started, ended)],
    }
    assert data.data == json.dumps(expected, separators=(",", ":"), ensure_ascii=False)
    back = decode_batch(7, data.data, 0)
    assert [(e.event, e.data, e.id) for e in back] == [
        (started.event, started.data, 5),
        *(("delta", {"text": p}, seq) for seq, p in enumerate(pieces, 6)),
        (ended.event, ended.data, 9),
    ]
    assert [e.encode() for e in decode_batch(7, data.data, 7)] == [
        TurnEvent("delta", {"text": pieces[2]}, 8, 7).encode(),
        ended.encode(),
    ]
    assert encode_batch(7, 1, "", [], []) is None
