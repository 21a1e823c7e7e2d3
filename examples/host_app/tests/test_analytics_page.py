"""The admin's Analytics page, over HTTP: figures, SVG charts, unanswered groups, the draft button.

A question the help center cannot answer goes through the real ``knowledge_base``
backend (its not-found fallback is what the page counts), then the admin drafts
an article from its group with the page's form, scripts off.
"""

from __future__ import annotations

import re

import httpx
from host_app_testing import sign_in

API = "/api/support/ai"
PAGE = "/admin/support/analytics"
UNANSWERABLE = "Can my zebra tango on Neptune? jane.doe@example.org"


async def _ask(client: httpx.AsyncClient, content: str) -> dict[str, object]:
    disclosure = (await client.get(f"{API}/disclosure/status")).json()
    await client.post(f"{API}/disclosure/accept", json={"version": disclosure["current_version"]})
    conversation = (await client.post(f"{API}/conversations", json={})).json()
    answer = await client.post(
        f"{API}/conversations/{conversation['conversation_id']}/messages",
        json={"content": content},
        headers={"accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_the_page_is_for_admins_only(client: httpx.AsyncClient) -> None:
    assert (await client.get(PAGE)).status_code == 303
    await sign_in(client, "alice@acme.example")
    assert (await client.get(PAGE)).status_code == 403
    assert (await client.post(f"{PAGE}/draft", data={"group_id": "1"})).status_code == 403


async def test_figures_and_charts_render_on_the_server_without_scripts(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "alice@acme.example")
    answered = await _ask(client, "How do I reset my password?")
    assert answered["status"] == "complete"
    await _ask(client, UNANSWERABLE)
    await sign_in(client, "carol@acme.example")
    page = await client.get(PAGE)
    assert page.status_code == 200, page.text
    html = page.text
    # two turns, one of two answers was the help center's not-found fallback (the real
    # knowledge_base backend's Finish(not_found=True))
    assert re.search(r"Conversations</span><strong>2</strong>", html)
    assert re.search(r"Not found</span><strong>50.0 %</strong>", html)
    assert html.count('<svg class="chart" role="img"') == 4
    assert "<script" not in html  # the page needs no script at all
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    # the unanswered question, redacted, with its draft form
    assert "<li>Can my zebra tango on Neptune? [redacted email]</li>" in html
    assert "jane.doe@example.org" not in html
    assert f'action="{PAGE}/draft"' in html


async def test_the_draft_button_creates_an_unpublished_article(client: httpx.AsyncClient) -> None:
    await sign_in(client, "alice@acme.example")
    asked = await _ask(client, UNANSWERABLE)
    await sign_in(client, "carol@acme.example")
    page = (await client.get(PAGE)).text
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    assert form["group_id"] == str(asked["user_message_id"])
    posted = await client.post(f"{PAGE}/draft", data=form, follow_redirects=False)
    assert posted.status_code == 303
    after = await client.get(posted.headers["location"])
    assert "Draft article created (unpublished)" in after.text
    drafts = (await client.get(f"{API}/admin/articles", params={"published": "false"})).json()
    slugs = {a["slug"] for a in drafts["items"]}
    assert f"unanswered-{form['group_id']}" in slugs
    again = await client.post(f"{PAGE}/draft", data=form, follow_redirects=True)
    assert "This group already has a draft article." in again.text
    # another tenant's admin cannot draft from acme's group
    await sign_in(client, "erin@globex.example")
    foreign = await client.post(f"{PAGE}/draft", data=form, follow_redirects=True)
    assert "That group is no longer in this range." in foreign.text


async def test_a_bad_range_is_said_not_a_500(client: httpx.AsyncClient) -> None:
    await sign_in(client, "carol@acme.example")
    reversed_range = await client.get(PAGE, params={"from": "2026-02-01", "to": "2026-01-01"})
    assert reversed_range.status_code == 422 and "is after to" in reversed_range.text
    bad = await client.get(PAGE, params={"from": "2026-02-30"})
    assert bad.status_code == 422 and "is not a date" in bad.text
