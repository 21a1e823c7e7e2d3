"""Tenant isolation matrix (issue 8.2): every endpoint x every kind of caller.

Tenant A's owner builds a full data set (conversation, turns, feedback, a training
candidate, a case with user, public and internal comments, an escalation note) and
A's admin a help-center article; tenant B does the same. Every text carries a unique
marker. Then each endpoint is called by:

* ``owner``          - the user who owns A's objects;
* ``peer``           - another user of tenant A;
* ``tenant_admin``   - an admin of tenant A (admin endpoints are theirs);
* ``stranger``       - a user of tenant B;
* ``foreign_admin``  - an admin of tenant B;
* ``anonymous``      - no caller.

Each cell asserts the status, and that no marker the caller may not see occurs
anywhere in the response: JSON bodies, SSE event streams and list results. Requests
that would change A's data are refused for everyone but its owner/admin, and A's data
is checked unchanged after the refused cells ran. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import egress_guard

from supportai.llm import BackendRequest, Citation, Finish, TextDelta, Usage
from supportai.testing import as_admin, as_user, backend_plugin

PARTIES = ("owner", "peer", "tenant_admin", "stranger", "foreign_admin", "anonymous")
SSE = {"accept": "text/event-stream"}
#: The slug every answer cites first: an article of that slug in each tenant, so
#: the questions of both tenants would be its suggestions if a tenant filter slipped.
CITED = "matrix-answers"


class EchoBackend:
    """Answers with the user's last message, so answers carry their tenant's marker, citing
    the article ``CITED``."""

    name = "echo"
    model = "echo-model"

    async def stream(self, request: BackendRequest) -> AsyncIterator[Any]:
        yield TextDelta("You said: ")
        yield TextDelta(request.messages[-1].content)
        yield Citation(CITED, "Answers")
        yield Usage(5, 5)
        yield Finish("stop")


@dataclass
class World:
    """One tenant's objects and every marker string written into them."""

    tenant: str
    owner: str
    conversation_id: int = 0
    escalated_id: int = 0
    case_id: int = 0
    candidate_id: int = 0
    message_id: int = 0
    question_id: int = 0  # the user message of ``message_id``: an unanswered-question group
    user_message_id: int = 0
    article_id: int = 0
    cited_article_id: int = 0  # the article every answer cites: question suggestions
    asked_id: int = 0  # a question of the escalated conversation: suggested for that article
    markers: tuple[str, ...] = ()
    internal: str = ""  # the internal comment: only admins of this tenant may see it


def headers_of(party: str, a: World, b: World) -> dict[str, str]:
    return {
        "owner": as_user(a.tenant, a.owner),
        "peer": as_user(a.tenant, "peer-" + a.owner),
        "tenant_admin": as_admin(a.tenant, "admin-" + a.tenant),
        "stranger": as_user(b.tenant, b.owner),
        "foreign_admin": as_admin(b.tenant, "admin-" + b.tenant),
        "anonymous": {},
    }[party]


async def build_world(client: Any, tenant: str) -> World:
    tag = uuid.uuid4().hex[:10]
    world = World(tenant=tenant, owner=f"own{tag}")
    m = {
        k: f"MK{k}{tag}"
        for k in (
            "title",
            "msg",
            "fb",
            "subj",
            "desc",
            "ucom",
            "pub",
            "int",
            "note",
            "title2",
            "reason",
            "atitle",
            "abody",
            "aquestion",
            "ask",
        )
    }
    m["aslug"] = f"mkaslug{tag}"  # slugs are lower-case; audit details carry them
    user = as_user(tenant, world.owner)
    admin = as_admin(tenant, "admin-" + tenant)

    async def ok(r: Any) -> dict[str, Any]:
        assert r.status_code == 200, r.text
        return dict(r.json())

    world.conversation_id = (
        await ok(await client.post("/conversations", json={"title": m["title"]}, headers=user))
    )["conversation_id"]
    turn = await ok(
        await client.post(
            f"/conversations/{world.conversation_id}/messages",
            json={"content": f"help with {m['msg']}"},
            headers=user,
        )
    )
    world.message_id = turn["assistant_message_id"]
    world.question_id = turn["user_message_id"]
    world.user_message_id = turn["user_message_id"]
    fb = await ok(
        await client.post(
            f"/conversations/{world.conversation_id}/feedback",
            json={"helpful": False, "comment": f"bad {m['fb']}", "message_id": world.message_id},
            headers=user,
        )
    )
    world.candidate_id = fb["training_candidate_id"]
    assert world.candidate_id
    case = await ok(
        await client.post(
            "/cases",
            json={
                "subject": m["subj"],
                "description": m["desc"],
                "conversation_id": world.conversation_id,
            },
            headers=user,
        )
    )
    world.case_id = case["case_id"]
    await ok(
        await client.post(
            f"/cases/{world.case_id}/comments", json={"body": m["ucom"]}, headers=user
        )
    )
    await ok(
        await client.post(
            f"/admin/cases/{world.case_id}/comments",
            json={"body": m["pub"], "visibility": "public"},
            headers=admin,
        )
    )
    await ok(
        await client.post(
            f"/admin/cases/{world.case_id}/comments",
            json={"body": m["int"], "visibility": "internal"},
            headers=admin,
        )
    )
    world.escalated_id = (
        await ok(await client.post("/conversations", json={"title": m["title2"]}, headers=user))
    )["conversation_id"]
    # answered, not rated down: a suggestion for the cited article (its tenant's admin only)
    asked = await ok(
        await client.post(
            f"/conversations/{world.escalated_id}/messages",
            json={"content": f"how to {m['ask']}?"},
            headers=user,
        )
    )
    world.asked_id = asked["user_message_id"]
    await ok(
        await client.post(
            f"/conversations/{world.escalated_id}/escalate",
            json={"reason": "other", "note": m["note"]},
            headers=user,
        )
    )
    await ok(
        await client.post(
            f"/admin/candidates/{world.candidate_id}/reject",
            json={"reason": m["reason"]},
            headers=admin,
        )
    )
    world.article_id = (
        await ok(
            await client.post(
                "/admin/articles",
                json={
                    "slug": m["aslug"],
                    "title": m["atitle"],
                    "body": f"# {m['abody']}",
                    "questions": [f"where is {m['aquestion']}?"],
                },
                headers=admin,
            )
        )
    )["article_id"]
    world.cited_article_id = (
        await ok(
            await client.post(
                "/admin/articles",
                json={"slug": CITED, "title": "Answers", "body": "Answers."},
                headers=admin,
            )
        )
    )["article_id"]
    world.markers = (*m.values(), world.owner)
    world.internal = m["int"]
    return world


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    admin: bool = False
    object_bound: bool = True  # names one of A's objects (404 for outsiders)
    mutates: bool = False
    sse: bool = False


def endpoints(a: World) -> list[Endpoint]:
    c, k, d, r = a.conversation_id, a.case_id, a.candidate_id, a.article_id
    new_article = {"slug": "matrix-created", "title": "t", "body": "b"}
    return [
        Endpoint("list conversations", "GET", "/conversations", object_bound=False),
        Endpoint(
            "create conversation", "POST", "/conversations", {"title": "x"}, object_bound=False
        ),
        Endpoint("get conversation", "GET", f"/conversations/{c}"),
        Endpoint(
            "resume turn events",
            "GET",
            f"/conversations/{c}/messages/{a.user_message_id}/events",
            sse=True,
        ),
        Endpoint(
            "resume turn events (answer id)",
            "GET",
            f"/conversations/{c}/messages/{a.message_id}/events",
            sse=True,
        ),
        Endpoint("get turn", "GET", f"/conversations/{c}/messages/{a.user_message_id}/turn"),
        Endpoint(
            "post message (json)",
            "POST",
            f"/conversations/{c}/messages",
            {"content": "more please"},
            mutates=True,
        ),
        Endpoint(
            "post message (sse)",
            "POST",
            f"/conversations/{c}/messages",
            {"content": "stream please"},
            mutates=True,
            sse=True,
        ),
        Endpoint(
            "admin analytics summary",
            "GET",
            "/admin/analytics/summary",
            admin=True,
            object_bound=False,
        ),
        # A's answer was rated down: its question is a group for A's admin only (listed
        # before the owner's feedback cell, which rates it up)
        Endpoint(
            "admin unanswered questions",
            "GET",
            "/admin/analytics/unanswered",
            admin=True,
            object_bound=False,
        ),
        Endpoint(
            "admin draft from unanswered group",
            "POST",
            f"/admin/analytics/unanswered/{a.question_id}/draft",
            admin=True,
            mutates=True,
        ),
        Endpoint(
            "feedback",
            "POST",
            f"/conversations/{c}/feedback",
            {"helpful": True, "message_id": a.message_id},
            mutates=True,
        ),
        # after the owner's feedback cell: A's first question, rated up now, is suggested too
        Endpoint(
            "admin article question suggestions",
            "GET",
            f"/admin/analytics/articles/{a.cited_article_id}/question-suggestions",
            admin=True,
        ),
        Endpoint("disclosure status", "GET", "/disclosure/status", object_bound=False),
        Endpoint(
            "accept disclosure",
            "POST",
            "/disclosure/accept",
            {"version": "2026-01"},
            object_bound=False,
        ),
        Endpoint("list my cases", "GET", "/cases", object_bound=False),
        Endpoint(
            "create case on A's conversation",
            "POST",
            "/cases",
            {"subject": "s", "description": "d", "conversation_id": c},
            mutates=True,
        ),
        Endpoint("get my case", "GET", f"/cases/{k}"),
        Endpoint(
            "comment my case", "POST", f"/cases/{k}/comments", {"body": "me too"}, mutates=True
        ),
        Endpoint("quota", "GET", "/quota", object_bound=False),
        Endpoint(
            "admin list candidates", "GET", "/admin/candidates", admin=True, object_bound=False
        ),
        Endpoint("admin get candidate", "GET", f"/admin/candidates/{d}", admin=True),
        Endpoint(
            "admin approve candidate",
            "POST",
            f"/admin/candidates/{d}/approve",
            {"note": "fine"},
            admin=True,
            mutates=True,
        ),
        Endpoint(
            "admin reject candidate",
            "POST",
            f"/admin/candidates/{d}/reject",
            {"reason": "nope"},
            admin=True,
            mutates=True,
        ),
        Endpoint(
            "admin list flagged", "GET", "/admin/conversations", admin=True, object_bound=False
        ),
        Endpoint("admin get flagged", "GET", f"/admin/conversations/{c}", admin=True),
        Endpoint("admin list cases", "GET", "/admin/cases", admin=True, object_bound=False),
        Endpoint("admin get case", "GET", f"/admin/cases/{k}", admin=True),
        Endpoint(
            "admin comment case",
            "POST",
            f"/admin/cases/{k}/comments",
            {"body": "agent here", "visibility": "internal"},
            admin=True,
            mutates=True,
        ),
        Endpoint(
            "admin case status",
            "POST",
            f"/admin/cases/{k}/status",
            {"status": "pending"},
            admin=True,
            mutates=True,
        ),
        Endpoint(
            "admin audit events", "GET", "/admin/audit-events", admin=True, object_bound=False
        ),
        Endpoint("admin list articles", "GET", "/admin/articles", admin=True, object_bound=False),
        Endpoint(
            "admin create article",
            "POST",
            "/admin/articles",
            new_article,
            admin=True,
            object_bound=False,
        ),
        Endpoint(
            "admin export articles",
            "GET",
            "/admin/articles/export",
            admin=True,
            object_bound=False,
        ),
        Endpoint(
            "admin import articles",
            "POST",
            "/admin/articles/import",
            {"articles": [{**new_article, "slug": "matrix-imported"}]},
            admin=True,
            object_bound=False,
        ),
        Endpoint("admin get article", "GET", f"/admin/articles/{r}", admin=True),
        Endpoint(
            "admin update article",
            "PATCH",
            f"/admin/articles/{r}",
            {"published": False},
            admin=True,
            mutates=True,
        ),
        # destructive ones last: their owner cells change what the others would see
        Endpoint(
            "escalate", "POST", f"/conversations/{c}/escalate", {"reason": "other"}, mutates=True
        ),
        Endpoint("delete conversation", "DELETE", f"/conversations/{c}", mutates=True),
        Endpoint(
            "admin delete article", "DELETE", f"/admin/articles/{r}", admin=True, mutates=True
        ),
    ]


def expected_status(endpoint: Endpoint, party: str) -> int:
    if party == "anonymous":
        return 401
    if endpoint.admin:
        if party == "tenant_admin":
            return 200
        if party == "foreign_admin":
            return 404 if endpoint.object_bound else 200
        return 403
    if not endpoint.object_bound or party == "owner":
        return 200
    return 404  # peer, stranger, admins: the owner's objects do not exist for them


def forbidden_markers(party: str, a: World, b: World) -> tuple[str, ...]:
    """What ``party`` must never read: the other tenant always, A's data unless entitled."""
    if party == "owner":
        return (*b.markers, a.internal)
    if party == "tenant_admin":
        return b.markers
    if party in ("stranger", "foreign_admin"):
        return tuple(x for x in a.markers if x not in b.markers)
    return (*a.markers, *b.markers)  # peer, anonymous


async def snapshot_of_a(client: Any, a: World) -> Any:
    owner = as_user(a.tenant, a.owner)
    admin = as_admin(a.tenant, "admin-" + a.tenant)
    conversation = (await client.get(f"/conversations/{a.conversation_id}", headers=owner)).json()
    case = (await client.get(f"/admin/cases/{a.case_id}", headers=admin)).json()
    candidate = (await client.get(f"/admin/candidates/{a.candidate_id}", headers=admin)).json()
    cases = (await client.get("/cases", headers=owner)).json()
    articles = (await client.get("/admin/articles/export", headers=admin)).json()["articles"]
    return conversation, case, candidate, cases, articles


async def test_every_endpoint_for_every_caller(supportai_app: Any, supportai_client: Any) -> None:
    app = supportai_app(
        plugins=[backend_plugin(EchoBackend(), "echo")],
        llm_backend="echo",
        rate_limit_user_turns=1000,
        rate_limit_tenant_turns=1000,
    )
    client = supportai_client(app)
    a = await build_world(client, "tenant-a")
    b = await build_world(client, "tenant-b")
    routes = endpoints(a)
    assert len([e for e in routes if not e.sse]) == 15 + 11 + 7 + 4, "every endpoint, each once"

    async def cell(endpoint: Endpoint, party: str) -> None:
        headers = {**headers_of(party, a, b), **(SSE if endpoint.sse else {})}
        r = await client.request(
            endpoint.method, endpoint.path, json=endpoint.body, headers=headers
        )
        want = expected_status(endpoint, party)
        label = f"{endpoint.name} as {party}"
        assert r.status_code == want, (label, r.status_code, r.text[:300])
        body = r.text
        for marker in forbidden_markers(party, a, b):
            assert marker not in body, (label, marker, body[:500])
        if r.status_code >= 400:
            assert r.json()["degraded"] is True, label
        if endpoint.sse and r.status_code == 200:
            assert r.headers["content-type"].startswith("text/event-stream"), label
            assert "event: turn.completed" in body, label
        egress_guard.count("matrix cells")

    before = await snapshot_of_a(client, a)
    for endpoint in routes:
        for party in PARTIES:
            if expected_status(endpoint, party) >= 400:
                await cell(endpoint, party)
    # Every refused write left A's data exactly as it was.
    assert await snapshot_of_a(client, a) == before

    for endpoint in routes:
        for party in PARTIES:
            if expected_status(endpoint, party) < 400:
                await cell(endpoint, party)

    # The owner's writes landed, on A's objects only: B's world is untouched.
    b_owner = as_user(b.tenant, b.owner)
    b_conv = (await client.get(f"/conversations/{b.conversation_id}", headers=b_owner)).json()
    assert b_conv["status"] == "open" and len(b_conv["messages"]) == 2
    gone = await client.get(
        f"/conversations/{a.conversation_id}", headers=as_user(a.tenant, a.owner)
    )
    assert gone.status_code == 404

    # The suggestions cells read real rows: each admin gets their own tenant's question.
    for world, other in ((a, b), (b, a)):
        r = await client.get(
            f"/admin/analytics/articles/{world.cited_article_id}/question-suggestions",
            headers=as_admin(world.tenant, "admin-" + world.tenant),
        )
        assert r.status_code == 200, r.text
        suggested = [item["message_id"] for item in r.json()["items"]]
        assert world.asked_id in suggested and other.asked_id not in suggested, r.text
        assert not any(x in r.text for x in other.markers), r.text
