"""The API contract as clients read it: ``Allow`` on 405, typed errors for bodies the
parser cannot take, the enforced limits stated in the served OpenAPI document, and
the disclosure text and link in ``disclosure/status``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportai.http_limits import MAX_JSON_DEPTH, json_depth_exceeds
from supportai.testing import as_user

ME = as_user()


async def _client(supportai_app: Any, supportai_client: Any, **overrides: Any) -> Any:
    return supportai_client(supportai_app(**overrides))


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "PATCH"])
async def test_a_collection_names_get_and_post_in_allow(
    supportai_app: Any, supportai_client: Any, method: str
) -> None:
    client = await _client(supportai_app, supportai_client)
    r = await client.request(method, "/conversations", headers=ME)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["reason"] == "method_not_allowed"


async def test_every_405_allows_exactly_the_documented_methods(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = supportai_app()
    client = supportai_client(app)
    paths = app.openapi()["paths"]
    for path, item in paths.items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        documented = sorted(method.upper() for method in item)
        r = await client.request("TRACE", concrete, headers=ME)
        assert r.status_code == 405, (path, r.text)
        assert r.headers["allow"] == ", ".join(documented), path


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_json_nested_a_thousand_deep_is_a_typed_422(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = await _client(supportai_app, supportai_client)
    for body in (_nested(1000), '{"title": ' + _nested(5000) + "}"):
        r = await client.post(
            "/conversations",
            content=body,
            headers={**ME, "content-type": "application/json"},
        )
        assert r.status_code == 422, r.text
        (item,) = r.json()["detail"]
        assert item["type"] == "json_too_deep"
        assert str(MAX_JSON_DEPTH) in item["msg"]


async def test_nesting_within_the_limit_is_ordinary_validation(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = await _client(supportai_app, supportai_client)
    body = '{"title": ' + _nested(MAX_JSON_DEPTH - 1) + "}"
    r = await client.post(
        "/conversations", content=body, headers={**ME, "content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "title"]


async def test_brackets_inside_strings_do_not_count_as_nesting(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = await _client(supportai_app, supportai_client)
    title = '[{"' * 60
    r = await client.post("/conversations", json={"title": title}, headers=ME)
    assert r.status_code == 200, r.text
    assert r.json()["title"] == title


async def test_undecodable_and_malformed_bodies_say_which(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = await _client(supportai_app, supportai_client)
    headers = {**ME, "content-type": "application/json"}
    bad_utf8 = await client.post("/conversations", content=b'{"title": "\xff"}', headers=headers)
    assert bad_utf8.status_code == 422
    assert bad_utf8.json()["detail"][0]["msg"] == "the body is not valid UTF-8"
    malformed = await client.post("/conversations", content=b'{"title": ', headers=headers)
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["type"] == "json_invalid"


# -- the limits in the document -------------------------------------------------------------


def _request_schemas(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    components = doc["components"]["schemas"]
    names = set()
    for item in doc["paths"].values():
        for operation in item.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schema = body["schema"]
                for ref in [schema, *schema.get("anyOf", [])]:
                    if "$ref" in ref:
                        names.add(ref["$ref"].rsplit("/", 1)[1])
    return {name: components[name] for name in names}


async def test_the_document_states_the_message_limit_the_turn_enforces(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = supportai_app(max_message_chars=1234)
    content = app.openapi()["components"]["schemas"]["CreateMessageRequest"]["properties"][
        "content"
    ]
    assert content["maxLength"] == 1234
    assert "SUPPORTAI_MAX_MESSAGE_CHARS" in content["description"]
    client = supportai_client(app)
    cid = (await client.post("/conversations", headers=ME)).json()["conversation_id"]
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "x" * 1235}, headers=ME
    )
    assert r.status_code == 422, r.text
    assert "1234" in r.json()["detail"][0]["msg"]


async def test_every_request_string_states_the_nul_rule(supportai_app: Any) -> None:
    doc = supportai_app().openapi()
    strings = 0
    for name, schema in _request_schemas(doc).items():
        for field, prop in schema.get("properties", {}).items():
            for branch in prop.get("anyOf", [prop]):
                if branch.get("type") == "string":
                    strings += 1
                    pattern = branch.get("pattern")
                    assert pattern, (name, field)
                    # ECMA-262 and Python agree on this syntax; the pattern must refuse NUL.
                    assert re.search(pattern, "a\x00b") is None, (name, field, pattern)
    assert strings >= 10


async def test_the_document_states_helpful_or_rating(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = supportai_app()
    schema = app.openapi()["components"]["schemas"]["FeedbackRequest"]
    assert sorted(tuple(branch["required"]) for branch in schema["anyOf"]) == [
        ("helpful",),
        ("rating",),
    ]
    client = supportai_client(app)
    cid = (await client.post("/conversations", headers=ME)).json()["conversation_id"]
    for body in ({}, {"comment": "meh"}, {"helpful": None}):
        r = await client.post(f"/conversations/{cid}/feedback", json=body, headers=ME)
        assert r.status_code == 422, (body, r.text)
    ok = await client.post(f"/conversations/{cid}/feedback", json={"rating": 4}, headers=ME)
    assert ok.status_code == 200, ok.text


async def test_the_document_states_the_current_disclosure_version(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = supportai_app(disclosure_version="2027-03")
    version = app.openapi()["components"]["schemas"]["AcceptDisclosureRequest"]["properties"][
        "version"
    ]
    assert version["enum"] == ["2027-03"]
    client = supportai_client(app)
    stale = await client.post("/disclosure/accept", json={"version": "2026-01"}, headers=ME)
    assert stale.status_code == 422
    current = await client.post("/disclosure/accept", json={"version": "2027-03"}, headers=ME)
    assert current.status_code == 200, current.text


# -- disclosure text and link ------------------------------------------------------------------


async def test_disclosure_status_carries_the_text_and_link(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = await _client(
        supportai_app,
        supportai_client,
        disclosure_text="Acme's assistant is an AI. It can be wrong.",
        disclosure_url="https://acme.example/ai-disclosure",
    )
    status = (await client.get("/disclosure/status", headers=ME)).json()
    assert status["text"] == "Acme's assistant is an AI. It can be wrong."
    assert status["url"] == "https://acme.example/ai-disclosure"
    accepted = await client.post(
        "/disclosure/accept", json={"version": status["current_version"]}, headers=ME
    )
    assert accepted.json()["text"] == status["text"]
    assert accepted.json()["url"] == status["url"]


async def test_the_default_disclosure_says_it_is_an_ai(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = await _client(supportai_app, supportai_client)
    status = (await client.get("/disclosure/status", headers=ME)).json()
    assert "AI" in status["text"] and status["url"] is None
    # Older clients read only the original fields: they are all still there.
    assert {"accepted", "accepted_version", "current_version", "accepted_at", "required"} <= set(
        status
    )


# -- the depth scan itself ---------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,: \n'),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=3)
    ),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=JSON_VALUES, limit=st.integers(min_value=0, max_value=6))
def test_the_depth_scan_agrees_with_the_parsed_depth(value: Any, limit: int) -> None:
    """Brackets and quotes inside strings (escaped or not) never count as nesting."""
    body = json.dumps(value).encode()
    assert json_depth_exceeds(body, limit) == (_depth(value) > limit)


def test_an_unterminated_string_ends_the_scan() -> None:
    body = b"[" * 40 + b'"' + b'\\"' * 100_000
    assert json_depth_exceeds(body)  # the brackets before the string still count
