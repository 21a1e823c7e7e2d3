"""Request ids (``X-Request-ID``) and the ids on every log record during a request."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from supportai.llm import BackendError
from supportai.settings import Settings
from supportai.telemetry.middleware import request_id_from
from supportai.testing import ScriptedBackend, as_user, backend_plugin, parse_sse, plugin


@pytest.mark.parametrize(
    "incoming",
    ["3f2b8c1e-6a4d-4d0e-9b7a-2c1d5e6f7a8b", "01HZY3K5V6W7X8Y9Z0ABCDEFGH", "req-42.edge:7"],
)
def test_a_well_formed_incoming_id_is_kept(incoming: str) -> None:
    assert request_id_from(incoming) == incoming


@pytest.mark.parametrize(
    "incoming", [None, "", "has space", "x" * 129, "id\r\nX-Evil: 1", "-leading-dash", "ünïcode"]
)
def test_anything_else_gets_a_fresh_id(incoming: str | None) -> None:
    generated = request_id_from(incoming)
    assert generated != incoming and len(generated) == 32
    assert request_id_from(incoming) != generated  # fresh each time


async def test_the_response_echoes_the_request_id_or_a_generated_one(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = supportai_client(supportai_app())
    r = await client.get("/conversations", headers={**as_user(), "X-Request-ID": "edge-123"})
    assert r.headers["x-request-id"] == "edge-123"
    r = await client.get("/conversations", headers={**as_user(), "X-Request-ID": "bad id"})
    assert len(r.headers["x-request-id"]) == 32 and r.headers["x-request-id"] != "bad id"
    r = await client.get("/conversations")  # refused (401) responses carry one too
    assert r.status_code == 401 and len(r.headers["x-request-id"]) == 32


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream"])
async def test_log_records_of_a_turn_carry_request_tenant_conversation_and_turn_ids(
    accept: str,
    supportai_app: Any,
    supportai_settings: Settings,
    supportai_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The backend failure is logged by the answer's own task, in core; the observer
    (``supportai_turn_completed``) logs as a plugin would: both carry the ids."""
    plugin_log = logging.getLogger("some_plugin")

    def supportai_turn_completed(event: Any) -> None:
        plugin_log.warning("turn ended")

    app = supportai_app(
        supportai_settings.model_copy(update={"llm_backend": "scripted"}),
        plugins=[
            backend_plugin(ScriptedBackend([[BackendError("provider down")]])),
            plugin(supportai_turn_completed=supportai_turn_completed),
        ],
    )
    client = supportai_client(app)
    r = await client.post("/conversations", json={"title": "Help"}, headers=as_user("t9", "u9"))
    cid = r.json()["conversation_id"]
    caplog.set_level(logging.WARNING)
    r = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "hello"},
        headers={**as_user("t9", "u9"), "accept": accept, "X-Request-ID": "rq-7"},
    )
    assert r.headers["x-request-id"] == "rq-7"
    if accept == "application/json":
        turn_id = str(r.json()["user_message_id"])
    else:  # the stream is relayed by a task of the response: the ids follow it there
        started = dict(parse_sse(r.text))["turn.started"]
        turn_id = str(started["user_message_id"])
    records = [rec for rec in caplog.records if rec.name in ("supportai.turn", "some_plugin")]
    assert {rec.name for rec in records} == {"supportai.turn", "some_plugin"}
    for record in records:
        assert record.request_id == "rq-7"  # type: ignore[attr-defined]
        assert record.tenant_id == "t9"  # type: ignore[attr-defined]
        assert record.conversation_id == str(cid)  # type: ignore[attr-defined]
        assert record.turn_id == turn_id  # type: ignore[attr-defined]

    caplog.clear()
    logging.getLogger("some_plugin").warning("outside any request")
    (outside,) = caplog.records
    assert (outside.request_id, outside.tenant_id) == ("-", "-")  # type: ignore[attr-defined]


async def test_an_unexpected_error_still_answers_with_the_request_id(
    supportai_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def supportai_master_flag(tenant_id: str) -> bool:
        raise RuntimeError("boom")

    app = supportai_app(plugins=[plugin(supportai_master_flag=supportai_master_flag)])
    # A server answers the 500 and goes on; the test transport would re-raise instead.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.post("/conversations", json={"title": "x"}, headers=as_user())
        cid = r.json()["conversation_id"]
        r = await client.post(
            f"/conversations/{cid}/messages",
            json={"content": "hello"},
            headers={**as_user(), "X-Request-ID": "rq-500"},
        )
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "rq-500"
    (failure,) = [rec for rec in caplog.records if rec.getMessage().startswith("unhandled error")]
    assert failure.request_id == "rq-500"  # type: ignore[attr-defined]
