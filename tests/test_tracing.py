"""OpenTelemetry spans of a turn: names, parent-child structure, attributes, no personal data.

Core depends on ``opentelemetry-api`` only; these tests install the SDK's tracer
provider with an in-memory exporter (a test dependency), as a host would install
its own provider and exporter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from supportai.llm import BackendError, TextDelta
from supportai.settings import Settings
from supportai.testing import ScriptedBackend, as_user, backend_plugin

QUESTION = "My name is Alice Example, how do I reset my password?"
ANSWER = "Open Settings, then Security, then Reset."

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider, set once (OpenTelemetry allows one per process)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def build(factory: Any, settings: Settings, rounds: list[list[Any]], **overrides: Any) -> Any:
    return factory(
        settings.model_copy(update={"llm_backend": "scripted", **overrides}),
        plugins=[backend_plugin(ScriptedBackend(rounds))],
    )


async def turn(client: Any) -> tuple[int, Any]:
    r = await client.post("/conversations", json={"title": "Help"}, headers=as_user("t1", "u1"))
    cid = int(r.json()["conversation_id"])
    r = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": QUESTION},
        headers={**as_user("t1", "u1"), "accept": "application/json"},
    )
    return cid, r


def by_name(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        found.setdefault(span.name, []).append(span)
    return found


def ancestors(span: ReadableSpan, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    by_id = {s.context.span_id: s for s in exporter.get_finished_spans()}
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


async def test_a_turn_is_a_tree_of_stage_and_backend_spans(
    spans: InMemorySpanExporter,
    supportai_app: Any,
    supportai_settings: Settings,
    supportai_client: Any,
) -> None:
    script = ScriptedBackend.answer(ANSWER, 3)
    app = build(supportai_app, supportai_settings, [script])
    cid, r = await turn(supportai_client(app))
    assert r.status_code == 200
    found = by_name(spans)

    prepare = found["supportai.turn.prepare"][0]
    answer = found["supportai.turn.answer"][0]
    backend = found["supportai.backend.stream"][0]
    # Both phases of the turn hang under the request's span (a framework span such
    # as FastAPI's own endpoint span may sit in between).
    turn_request = next(s for s in found["supportai.request"] if s in ancestors(prepare, spans))
    assert turn_request in ancestors(answer, spans)
    for stage in ("quota", "classify", "persist"):
        assert any(
            s.parent.span_id == prepare.context.span_id  # type: ignore[union-attr]
            for s in found[f"supportai.stage.{stage}"]
        ), stage
    assert backend.parent.span_id == answer.context.span_id  # type: ignore[union-attr]
    for stage in ("backend", "filter", "persist"):
        assert any(
            s.parent.span_id == answer.context.span_id  # type: ignore[union-attr]
            for s in found[f"supportai.stage.{stage}"]
        ), stage
    # One trace for the whole turn.
    assert {prepare.context.trace_id, answer.context.trace_id, backend.context.trace_id} == {
        turn_request.context.trace_id
    }

    assert prepare.attributes is not None and answer.attributes is not None
    assert prepare.attributes["supportai.tenant_id"] == "t1"
    assert prepare.attributes["supportai.conversation_id"] == cid
    assert prepare.attributes["supportai.outcome"] == "admitted"
    assert answer.attributes["supportai.status"] == "complete"
    assert answer.attributes["supportai.backend"] == "scripted"
    assert answer.attributes["supportai.tenant_id"] == "t1"
    assert backend.attributes is not None
    assert backend.attributes["supportai.backend"] == "scripted"
    assert backend.attributes["supportai.model"] == "scripted-model"
    assert backend.attributes["supportai.deltas"] == sum(isinstance(e, TextDelta) for e in script)
    assert backend.status.status_code is StatusCode.OK
    assert turn_request.attributes is not None
    assert turn_request.attributes["supportai.request_id"] == r.headers["x-request-id"]
    assert turn_request.attributes["http.response.status_code"] == 200


async def test_no_span_attribute_carries_message_text_or_the_user(
    spans: InMemorySpanExporter,
    supportai_app: Any,
    supportai_settings: Settings,
    supportai_client: Any,
) -> None:
    app = build(supportai_app, supportai_settings, [ScriptedBackend.answer(ANSWER, 2)])
    await turn(supportai_client(app))
    values = [
        str(v) for span in spans.get_finished_spans() for v in (span.attributes or {}).values()
    ]
    assert values
    for value in values:
        assert value != "u1", "the user's identity is personal data"
        for text in (QUESTION, ANSWER):
            assert not any(word in value for word in text.split() if len(word) > 4), value


async def test_a_failed_backend_call_and_a_rejected_turn_mark_their_spans(
    spans: InMemorySpanExporter,
    supportai_app: Any,
    supportai_settings: Settings,
    supportai_client: Any,
) -> None:
    app = build(
        supportai_app,
        supportai_settings,
        [[BackendError("provider down")]],
        rate_limit_user_turns=1,
    )
    client = supportai_client(app)
    cid, r = await turn(client)
    assert r.json()["status"] == "error"
    found = by_name(spans)
    backend = found["supportai.backend.stream"][0]
    assert backend.status.status_code is StatusCode.ERROR
    assert backend.attributes is not None
    assert backend.attributes["supportai.reason"] == "BackendError"
    assert found["supportai.turn.answer"][0].attributes["supportai.status"] == "error"  # type: ignore[index]

    spans.clear()
    r = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": QUESTION},
        headers={**as_user("t1", "u1"), "accept": "application/json"},
    )
    assert r.status_code == 429
    prepare = by_name(spans)["supportai.turn.prepare"][0]
    assert prepare.status.status_code is StatusCode.ERROR
    assert prepare.attributes is not None
    assert prepare.attributes["supportai.reason"] == "rate_limited"


async def test_without_a_configured_provider_no_span_is_even_started(
    spans: InMemorySpanExporter,
    supportai_app: Any,
    supportai_settings: Settings,
    supportai_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default (no SDK): the pipeline skips its spans instead of making no-op ones."""
    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)
    app = build(supportai_app, supportai_settings, [ScriptedBackend.answer(ANSWER)])
    _, r = await turn(supportai_client(app))
    assert r.status_code == 200 and r.json()["status"] == "complete"
    assert len(r.headers["x-request-id"]) == 32
    assert not [s for s in spans.get_finished_spans() if s.name.startswith("supportai.")]
