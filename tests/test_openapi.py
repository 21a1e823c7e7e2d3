"""The served OpenAPI document holds the contract, and the committed snapshot is current."""

from __future__ import annotations

from pathlib import Path

from supportai.openapi import snapshot
from supportai.testing import as_user

SNAPSHOT = Path(__file__).resolve().parent.parent / "docs" / "openapi-snapshot.json"

#: The API contract (shared/spec): method, path, operation summary, parameters.
CONTRACT = [
    ("get", "/cases", "List My Cases", {("status_filter", "query")}),
    ("post", "/cases", "Create Case", set()),
    ("get", "/cases/{case_id}", "Get My Case", {("case_id", "path")}),
    ("post", "/cases/{case_id}/comments", "Add My Case Comment", {("case_id", "path")}),
    ("get", "/conversations", "List Conversations", set()),
    ("post", "/conversations", "Create Conversation", set()),
    (
        "delete",
        "/conversations/{conversation_id}",
        "Delete Conversation",
        {("conversation_id", "path")},
    ),
    ("get", "/conversations/{conversation_id}", "Get Conversation", {("conversation_id", "path")}),
    (
        "post",
        "/conversations/{conversation_id}/escalate",
        "Escalate Conversation",
        {("conversation_id", "path")},
    ),
    (
        "post",
        "/conversations/{conversation_id}/feedback",
        "Submit Feedback",
        {("conversation_id", "path")},
    ),
    (
        "post",
        "/conversations/{conversation_id}/messages",
        "Create Message",
        {("conversation_id", "path"), ("accept", "header")},
    ),
    ("post", "/disclosure/accept", "Accept Disclosure", set()),
    ("get", "/disclosure/status", "Disclosure Status", set()),
    ("get", "/quota", "Get Quota Status", set()),
]


async def test_served_openapi_holds_every_contract_endpoint(supportai_app, supportai_client):
    client = supportai_client(supportai_app())
    document = (await client.get("/openapi.json")).json()
    for method, path, summary, params in CONTRACT:
        operation = document["paths"][path][method]
        assert operation["summary"] == summary
        declared = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
        assert params <= declared, (path, params - declared)


async def test_request_bodies_are_described(supportai_app, supportai_client):
    """Fuzzers and client generators need real schemas, not empty objects."""
    client = supportai_client(supportai_app())
    document = (await client.get("/openapi.json")).json()
    body = document["paths"]["/conversations/{conversation_id}/messages"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = document["components"]["schemas"][ref]
    assert schema["properties"]["content"]["maxLength"] > 0
    assert schema["additionalProperties"] is False


def test_committed_snapshot_is_current() -> None:
    assert SNAPSHOT.read_text() == snapshot(), (
        "docs/openapi-snapshot.json is stale: run `supportai openapi -o docs/openapi-snapshot.json`"
    )


async def test_openapi_needs_no_caller(supportai_app, supportai_client):
    client = supportai_client(supportai_app())
    assert (await client.get("/openapi.json", headers=as_user())).status_code == 200


async def test_no_swagger_ui_that_would_load_a_cdn(supportai_app, supportai_client):
    client = supportai_client(supportai_app())
    assert (await client.get("/docs")).status_code == 404
