"""Escalation to a human: status, ticket URL, snapshot, idempotency, read-only afterwards.

Runs on SQLite and PostgreSQL (the ``engine`` fixture in conftest).
"""

from __future__ import annotations

from typing import Any

from supportai.classifiers import Classification, ClassifierInput
from supportai.llm import Citation, Finish, TextDelta, Usage
from supportai.testing import ScriptedBackend, as_user, backend_plugin, plugin


class Intent:
    name = "intent"

    async def classify(self, message: ClassifierInput) -> Classification:
        return Classification("billing_question", 0.8, False, "intent")


def classifier_plugin() -> object:
    def supportai_register_classifiers(register: Any) -> None:
        register("intent", lambda context: Intent())

    return plugin(supportai_register_classifiers=supportai_register_classifiers)


async def conversation_with_a_turn(client: Any, headers: dict[str, str] | None = None) -> int:
    headers = headers or as_user()
    r = await client.post("/conversations", json={"title": "Refund"}, headers=headers)
    cid = int(r.json()["conversation_id"])
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "refund please"}, headers=headers
    )
    assert r.status_code == 200, r.text
    return cid


def app_with(supportai_app: Any, *extra: object, **settings: Any) -> Any:
    backend = ScriptedBackend(
        [
            [
                TextDelta("I cannot issue refunds."),
                Citation("kb-9", "Refunds", "https://help.example/refunds"),
                Usage(10, 5),
                Finish("stop"),
            ]
        ]
    )
    return supportai_app(
        plugins=[backend_plugin(backend), classifier_plugin(), *extra],
        llm_backend="scripted",
        classifiers=["intent"],
        **settings,
    )


async def test_escalate_returns_ticket_url_and_snapshot(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = app_with(supportai_app)
    client = supportai_client(app)
    cid = await conversation_with_a_turn(client)
    r = await client.post(
        f"/conversations/{cid}/escalate",
        json={"reason": "missing_knowledge", "note": "wants a refund"},
        headers=as_user(),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["conversation_id"] == cid
    assert body["status"] == "escalated"
    assert body["already_escalated"] is False
    assert body["ticket_url"] == f"/support/tickets/new?conversation_id={cid}"
    snapshot = body["snapshot"]
    assert snapshot["conversation_id"] == cid and snapshot["title"] == "Refund"
    assert (snapshot["reason"], snapshot["note"]) == ("missing_knowledge", "wants a refund")
    assert snapshot["last_classification"] == {
        "intent": "billing_question",
        "confidence": 0.8,
        "refused": False,
        "classifier": "intent",
    }
    transcript = snapshot["transcript"]
    assert [(m["role"], m["content"]) for m in transcript] == [
        ("user", "refund please"),
        ("assistant", "I cannot issue refunds."),
    ]
    assert transcript[1]["citations"] == [
        {"source_id": "kb-9", "title": "Refunds", "url": "https://help.example/refunds"}
    ]
    detail = (await client.get(f"/conversations/{cid}", headers=as_user())).json()
    assert detail["status"] == "escalated"
    assert detail["escalation_reason"] == "missing_knowledge"


async def test_escalating_twice_is_idempotent(supportai_app: Any, supportai_client: Any) -> None:
    notified: list[dict[str, Any]] = []

    def supportai_conversation_escalated(event: Any) -> None:
        notified.append(dict(event))

    app = app_with(
        supportai_app,
        plugin(supportai_conversation_escalated=supportai_conversation_escalated),
    )
    client = supportai_client(app)
    cid = await conversation_with_a_turn(client)
    first = (
        await client.post(
            f"/conversations/{cid}/escalate",
            json={"reason": "policy_restriction", "note": "first"},
            headers=as_user(),
        )
    ).json()
    second = await client.post(
        f"/conversations/{cid}/escalate",
        json={"reason": "other", "note": "second"},
        headers=as_user(),
    )
    assert second.status_code == 200
    again = second.json()
    assert again["already_escalated"] is True
    # The original reason and note stand.
    assert (again["snapshot"]["reason"], again["snapshot"]["note"]) == (
        "policy_restriction",
        "first",
    )
    assert again["ticket_url"] == first["ticket_url"]
    assert len(notified) == 1
    event = notified[0]
    assert (event["tenant_id"], event["user_id"], event["conversation_id"]) == ("t1", "u1", cid)
    assert event["reason"] == "policy_restriction"
    assert event["ticket_url"] == first["ticket_url"]
    assert len(event["snapshot"]["transcript"]) == 2


async def test_escalation_url_hook_overrides_the_template(
    supportai_app: Any, supportai_client: Any
) -> None:
    def supportai_escalation_url(caller: Any, conversation_id: int, reason: str) -> str:
        return f"https://desk.example/{caller.tenant_id}/new?c={conversation_id}&r={reason}"

    app = app_with(supportai_app, plugin(supportai_escalation_url=supportai_escalation_url))
    client = supportai_client(app)
    cid = await conversation_with_a_turn(client)
    body = (
        await client.post(
            f"/conversations/{cid}/escalate", json={"reason": "tool_failure"}, headers=as_user()
        )
    ).json()
    assert body["ticket_url"] == f"https://desk.example/t1/new?c={cid}&r=tool_failure"


async def test_escalation_template_setting(supportai_app: Any, supportai_client: Any) -> None:
    app = app_with(
        supportai_app,
        escalation_url_template="/help/{tenant_id}/ticket?c={conversation_id}&why={reason}",
    )
    client = supportai_client(app)
    cid = await conversation_with_a_turn(client)
    body = (await client.post(f"/conversations/{cid}/escalate", headers=as_user())).json()
    # No body: the default reason is customer_request.
    assert body["ticket_url"] == f"/help/t1/ticket?c={cid}&why=customer_request"
    assert body["snapshot"]["reason"] == "customer_request"
    assert body["snapshot"]["note"] is None


async def test_after_escalation_the_conversation_is_read_only(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = app_with(supportai_app)
    client = supportai_client(app)
    cid = await conversation_with_a_turn(client)
    await client.post(f"/conversations/{cid}/escalate", json={}, headers=as_user())
    before = (await client.get("/quota", headers=as_user())).json()
    r = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "hello?"},
        headers={**as_user(), "accept": "text/event-stream"},
    )
    assert r.status_code == 409
    assert r.json()["reason"] == "conversation_escalated"
    after = (await client.get("/quota", headers=as_user())).json()
    assert after == before  # the reservation was released, no turn counted
    detail = (await client.get(f"/conversations/{cid}", headers=as_user())).json()
    assert len(detail["messages"]) == 2


async def test_escalating_a_foreign_conversation_is_404(
    supportai_app: Any, supportai_client: Any
) -> None:
    notified: list[Any] = []
    app = app_with(
        supportai_app, plugin(supportai_conversation_escalated=lambda event: notified.append(event))
    )
    client = supportai_client(app)
    cid = await conversation_with_a_turn(client)
    for intruder in (as_user(user="u2"), as_user(tenant="t2")):
        r = await client.post(f"/conversations/{cid}/escalate", json={}, headers=intruder)
        assert r.status_code == 404 and r.json()["reason"] == "not_found"
    missing = await client.post("/conversations/424242/escalate", json={}, headers=as_user())
    assert missing.status_code == 404
    detail = (await client.get(f"/conversations/{cid}", headers=as_user())).json()
    assert detail["status"] == "open"
    assert notified == []
    assert (await client.post(f"/conversations/{cid}/escalate", json={})).status_code == 401


async def test_escalation_body_is_validated(supportai_app: Any, supportai_client: Any) -> None:
    app = app_with(supportai_app)
    client = supportai_client(app)
    cid = await conversation_with_a_turn(client)
    for body in ({"reason": "because"}, {"note": "x" * 2001}, {"reason": "other", "extra": 1}):
        r = await client.post(f"/conversations/{cid}/escalate", json=body, headers=as_user())
        assert r.status_code == 422, body
        assert r.json()["reason"] == "validation_error"
    detail = (await client.get(f"/conversations/{cid}", headers=as_user())).json()
    assert detail["status"] == "open"
