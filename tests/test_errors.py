"""The reason-code vocabulary, its documentation, and request-level limits."""

from __future__ import annotations

import re
from pathlib import Path

from supportai.errors import STATUS, Reason
from supportai.testing import as_user

DOCS = Path(__file__).resolve().parent.parent / "docs" / "errors.md"


def test_every_reason_is_documented_with_its_status() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| (\d{3}) \|", DOCS.read_text(), re.MULTILINE))
    assert set(rows) == {r.value for r in Reason}
    for reason in Reason:
        assert int(rows[reason.value]) == STATUS[reason], reason


async def test_oversized_body_is_413_and_creates_nothing(supportai_app, supportai_client) -> None:
    client = supportai_client(supportai_app())
    big = {"title": "x" * 300_000}
    response = await client.post("/conversations", json=big, headers=as_user())
    assert response.status_code == 413
    assert response.json()["reason"] == "payload_too_large"
    listed = await client.get("/conversations", headers=as_user())
    assert listed.json()["items"] == []


async def test_non_json_body_is_415(supportai_app, supportai_client) -> None:
    client = supportai_client(supportai_app())
    response = await client.post(
        "/conversations",
        content=b"title=hello",
        headers={**as_user(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json() == {
        "degraded": True,
        "reason": "unsupported_media_type",
        "detail": "send the body as application/json",
    }


async def test_invalid_json_is_a_422_list(supportai_app, supportai_client) -> None:
    client = supportai_client(supportai_app())
    response = await client.post(
        "/conversations",
        content=b'{"title": "unterminated',
        headers={**as_user(), "content-type": "application/json"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "validation_error"
    assert body["detail"][0]["loc"][0] == "body"
