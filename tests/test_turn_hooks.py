"""The hooks the turn calls: grounding context from every plugin, and the
``supportai_turn_completed`` observers for each way a turn can end.

Runs on SQLite and PostgreSQL (the ``engine`` fixture in conftest).
"""

from __future__ import annotations

import asyncio
from typing import Any

from supportai.classifiers import Classification, ClassifierInput
from supportai.filters import FilterContext, FilterStream, HoldbackStream
from supportai.llm import BackendError, ContextDocument, TextDelta
from supportai.testing import ScriptedBackend, as_user, backend_plugin, plugin


def observer(events: list[dict[str, Any]]) -> object:
    async def supportai_turn_completed(event: Any) -> None:
        await asyncio.sleep(0)  # async observers are awaited
        events.append(dict(event))

    return plugin(supportai_turn_completed=supportai_turn_completed)


async def conversation(client: Any) -> int:
    r = await client.post("/conversations", json={}, headers=as_user())
    return int(r.json()["conversation_id"])


async def test_context_from_every_plugin_reaches_the_backend(
    supportai_app: Any, supportai_client: Any
) -> None:
    asked: list[tuple[str, str, int]] = []

    def docs(prefix: str) -> object:
        def supportai_retrieve_context(
            query: str, caller: Any, limit: int, context: Any
        ) -> list[ContextDocument]:
            asked.append((prefix, query, limit))
            assert context.settings.llm_backend == "scripted"  # this app's own settings
            return [ContextDocument(f"{prefix}-1", f"{prefix} article", f"{prefix} text")]

        return plugin(supportai_retrieve_context=supportai_retrieve_context)

    backend = ScriptedBackend([ScriptedBackend.answer("ok")])
    app = supportai_app(
        plugins=[backend_plugin(backend), docs("kb"), docs("faq")], llm_backend="scripted"
    )
    client = supportai_client(app)
    cid = await conversation(client)
    await client.post(
        f"/conversations/{cid}/messages", json={"content": "reset password"}, headers=as_user()
    )
    assert sorted(asked) == [("faq", "reset password", 3), ("kb", "reset password", 3)]
    assert sorted(d.source_id for d in backend.requests[0].context) == ["faq-1", "kb-1"]


async def test_a_suggestion_is_grounding_for_the_filters_but_not_an_answer(
    supportai_app: Any, supportai_client: Any
) -> None:
    """A document marked ``suggestion`` (close, not an answer) is what the turn may show,
    so the output filters count it as published; the backend is not handed it to cite,
    and the turn reports that retrieval found nothing."""
    seen: list[tuple[str, ...]] = []

    class Recorder:
        name = "recorder"

        def open(self, context: FilterContext) -> FilterStream:
            seen.append(context.grounding)
            return HoldbackStream(lambda text: [], holdback=4, step=4)

    def supportai_retrieve_context(
        query: str, caller: Any, limit: int, context: Any
    ) -> list[ContextDocument]:
        return [
            ContextDocument(
                "contact",
                "Contacting us",
                "Write to us.",
                grounding="Write to help@x.example.",
                suggestion=True,
            )
        ]

    found: list[int] = []

    def supportai_retrieval_completed(event: Any) -> None:
        found.append(event["documents"])

    backend = ScriptedBackend([ScriptedBackend.answer("ok")])
    app = supportai_app(
        plugins=[
            backend_plugin(backend),
            plugin(
                supportai_retrieve_context=supportai_retrieve_context,
                supportai_retrieval_completed=supportai_retrieval_completed,
                supportai_register_output_filters=lambda register: register(
                    "recorder", lambda context: Recorder()
                ),
            ),
        ],
        llm_backend="scripted",
        output_filters=["recorder"],
    )
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "how to reach you"}, headers=as_user()
    )
    assert r.status_code == 200, r.text
    assert seen == [("Write to help@x.example.",)]
    assert backend.requests[0].context == ()
    assert found == [0]


async def test_turn_completed_observers_see_every_outcome(
    supportai_app: Any, supportai_client: Any
) -> None:
    class Guard:
        name = "guard"

        async def classify(self, message: ClassifierInput) -> Classification:
            refused = "jailbreak" in message.text
            return Classification("jailbreak" if refused else "question", 0.9, refused, "guard")

    def supportai_register_classifiers(register: Any) -> None:
        register("guard", lambda context: Guard())

    events: list[dict[str, Any]] = []
    backend = ScriptedBackend(
        [
            ScriptedBackend.answer("Fine.", usage=(10, 2)),
            [TextDelta("Half"), BackendError("reset")],
        ]
    )
    app = supportai_app(
        plugins=[
            backend_plugin(backend),
            observer(events),
            plugin(supportai_register_classifiers=supportai_register_classifiers),
        ],
        llm_backend="scripted",
        classifiers=["guard"],
    )
    client = supportai_client(app)
    cid = await conversation(client)
    done = (
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "hello"}, headers=as_user()
        )
    ).json()
    refused = (
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "jailbreak now"}, headers=as_user()
        )
    ).json()
    failed = (
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "more"}, headers=as_user()
        )
    ).json()

    assert [e["status"] for e in events] == ["complete", "refused", "interrupted"]
    first, second, third = events
    assert (first["tenant_id"], first["user_id"], first["conversation_id"]) == ("t1", "u1", cid)
    assert first["user_message_id"] == done["user_message_id"]
    assert first["message_id"] == done["assistant_message_id"]
    assert first["intent"] == "question"
    assert first["usage"] == {"input_tokens": 10, "output_tokens": 2}
    assert first["cost_micros"] == done["usage"]["cost_micros"] == 14
    assert {"quota", "classify", "backend", "persist"} <= set(first["timings_ms"])
    assert second["message_id"] is None and second["intent"] == "jailbreak"
    assert second["cost_micros"] == 0
    assert second["user_message_id"] == refused["user_message_id"]
    assert third["message_id"] == failed["assistant_message_id"]
    assert third["cost_micros"] == failed["usage"]["cost_micros"] > 0


async def test_a_failing_observer_does_not_fail_the_turn(
    supportai_app: Any, supportai_client: Any
) -> None:
    def supportai_turn_completed(event: Any) -> None:
        raise RuntimeError("observer bug")

    app = supportai_app(
        plugins=[
            backend_plugin(ScriptedBackend([ScriptedBackend.answer("ok")])),
            plugin(supportai_turn_completed=supportai_turn_completed),
        ],
        llm_backend="scripted",
    )
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers=as_user()
    )
    assert r.status_code == 200 and r.json()["status"] == "complete"
    q = (await client.get("/quota", headers=as_user())).json()
    assert q["user_cost_micros"]["reserved"] == 0
