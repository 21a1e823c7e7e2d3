"""The admin API on SQLite and PostgreSQL: roles, tenant isolation, review, cases, audit log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from improvement_support import PII_COMMENT, chat, feedback, leaked, loop_app, rows

from supportai.store import tables
from supportai.testing import as_admin, as_user, plugin

ME = as_user("t1", "alice")
BOB = as_user("t1", "bob")
ADMIN = as_admin("t1", "root")
OTHER_ADMIN = as_admin("t2", "root")

T = tables.training_candidates
A = tables.audit_events


async def _negative(
    client: httpx.AsyncClient, headers: dict[str, str] = ME, comment: str = "wrong answer"
) -> tuple[int, int]:
    """A conversation with negative feedback: ``(conversation_id, candidate_id)``."""
    cid, _ = await chat(client, headers)
    response = await feedback(client, headers, cid, helpful=False, comment=comment)
    assert response.status_code == 200, response.text
    return cid, int(response.json()["training_candidate_id"])


async def _case(client: httpx.AsyncClient, headers: dict[str, str] = ME, **extra: Any) -> int:
    body = {"subject": "Invoice wrong", "description": "I was charged twice.", **extra}
    response = await client.post("/cases", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["case_id"])


async def _audit(
    client: httpx.AsyncClient, headers: dict[str, str] = ADMIN, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/admin/audit-events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


ENDPOINTS = [
    ("get", "/admin/candidates", None),
    ("get", "/admin/candidates/1", None),
    ("post", "/admin/candidates/1/approve", {}),
    ("post", "/admin/candidates/1/reject", {"reason": "no"}),
    ("get", "/admin/conversations", None),
    ("get", "/admin/conversations/1", None),
    ("get", "/admin/cases", None),
    ("get", "/admin/cases/1", None),
    ("post", "/admin/cases/1/comments", {"body": "hi"}),
    ("post", "/admin/cases/1/status", {"status": "closed"}),
    ("get", "/admin/audit-events", None),
]


# -- who may call ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_non_admin_is_403_forbidden_and_anonymous_is_401(
    supportai_app: Any, supportai_client: Any, method: str, path: str, body: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    await _negative(client)
    await _case(client)
    for headers in (ME, as_user("t1", "helper", ["support_ai_agent"])):
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["reason"] == "forbidden"
    response = await client.request(method, path, json=body)
    assert response.status_code == 401
    (candidate,) = await rows(app, T)
    assert candidate["status"] == "queued"
    assert await rows(app, A) == []


async def test_the_admin_role_name_is_a_setting(supportai_app: Any, supportai_client: Any) -> None:
    client = supportai_client(supportai_app(admin_role="helpdesk_lead"))
    assert (await client.get("/admin/candidates", headers=ADMIN)).status_code == 403
    lead = as_user("t1", "lead", ["helpdesk_lead"])
    assert (await client.get("/admin/candidates", headers=lead)).status_code == 200


# -- tenant isolation ----------------------------------------------------------------------------


async def test_admin_of_another_tenant_sees_and_changes_nothing(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, candidate_id = await _negative(client)
    case_id = await _case(client, conversation_id=cid)
    # tenant 1's admin leaves traces the other admin must not see either
    assert (await client.get(f"/admin/conversations/{cid}", headers=ADMIN)).status_code == 200

    for path in (
        "/admin/candidates",
        "/admin/conversations",
        "/admin/cases",
        "/admin/audit-events",
    ):
        response = await client.get(path, headers=OTHER_ADMIN)
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_cursor": None}, path

    attempts = [
        ("get", f"/admin/candidates/{candidate_id}", None),
        ("post", f"/admin/candidates/{candidate_id}/approve", {"note": "mine now"}),
        ("post", f"/admin/candidates/{candidate_id}/reject", {"reason": "mine now"}),
        ("get", f"/admin/conversations/{cid}", None),
        ("get", f"/admin/cases/{case_id}", None),
        ("post", f"/admin/cases/{case_id}/comments", {"body": "hello", "visibility": "public"}),
        ("post", f"/admin/cases/{case_id}/status", {"status": "closed"}),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, json=body, headers=OTHER_ADMIN)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["reason"] == "not_found"
        missing = path.replace(str(candidate_id), "999999").replace(str(case_id), "999999")
        if "conversations" in path:
            missing = path.replace(str(cid), "999999")
        same = await client.request(method, missing, json=body, headers=OTHER_ADMIN)
        assert same.status_code == 404 and same.json()["detail"] == response.json()["detail"]

    (candidate,) = await rows(app, T)
    assert candidate["status"] == "queued"
    case = (await client.get(f"/cases/{case_id}", headers=ME)).json()
    assert case["status"] == "open" and case["comments"] == []
    assert [e["tenant_id"] for e in await rows(app, A)] == ["t1"]


# -- candidates ----------------------------------------------------------------------------------


async def test_list_filters_and_paginates_candidates(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    ids = [(await _negative(client, comment=f"bad {n}"))[1] for n in range(5)]
    await client.post(f"/admin/candidates/{ids[1]}/approve", json={}, headers=ADMIN)
    await client.post(f"/admin/candidates/{ids[3]}/reject", json={"reason": "noise"}, headers=ADMIN)

    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get("/admin/candidates", params=params, headers=ADMIN)).json()
        seen += [item["candidate_id"] for item in page["items"]]
        assert len(page["items"]) <= 2
        if page["next_cursor"] is None:
            break
        params["before"] = page["next_cursor"]
    assert seen == sorted(ids, reverse=True)

    async def listed(**query: Any) -> list[int]:
        response = await client.get("/admin/candidates", params=query, headers=ADMIN)
        assert response.status_code == 200, response.text
        return [item["candidate_id"] for item in response.json()["items"]]

    assert await listed(status="queued") == [ids[4], ids[2], ids[0]]
    assert await listed(status="approved") == [ids[1]]
    assert await listed(status="rejected") == [ids[3]]
    assert await listed(status="exported") == []
    assert await listed(candidate_type="negative_feedback", status="queued", limit=1) == [ids[4]]
    assert await listed(candidate_type="output_blocked") == []
    for bad in (
        {"status": "done"},
        {"candidate_type": "x"},
        {"limit": 0},
        {"limit": 201},
        {"before": 0},
    ):
        response = await client.get("/admin/candidates", params=bad, headers=ADMIN)
        assert response.status_code == 422, bad


async def test_get_one_candidate_shows_the_redacted_exchange(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app, "Try turning it off and on again.")
    client = supportai_client(app)
    cid, candidate_id = await _negative(client, comment=PII_COMMENT)
    response = await client.get(f"/admin/candidates/{candidate_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candidate_type"] == "negative_feedback"
    assert body["status"] == "queued"
    assert body["conversation_id"] == cid
    assert body["snapshot"]["question"] == "How do I export?"
    assert body["snapshot"]["answer"] == "Try turning it off and on again."
    assert body["snapshot"]["helpful"] is False
    assert "[email]" in body["comment"]
    assert leaked(body) == []
    assert (await client.get("/admin/candidates/999999", headers=ADMIN)).status_code == 404


async def test_approve_and_reject_record_the_review_and_audit_it(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, candidate_id = await _negative(client)

    approve = await client.post(
        f"/admin/candidates/{candidate_id}/approve",
        json={
            "note": "Real gap, reported by jane.doe@example.com",
            "corrected_answer": "Open Settings > Data > Export.",
        },
        headers=ADMIN,
    )
    assert approve.status_code == 200, approve.text
    body = approve.json()
    assert body["status"] == "approved"
    assert body["reviewer_id"] == "root"
    assert body["review_note"] == "Real gap, reported by [email]"
    assert body["corrected_answer"] == "Open Settings > Data > Export."
    assert body["reviewed_at"] is not None

    # approving again replaces the note and the corrected answer
    again = await client.post(
        f"/admin/candidates/{candidate_id}/approve",
        json={"corrected_answer": "Settings > Export."},
        headers=ADMIN,
    )
    assert again.status_code == 200, again.text
    assert again.json()["corrected_answer"] == "Settings > Export."
    assert again.json()["review_note"] is None

    reject = await client.post(
        f"/admin/candidates/{candidate_id}/reject",
        json={"reason": "On second thought: user error"},
        headers=ADMIN,
    )
    assert reject.status_code == 200, reject.text
    assert reject.json()["status"] == "rejected"
    assert reject.json()["review_note"] == "On second thought: user error"
    assert reject.json()["corrected_answer"] is None

    events = await _audit(client)
    assert [(e["action"], e["before_status"], e["after_status"]) for e in events] == [
        ("candidate.rejected", "approved", "rejected"),
        ("candidate.approved", "approved", "approved"),
        ("candidate.approved", "queued", "approved"),
    ]
    assert [e["details"]["corrected_answer"] for e in events] == [False, True, True]
    for event in events:
        assert event["actor_id"] == "root"
        assert event["target_type"] == "candidate"
        assert event["target_id"] == candidate_id
        assert event["details"]["conversation_id"] == cid
        assert event["created_at"]
    # audit events hold no free text: the note with the e-mail address is not there
    assert "jane.doe" not in str(await rows(app, A))


async def test_review_bodies_are_validated(supportai_app: Any, supportai_client: Any) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    _, candidate_id = await _negative(client)
    bad = [
        ("reject", {}),
        ("reject", {"reason": ""}),
        ("reject", {"reason": "   "}),
        ("reject", {"reason": "x" * 2001}),
        ("approve", {"note": "x" * 2001}),
        ("approve", {"corrected_answer": ""}),
        ("approve", {"verdict": "yes"}),
    ]
    for action, body in bad:
        response = await client.post(
            f"/admin/candidates/{candidate_id}/{action}", json=body, headers=ADMIN
        )
        assert response.status_code == 422, (action, body, response.text)
    (candidate,) = await rows(app, T)
    assert candidate["status"] == "queued"
    # approve without a body is fine
    response = await client.post(f"/admin/candidates/{candidate_id}/approve", headers=ADMIN)
    assert response.status_code == 200, response.text


async def test_an_exported_candidate_is_final(supportai_app: Any, supportai_client: Any) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    _, candidate_id = await _negative(client)
    await client.post(f"/admin/candidates/{candidate_id}/approve", json={}, headers=ADMIN)
    async with app.state.supportai.database.connection() as conn:
        await conn.execute(T.update().values(status="exported"))
    for action, body in (("approve", {}), ("reject", {"reason": "too late"})):
        response = await client.post(
            f"/admin/candidates/{candidate_id}/{action}", json=body, headers=ADMIN
        )
        assert response.status_code == 409, response.text
        assert response.json()["reason"] == "invalid_transition"
    assert len(await _audit(client)) == 1


async def test_action_and_audit_event_commit_together(
    supportai_app: Any, supportai_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportai.store import audit

    app = loop_app(supportai_app)
    client = supportai_client(app)
    _, candidate_id = await _negative(client)
    case_id = await _case(client)

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as failing:
        for path, body in (
            (f"/admin/candidates/{candidate_id}/approve", {}),
            (f"/admin/cases/{case_id}/status", {"status": "closed"}),
            (f"/admin/cases/{case_id}/comments", {"body": "hi"}),
        ):
            response = await failing.post(path, json=body, headers=ADMIN)
            assert response.status_code == 500, path
            assert response.json()["reason"] == "internal_error"
    (candidate,) = await rows(app, T)
    assert candidate["status"] == "queued"
    case = (await client.get(f"/cases/{case_id}", headers=ME)).json()
    assert case["status"] == "open" and case["comments"] == []
    assert await rows(app, tables.case_comments) == []


# -- flagged conversations ------------------------------------------------------------------------


async def test_flagged_conversations_are_listed_and_readable_and_reads_are_audited(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app, "Use the export button.")
    client = supportai_client(app)
    quiet, _ = await chat(client, ME)
    await feedback(client, ME, quiet, helpful=True)
    flagged, _ = await _negative(client, comment="not what I asked")
    bobs, _ = await _negative(client, BOB)

    listing = (await client.get("/admin/conversations", headers=ADMIN)).json()
    assert [(c["conversation_id"], c["user_id"]) for c in listing["items"]] == [
        (bobs, "bob"),
        (flagged, "alice"),
    ]
    page = (await client.get("/admin/conversations", params={"limit": 1}, headers=ADMIN)).json()
    assert len(page["items"]) == 1 and page["next_cursor"] == bobs

    response = await client.get(f"/admin/conversations/{flagged}", headers=ADMIN)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["user_id"] == "alice"
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["messages"][1]["content"] == "Use the export button."
    assert [(f["helpful"], f["comment"]) for f in detail["feedback"]] == [
        (False, "not what I asked")
    ]
    # a conversation nobody complained about is not open to admins
    assert (await client.get(f"/admin/conversations/{quiet}", headers=ADMIN)).status_code == 404

    (event,) = await _audit(client)
    assert event["action"] == "conversation.viewed"
    assert (event["target_type"], event["target_id"]) == ("conversation", flagged)
    assert event["details"] == {"user_id": "alice"}


# -- cases -----------------------------------------------------------------------------------------


async def test_admin_lists_every_case_of_the_tenant(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = supportai_client(supportai_app())
    first = await _case(client, ME)
    second = await _case(client, BOB, priority="urgent")
    await _case(client, as_user("t2", "carol"))
    response = await client.get("/admin/cases", headers=ADMIN)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(c["case_id"], c["user_id"], c["priority"]) for c in items] == [
        (second, "bob", "urgent"),
        (first, "alice", "normal"),
    ]
    await client.post(f"/admin/cases/{first}/status", json={"status": "pending"}, headers=ADMIN)
    pending = await client.get("/admin/cases", params={"status_filter": "pending"}, headers=ADMIN)
    assert [c["case_id"] for c in pending.json()["items"]] == [first]
    page = await client.get("/admin/cases", params={"limit": 1}, headers=ADMIN)
    assert page.json()["next_cursor"] == second
    bad = await client.get("/admin/cases", params={"status_filter": "lost"}, headers=ADMIN)
    assert bad.status_code == 422


async def test_internal_comments_never_reach_the_case_owner(
    supportai_app: Any, supportai_client: Any
) -> None:
    commented: list[dict[str, Any]] = []

    def supportai_case_commented(event: dict[str, Any]) -> None:
        commented.append(dict(event))

    app = supportai_app(plugins=[plugin(supportai_case_commented=supportai_case_commented)])
    client = supportai_client(app)
    case_id = await _case(client)
    public = await client.post(
        f"/admin/cases/{case_id}/comments", json={"body": "We refunded you."}, headers=ADMIN
    )
    assert public.status_code == 200, public.text
    assert public.json()["visibility"] == "public"
    assert public.json()["author_role"] == "agent"
    internal = await client.post(
        f"/admin/cases/{case_id}/comments",
        json={"body": "Customer is on the fraud watch list", "visibility": "internal"},
        headers=ADMIN,
    )
    assert internal.status_code == 200, internal.text
    await client.post(f"/cases/{case_id}/comments", json={"body": "Thanks!"}, headers=ME)

    owner_view = (await client.get(f"/cases/{case_id}", headers=ME)).json()
    assert [(c["author_role"], c["body"]) for c in owner_view["comments"]] == [
        ("agent", "We refunded you."),
        ("user", "Thanks!"),
    ]
    assert "fraud" not in str(owner_view)
    owner_list = (await client.get("/cases", headers=ME)).json()
    assert "fraud" not in str(owner_list)

    admin_view = (await client.get(f"/admin/cases/{case_id}", headers=ADMIN)).json()
    assert [(c["visibility"], c["author_id"]) for c in admin_view["comments"]] == [
        ("public", "root"),
        ("internal", "root"),
        ("public", "alice"),
    ]
    assert admin_view["description"] == "I was charged twice."

    assert [(e["author_role"], e["visibility"]) for e in commented] == [
        ("agent", "public"),
        ("agent", "internal"),
        ("user", "public"),
    ]
    assert all("body" not in e for e in commented)
    events = await _audit(client, action="case.commented")
    assert [e["details"]["visibility"] for e in events] == ["internal", "public"]
    for bad in ({"body": ""}, {"body": "x", "visibility": "secret"}, {"body": "x" * 10_001}):
        response = await client.post(f"/admin/cases/{case_id}/comments", json=bad, headers=ADMIN)
        assert response.status_code == 422, bad


async def test_case_status_changes_are_audited_with_before_and_after(
    supportai_app: Any, supportai_client: Any
) -> None:
    client = supportai_client(supportai_app())
    case_id = await _case(client)
    for status in ("pending", "resolved", "closed", "open"):
        response = await client.post(
            f"/admin/cases/{case_id}/status", json={"status": status}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        assert (await client.get(f"/cases/{case_id}", headers=ME)).json()["status"] == status
    same = await client.post(
        f"/admin/cases/{case_id}/status", json={"status": "open"}, headers=ADMIN
    )
    assert same.status_code == 409 and same.json()["reason"] == "invalid_transition"
    bad = await client.post(
        f"/admin/cases/{case_id}/status", json={"status": "escalated"}, headers=ADMIN
    )
    assert bad.status_code == 422
    events = await _audit(client, target_type="case", target_id=case_id)
    assert [(e["before_status"], e["after_status"]) for e in reversed(events)] == [
        ("open", "pending"),
        ("pending", "resolved"),
        ("resolved", "closed"),
        ("closed", "open"),
    ]
    assert {e["action"] for e in events} == {"case.status_changed"}

    # a resolved case takes no more comments from its owner, but an agent may still add one
    await client.post(f"/admin/cases/{case_id}/status", json={"status": "resolved"}, headers=ADMIN)
    owner = await client.post(f"/cases/{case_id}/comments", json={"body": "hm"}, headers=ME)
    assert owner.status_code == 409
    agent = await client.post(
        f"/admin/cases/{case_id}/comments", json={"body": "Closing note"}, headers=ADMIN
    )
    assert agent.status_code == 200


# -- the audit log ---------------------------------------------------------------------------------


async def test_audit_events_survive_the_gdpr_delete_which_is_itself_not_audited(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, candidate_id = await _negative(client, comment=PII_COMMENT)
    case_id = await _case(client, conversation_id=cid)
    await client.get(f"/admin/conversations/{cid}", headers=ADMIN)
    await client.post(f"/admin/candidates/{candidate_id}/approve", json={}, headers=ADMIN)
    await client.post(f"/admin/cases/{case_id}/status", json={"status": "pending"}, headers=ADMIN)
    before = await _audit(client)
    assert len(before) == 3

    assert (await client.delete(f"/conversations/{cid}", headers=ME)).status_code == 200

    assert await rows(app, T) == []  # the candidate went with the conversation
    assert (await client.get(f"/admin/candidates/{candidate_id}", headers=ADMIN)).status_code == 404
    assert (await client.get(f"/admin/conversations/{cid}", headers=ADMIN)).status_code == 404
    after = await _audit(client)
    assert after == before  # retained, and the user's own deletion added nothing
    mentioning = [
        e for e in after if e["details"].get("conversation_id") == cid or e["target_id"] == cid
    ]
    assert len(mentioning) == 3
    assert leaked(await rows(app, A)) == []


async def test_audit_log_filters_and_paginates(supportai_app: Any, supportai_client: Any) -> None:
    client = supportai_client(supportai_app())
    case_id = await _case(client)
    other = await _case(client)
    for status in ("pending", "resolved", "closed"):
        await client.post(f"/admin/cases/{case_id}/status", json={"status": status}, headers=ADMIN)
    await client.post(
        f"/admin/cases/{other}/comments", json={"body": "x"}, headers=as_admin("t1", "second")
    )
    everything = await _audit(client)
    assert len(everything) == 4
    assert [e["actor_id"] for e in everything] == ["second", "root", "root", "root"]
    assert len(await _audit(client, target_id=other)) == 1
    assert len(await _audit(client, action="case.status_changed")) == 3
    assert await _audit(client, target_type="candidate") == []
    ids: list[int] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        page = (await client.get("/admin/audit-events", params=params, headers=ADMIN)).json()
        ids += [e["event_id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        params["before"] = page["next_cursor"]
    assert ids == [e["event_id"] for e in everything]
    bad = await client.get("/admin/audit-events", params={"target_type": "user"}, headers=ADMIN)
    assert bad.status_code == 422
