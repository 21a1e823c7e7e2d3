"""Each policy and observer hook changes or reports what a host expects."""

from __future__ import annotations

from typing import Any

from supportai.caller import Caller
from supportai.classifiers import Classification
from supportai.filters import FilterOutput
from supportai.llm import ContextDocument, ToolCallRequest
from supportai.redaction import redact
from supportai.testing import ScriptedBackend, as_user, backend_plugin, parse_sse, plugin
from supportai.tools import Tool


def recorder(*names: str) -> tuple[object, dict[str, list[dict[str, Any]]]]:
    seen: dict[str, list[dict[str, Any]]] = {name: [] for name in names}

    def make(name: str):
        return lambda event: seen[name].append(dict(event))

    return plugin(**{name: make(name) for name in names}), seen


async def start(client) -> int:
    return (await client.post("/conversations", json={"title": "t"}, headers=as_user())).json()[
        "conversation_id"
    ]


async def test_observers_see_turn_escalation_case_and_delete(supportai_app, supportai_client):
    observer, seen = recorder(
        "supportai_turn_completed",
        "supportai_conversation_escalated",
        "supportai_conversation_deleted",
        "supportai_case_created",
        "supportai_case_commented",
    )
    backend = ScriptedBackend([ScriptedBackend.answer("Sure.")])
    client = supportai_client(
        supportai_app(plugins=[backend_plugin(backend), observer], llm_backend="scripted")
    )
    cid = await start(client)
    await client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=as_user())
    assert seen["supportai_turn_completed"][0]["status"] == "complete"
    assert seen["supportai_turn_completed"][0]["conversation_id"] == cid

    case = (
        await client.post(
            "/cases",
            json={"subject": "s", "description": "d", "conversation_id": cid},
            headers=as_user(),
        )
    ).json()
    assert seen["supportai_case_created"][0]["case_id"] == case["case_id"]
    await client.post(
        f"/cases/{case['case_id']}/comments", json={"body": "more"}, headers=as_user()
    )
    assert seen["supportai_case_commented"][0]["visibility"] == "public"

    await client.post(
        f"/conversations/{cid}/escalate", json={"reason": "missing_knowledge"}, headers=as_user()
    )
    await client.post(f"/conversations/{cid}/escalate", json={}, headers=as_user())
    assert len(seen["supportai_conversation_escalated"]) == 1  # idempotent: notified once
    assert seen["supportai_conversation_escalated"][0]["reason"] == "missing_knowledge"

    await client.delete(f"/conversations/{cid}", headers=as_user())
    assert seen["supportai_conversation_deleted"] == [
        {"tenant_id": "t1", "user_id": "u1", "conversation_id": cid}
    ]


async def test_escalation_url_hook_overrides_the_template(supportai_app, supportai_client):
    url = plugin(
        supportai_escalation_url=lambda caller, conversation_id, reason: (
            f"https://help.example/{caller.tenant_id}/{conversation_id}?r={reason}"
        )
    )
    client = supportai_client(supportai_app(plugins=[url]))
    cid = await start(client)
    body = (
        await client.post(
            f"/conversations/{cid}/escalate", json={"reason": "other"}, headers=as_user()
        )
    ).json()
    assert body["ticket_url"] == f"https://help.example/t1/{cid}?r=other"


async def test_default_escalation_url_uses_the_setting(supportai_app, supportai_client):
    client = supportai_client(
        supportai_app(escalation_url_template="/tickets/new?c={conversation_id}&why={reason}")
    )
    cid = await start(client)
    body = (await client.post(f"/conversations/{cid}/escalate", headers=as_user())).json()
    assert body["ticket_url"] == f"/tickets/new?c={cid}&why=customer_request"


async def test_system_prompt_and_retrieved_context_reach_the_backend(
    supportai_app, supportai_client
):
    backend = ScriptedBackend([ScriptedBackend.answer("ok")])
    doc = ContextDocument(source_id="refunds", title="Refunds", text="Refunds take 5 days.")
    hooks = plugin(
        supportai_system_prompt=lambda caller, conversation_id: f"Prompt for {caller.tenant_id}",
        supportai_retrieve_context=lambda query, caller, limit: [doc] if "refund" in query else [],
    )
    client = supportai_client(
        supportai_app(plugins=[backend_plugin(backend), hooks], llm_backend="scripted")
    )
    cid = await start(client)
    await client.post(
        f"/conversations/{cid}/messages", json={"content": "refund please"}, headers=as_user()
    )
    request = backend.requests[0]
    assert request.messages[0].role == "system"
    assert request.messages[0].content == "Prompt for t1"
    assert list(request.context) == [doc]


async def test_resolve_caller_hook_replaces_the_default(supportai_app, supportai_client):
    """A host with header-based auth plugs in its own resolver."""
    resolver = plugin(
        supportai_resolve_caller=lambda request: (
            Caller("acme", "key-user") if request.headers.get("x-api-key") == "k" else None
        )
    )
    app = supportai_app(plugins=[resolver])
    client = supportai_client(app)
    assert (await client.get("/conversations")).status_code == 401
    assert (await client.get("/conversations", headers={"x-api-key": "k"})).status_code == 200


async def test_redact_hook_and_sensitive_terms(supportai_app):
    app = supportai_app(
        plugins=[
            plugin(supportai_redact=lambda tenant_id, text: text.replace("secret", "[x]")),
            plugin(supportai_sensitive_terms=lambda tenant_id: ["Globex"]),
        ],
        sensitive_terms=["Hank Scorpio"],
    )
    hooks = app.state.supportai.hooks
    out = await redact(hooks, "t1", "secret plan by Hank Scorpio at globex")
    assert out == "[x] plan by [name] at [name]"


async def test_fallback_redactor_without_plugins(supportai_app):
    hooks = supportai_app().state.supportai.hooks
    out = await redact(hooks, "t1", "mail jo@example.com or call +1 415 555 0100 from 10.0.0.7")
    assert "jo@example.com" not in out and "555" not in out and "10.0.0.7" not in out


async def test_classifier_filter_and_tool_registration_hooks(supportai_app, supportai_client):
    class Upper:
        name = "upper"

        def open(self, context):
            class Stream:
                examined_chars = 0

                async def push(self, text):
                    return FilterOutput(text=text.upper())

                async def close(self):
                    return FilterOutput()

            return Stream()

    class Billing:
        name = "billing"

        async def classify(self, message):
            return Classification("billing", 0.9, refused=False, classifier="billing")

    async def lookup(context, arguments):
        return {"plan": "pro", "tenant": context.caller.tenant_id}

    backend = ScriptedBackend(
        [
            [ToolCallRequest("c1", "plan_lookup", {})],
            ScriptedBackend.answer("you are on pro"),
        ]
    )
    hooks = plugin(
        supportai_register_output_filters=lambda register: register("upper", lambda c: Upper()),
        supportai_register_classifiers=lambda register: register("billing", lambda c: Billing()),
        supportai_register_tools=lambda register: register(
            Tool("plan_lookup", "Look up the plan", lookup)
        ),
    )
    client = supportai_client(
        supportai_app(
            plugins=[backend_plugin(backend), hooks],
            llm_backend="scripted",
            classifiers=["billing"],
            output_filters=["upper"],
        )
    )
    cid = await start(client)
    response = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "plan?"},
        headers={**as_user(), "accept": "text/event-stream"},
    )
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "turn.started" and events[0][1]["classification"]["intent"] == "billing"
    assert (
        "tool.result",
        {
            "call_id": "c1",
            "name": "plan_lookup",
            "result": {"plan": "pro", "tenant": "t1"},
            "error": None,
            "duration_ms": events[names.index("tool.result")][1]["duration_ms"],
        },
    ) in events
    assert "".join(d["text"] for n, d in events if n == "delta") == "YOU ARE ON PRO"
