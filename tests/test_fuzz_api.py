"""API fuzzing with schemathesis against the OpenAPI document the app serves (issue 8.1).

Every operation is fuzzed as a logged-in user and as an admin, with inputs that fit
the schema (positive) and inputs that break it (negative). For every response:

* never a 5xx;
* the status code, content type and body are those the schema documents;
* every 4xx is the typed error shape ``{"degraded": true, "reason": ..., "detail": ...}``;
* schema-violating input is rejected (4xx), never accepted.

The app runs in-process (ASGI, schemathesis' own client) on SQLite with a scripted
backend, seeded so that ids 1..N exist for the fuzzed caller: generated ids hit real
objects as well as missing ones. ``SUPPORTAI_FUZZ_EXAMPLES`` sets the examples per
operation and mode (default 25; the ``long`` tox environment runs 300).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import egress_guard
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from supportai.app import create_app
from supportai.errors import Reason
from supportai.settings import Settings
from supportai.testing import (
    HeaderCaller,
    ScriptedBackend,
    as_admin,
    as_user,
    backend_plugin,
    postgres_url,
)

EXAMPLES = int(
    os.environ.get(
        "SUPPORTAI_FUZZ_EXAMPLES", "300" if os.environ.get("SUPPORTAI_LONG_TESTS") == "1" else "25"
    )
)
REASONS = {r.value for r in Reason}
CALLERS = {"user": as_user("fz", "fuzzer"), "admin": as_admin("fz", "fuzz-admin")}


def _settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auto_migrate=True,
        disclosure_required=False,
        llm_backend="scripted",
        rate_limit_user_turns=100_000,
        rate_limit_tenant_turns=100_000,
        user_daily_cost_cap_micros=10**12,
        tenant_monthly_cost_cap_micros=10**12,
    )


def _build(database_url: str) -> Any:
    backend = ScriptedBackend([ScriptedBackend.answer("Open Settings, then Export.", pieces=3)])
    return create_app(
        _settings(database_url),
        [HeaderCaller(), backend_plugin(backend)],
        load_entry_points=False,
    )


def _document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        doc: dict[str, Any] = _build(f"sqlite+aiosqlite:///{folder}/schema.db").openapi()
    return doc


DOCUMENT = _document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_app(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """One seeded app per engine for the whole module (PostgreSQL rejects what SQLite
    silently stores, e.g. NUL characters, so both are fuzzed)."""
    if request.param == "sqlite":
        folder: Path = tmp_path_factory.mktemp("fuzz")
        urls: Iterator[str] = iter([f"sqlite+aiosqlite:///{folder / 'fuzz.db'}"])
    else:
        urls = postgres_url()
    url = next(urls)
    app = _build(url)
    client = asgi.get_client(app)
    _seed(client)
    yield app
    asgi.shutdown_lifespans()
    for _ in urls:  # drops the PostgreSQL database
        pass


def _seed(client: Any) -> None:
    """Objects with small ids for the fuzzed caller: conversations, turns, a case,
    negative feedback (so candidates and flagged conversations exist for the admin),
    help-center articles."""
    user = CALLERS["user"]
    for n in range(3):
        r = client.post("/conversations", json={"title": f"seed {n}"}, headers=user)
        assert r.status_code == 200, r.text
        cid = r.json()["conversation_id"]
        r = client.post(
            f"/conversations/{cid}/messages", json={"content": "How to export?"}, headers=user
        )
        assert r.status_code == 200, r.text
        r = client.post(
            f"/conversations/{cid}/feedback",
            json={"helpful": False, "comment": "wrong"},
            headers=user,
        )
        assert r.status_code == 200, r.text
        r = client.post(
            "/cases",
            json={"subject": "s", "description": "d", "conversation_id": cid},
            headers=user,
        )
        assert r.status_code == 200, r.text
    r = client.post("/disclosure/accept", json={"version": "2026-01"}, headers=user)
    assert r.status_code == 200, r.text
    for n in range(3):  # help-center articles, so article ids 1..3 are real for the admin
        r = client.post(
            "/admin/articles",
            json={"slug": f"seed-{n}", "title": f"Seed {n}", "body": "# Seed\n\nText."},
            headers=CALLERS["admin"],
        )
        assert r.status_code == 200, r.text


def _typed_error(response: Any, label: str) -> None:
    """Every 4xx (and the documented 503s) carries the one degraded shape."""
    if response.status_code < 400:
        return
    body = response.json()
    assert body.get("degraded") is True, (label, response.status_code, body)
    assert body.get("reason") in REASONS, (label, body)
    assert body.get("detail"), (label, body)
    if body["reason"] == "validation_error":
        assert isinstance(body["detail"], list), body
    else:
        assert isinstance(body["detail"], str), body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _has_input(label: str) -> bool:
    """Negative cases need something to break: a parameter or a body."""
    raw = DOCUMENT["paths"][OPERATIONS[label].path][OPERATIONS[label].method.lower()]
    return bool(raw.get("parameters") or raw.get("requestBody"))


COMBINATIONS = [
    (label, mode)
    for label in sorted(OPERATIONS)
    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    if mode is schemathesis.GenerationMode.POSITIVE or _has_input(label)
]


@pytest.mark.parametrize("role", sorted(CALLERS))
@pytest.mark.parametrize(
    ("label", "mode"), COMBINATIONS, ids=[f"{op}-{m}" for op, m in COMBINATIONS]
)
def test_fuzz_operation(fuzz_app: Any, label: str, mode: Any, role: str) -> None:
    operation = OPERATIONS[label]
    headers = CALLERS[role]
    checks = [*CHECKS, negative_data_rejection] if mode.is_negative else CHECKS
    with asgi.get_client(fuzz_app) as session:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), sse=st.booleans())
        def run(case: Any, sse: bool) -> None:
            egress_guard.count("fuzz cases")
            case.headers = {**(case.headers or {}), **headers}
            if sse and label.startswith("POST /conversations/{conversation_id}/messages"):
                case.headers["accept"] = "text/event-stream"
            response = case.call(session=session)
            assert response.status_code < 500, (label, response.status_code, response.text)
            case.validate_response(response, checks=checks, headers=case.headers)
            _typed_error(response, label)
            content_type = response.headers.get("content-type") or [""]
            if str(content_type[0]).startswith("text/event-stream"):
                _sse_is_well_formed(response.text)

        with egress_guard.timed("fuzzing"):
            run()
    egress_guard.count("fuzz operations")


def _sse_is_well_formed(body: str) -> None:
    """Each event block has a name and JSON data; the stream ends with turn.completed."""
    names = []
    for block in filter(None, body.split("\n\n")):
        lines = [line for line in block.split("\n") if not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        names.append(fields["event"])
        json.loads(fields["data"])
    assert names and names[-1] == "turn.completed", names


def test_every_operation_is_fuzzed_and_described() -> None:
    """The document the fuzzer reads describes real bodies: no empty request or 200 schemas."""
    paths = DOCUMENT["paths"]
    assert len(OPERATIONS) >= 24, sorted(OPERATIONS)
    for path, item in paths.items():
        for method, op in item.items():
            content = op["responses"]["200"]["content"]
            if "application/json" not in content:  # a stream only (resuming a turn's events)
                assert content["text/event-stream"]["schema"]["required"] == ["event", "data"]
                continue
            ok = content["application/json"]["schema"]
            assert ok.get("$ref") or ok.get("anyOf") or ok.get("properties"), (method, path)
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]["schema"]
                assert body.get("$ref") or body.get("anyOf"), (method, path)
