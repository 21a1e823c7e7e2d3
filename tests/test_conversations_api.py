"""Conversations endpoints: list (newest first, keyset pages), create, get, delete.

Every test runs on SQLite and on PostgreSQL (the ``engine`` fixture of
``conftest.py``). Validation (422) cases live in ``test_validation.py`` and the
GDPR cascade in ``test_gdpr_delete.py``; this file holds the behaviour of each
endpoint and its scoping: no caller is a 401, and another user's or another
tenant's conversation is a 404 that cannot be told apart from a missing one.
"""

from __future__ import annotations

from typing import Any

import httpx

from supportai.testing import ScriptedBackend, as_user, backend_plugin

ME = as_user("t1", "alice")
NEIGHBOUR = as_user("t1", "bob")  # same tenant, another user
STRANGER = as_user("t2", "alice")  # same user id, another tenant


async def _create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> int:
    response = await client.post("/conversations", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["conversation_id"])


async def test_create_with_and_without_title(supportai_app, supportai_client):
    client = supportai_client(supportai_app())

    untitled = await client.post("/conversations", headers=ME)  # no body at all
    assert untitled.status_code == 200, untitled.text
    body = untitled.json()
    assert body["title"] is None
    assert body["status"] == "open"
    assert isinstance(body["conversation_id"], int) and body["conversation_id"] >= 1
    assert body["created_at"]

    empty = await client.post("/conversations", json={}, headers=ME)
    assert empty.status_code == 200, empty.text
    assert empty.json()["title"] is None

    titled = await client.post("/conversations", json={"title": "  Billing  "}, headers=ME)
    assert titled.status_code == 200, titled.text
    assert titled.json()["title"] == "Billing"  # surrounding whitespace is not a title

    null_title = await client.post("/conversations", json={"title": None}, headers=ME)
    assert null_title.status_code == 200, null_title.text
    assert null_title.json()["title"] is None

    ids = [r.json()["conversation_id"] for r in (untitled, empty, titled, null_title)]
    assert len(set(ids)) == 4

    listed = (await client.get("/conversations", headers=ME)).json()["items"]
    assert {c["conversation_id"]: c["title"] for c in listed} == {
        ids[0]: None,
        ids[1]: None,
        ids[2]: "Billing",
        ids[3]: None,
    }


async def test_list_is_newest_first_and_keyset_paginated(supportai_app, supportai_client):
    client = supportai_client(supportai_app())
    mine = []
    for n in range(5):
        mine.append(await _create(client, ME, title=f"mine {n}"))
        # Interleave other callers' rows: they must never appear, nor shift pages.
        await _create(client, NEIGHBOUR, title=f"bob {n}")
        await _create(client, STRANGER, title=f"t2 {n}")
    newest_first = list(reversed(mine))

    everything = await client.get("/conversations", headers=ME)
    assert everything.status_code == 200, everything.text
    assert [c["conversation_id"] for c in everything.json()["items"]] == newest_first
    assert everything.json()["next_cursor"] is None
    titles = [c["title"] for c in everything.json()["items"]]
    assert titles == [f"mine {n}" for n in (4, 3, 2, 1, 0)]

    seen: list[int] = []
    cursor: int | None = None
    pages = 0
    while True:
        params: dict[str, int] = {"limit": 2}
        if cursor is not None:
            params["before"] = cursor
        page = await client.get("/conversations", params=params, headers=ME)
        assert page.status_code == 200, page.text
        items = [c["conversation_id"] for c in page.json()["items"]]
        assert len(items) <= 2
        seen.extend(items)
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        assert cursor == items[-1]  # the cursor is the last id shown, as ``before``
    assert seen == newest_first
    assert pages == 3

    # A page that ends exactly at the last row has no next cursor.
    exact = await client.get("/conversations", params={"limit": 5}, headers=ME)
    assert exact.json()["next_cursor"] is None
    assert len(exact.json()["items"]) == 5

    # ``before`` the oldest: an empty last page, not an error.
    empty = await client.get("/conversations", params={"before": mine[0]}, headers=ME)
    assert empty.status_code == 200
    assert empty.json() == {"items": [], "next_cursor": None}

    # The other callers see only their own.
    for headers, prefix in ((NEIGHBOUR, "bob"), (STRANGER, "t2")):
        theirs = (await client.get("/conversations", headers=headers)).json()["items"]
        assert len(theirs) == 5
        assert all(c["title"].startswith(prefix) for c in theirs)

    # Without ``limit`` the page size is the setting (same database, another app).
    small = supportai_client(supportai_app(page_size=2))
    page = (await small.get("/conversations", headers=ME)).json()
    assert [c["conversation_id"] for c in page["items"]] == newest_first[:2]
    assert page["next_cursor"] == newest_first[1]


async def test_get_returns_messages_in_order_with_classification(supportai_app, supportai_client):
    backend = ScriptedBackend([ScriptedBackend.answer("Reset it under Settings.", pieces=3)])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await _create(client, ME, title="Password")

    fresh = await client.get(f"/conversations/{cid}", headers=ME)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["messages"] == []

    turn = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "How do I reset my password?"},
        headers=ME,
    )
    assert turn.status_code == 200, turn.text

    response = await client.get(f"/conversations/{cid}", headers=ME)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["conversation_id"] == cid
    assert body["title"] == "Password"
    assert body["status"] == "open"
    assert body["escalation_reason"] is None
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("user", "How do I reset my password?"),
        ("assistant", "Reset it under Settings."),
    ]
    user, assistant = body["messages"]
    assert user["message_id"] == turn.json()["user_message_id"]
    assert assistant["message_id"] == turn.json()["assistant_message_id"]
    assert user["message_id"] < assistant["message_id"]
    assert user["classification"] is not None  # every user turn is classified
    assert assistant["classification"] is None
    assert assistant["status"] == "complete"


async def _turn(client: httpx.AsyncClient, headers: dict[str, str], cid: int, text: str) -> None:
    response = await client.post(
        f"/conversations/{cid}/messages", json={"content": text}, headers=headers
    )
    assert response.status_code == 200, response.text


async def test_messages_are_paged_newest_page_first(supportai_app, supportai_client):
    backend = ScriptedBackend([ScriptedBackend.answer("An answer.")])
    settings = {"plugins": [backend_plugin(backend)], "llm_backend": "scripted"}
    client = supportai_client(supportai_app(**settings))
    cid = await _create(client, ME, title="long")
    neighbours = await _create(client, NEIGHBOUR)
    strangers = await _create(client, STRANGER)
    for n in range(5):
        await _turn(client, ME, cid, f"question {n}")
        # Other callers' turns interleave ids: they must never appear, nor shift pages.
        await _turn(client, NEIGHBOUR, neighbours, f"bob {n}")
        await _turn(client, STRANGER, strangers, f"t2 {n}")
    everything = (await client.get(f"/conversations/{cid}", headers=ME)).json()
    assert everything["next_cursor"] is None  # 10 messages fit the default page
    ids = [m["message_id"] for m in everything["messages"]]
    assert len(ids) == 10 and ids == sorted(ids)
    assert [m["content"] for m in everything["messages"][::2]] == [
        f"question {n}" for n in range(5)
    ]

    pages: list[list[int]] = []
    cursor: int | None = None
    while True:
        params: dict[str, int] = {"limit": 4}
        if cursor is not None:
            params["before"] = cursor
        response = await client.get(f"/conversations/{cid}", params=params, headers=ME)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["title"] == "long"  # every page carries the conversation itself
        page = [m["message_id"] for m in body["messages"]]
        assert page == sorted(page)  # each page reads oldest first
        pages.append(page)
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert cursor == page[0]  # the oldest message shown, passed as ``before``
    assert pages == [ids[6:], ids[2:6], ids[:2]]

    # A page ending exactly at the first message has no cursor; before it, nothing.
    exact = (await client.get(f"/conversations/{cid}", params={"limit": 10}, headers=ME)).json()
    assert exact["next_cursor"] is None and len(exact["messages"]) == 10
    empty = await client.get(f"/conversations/{cid}", params={"before": ids[0]}, headers=ME)
    assert empty.status_code == 200
    assert empty.json()["messages"] == [] and empty.json()["next_cursor"] is None

    # Without ``limit`` the page size is the setting (same database, another app).
    small = supportai_client(supportai_app(message_page_size=3, **settings))
    first = (await small.get(f"/conversations/{cid}", headers=ME)).json()
    assert [m["message_id"] for m in first["messages"]] == ids[7:]
    assert first["next_cursor"] == ids[7]


async def test_message_pages_of_foreign_conversations_are_404(supportai_app, supportai_client):
    backend = ScriptedBackend([ScriptedBackend.answer("An answer.")])
    client = supportai_client(
        supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    )
    cid = await _create(client, ME)
    for n in range(3):
        await _turn(client, ME, cid, f"private {n}")
    mine = (await client.get(f"/conversations/{cid}", params={"limit": 2}, headers=ME)).json()
    cursor = mine["next_cursor"]
    assert cursor is not None
    missing = await client.get(f"/conversations/{cid + 1000}", headers=ME)
    for headers in (NEIGHBOUR, STRANGER):
        for params in ({}, {"limit": 2}, {"limit": 2, "before": cursor}):
            foreign = await client.get(f"/conversations/{cid}", params=params, headers=headers)
            assert foreign.status_code == 404, (headers, params)
            assert foreign.json() == missing.json()
    # Their own conversation with my cursor shows only their messages (none here).
    theirs = await _create(client, NEIGHBOUR)
    page = await client.get(
        f"/conversations/{theirs}", params={"before": cursor + 100}, headers=NEIGHBOUR
    )
    assert page.status_code == 200 and page.json()["messages"] == []


async def test_message_page_parameters_are_validated(supportai_app, supportai_client):
    client = supportai_client(supportai_app())
    cid = await _create(client, ME)
    for params in ({"limit": 0}, {"limit": 201}, {"before": 0}, {"before": "x"}):
        response = await client.get(f"/conversations/{cid}", params=params, headers=ME)
        assert response.status_code == 422, params
        assert response.json()["reason"] == "validation_error"


async def test_delete_removes_the_conversation(supportai_app, supportai_client):
    client = supportai_client(supportai_app())
    keep = await _create(client, ME, title="keep")
    gone = await _create(client, ME, title="gone")

    response = await client.delete(f"/conversations/{gone}", headers=ME)
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": True, "conversation_id": gone}

    assert (await client.get(f"/conversations/{gone}", headers=ME)).status_code == 404
    listed = (await client.get("/conversations", headers=ME)).json()["items"]
    assert [c["conversation_id"] for c in listed] == [keep]


async def test_no_caller_is_401_on_every_endpoint(supportai_app, supportai_client):
    client = supportai_client(supportai_app())
    cid = await _create(client, ME)
    requests = [
        ("GET", "/conversations", None),
        ("POST", "/conversations", {"title": "x"}),
        ("GET", f"/conversations/{cid}", None),
        ("DELETE", f"/conversations/{cid}", None),
    ]
    for method, path, body in requests:
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json() == {
            "degraded": True,
            "reason": "unauthenticated",
            "detail": "authentication required",
        }
    # Nothing happened on the caller's behalf.
    listed = (await client.get("/conversations", headers=ME)).json()["items"]
    assert [c["conversation_id"] for c in listed] == [cid]


async def test_foreign_conversations_are_indistinguishable_from_missing(
    supportai_app, supportai_client
):
    client = supportai_client(supportai_app())
    cid = await _create(client, ME, title="private")
    missing = cid + 1000

    expected = await client.get(f"/conversations/{missing}", headers=ME)
    assert expected.status_code == 404
    assert expected.json()["degraded"] is True
    assert expected.json()["reason"] == "not_found"

    for headers in (NEIGHBOUR, STRANGER):
        for method in ("GET", "DELETE"):
            foreign = await client.request(method, f"/conversations/{cid}", headers=headers)
            absent = await client.request(method, f"/conversations/{missing}", headers=headers)
            assert foreign.status_code == absent.status_code == 404, (method, headers)
            assert foreign.json() == absent.json() == expected.json()
            assert foreign.headers.get("content-type") == absent.headers.get("content-type")

    # The owner still has it, untouched.
    mine = await client.get(f"/conversations/{cid}", headers=ME)
    assert mine.status_code == 200
    assert mine.json()["title"] == "private"
