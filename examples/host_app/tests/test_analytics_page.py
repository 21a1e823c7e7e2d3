"""The admin's Analytics page, over HTTP: figures, SVG charts, unanswered groups, the draft
button, and the past questions to add.

A question the help center cannot answer goes through the real ``knowledge_base``
backend (its not-found fallback is what the page counts), then the admin drafts
an article from its group with the page's form, scripts off. A question it answers
comes back as a past question of the article that answered it, which the admin adds
with that article's form.
"""

from __future__ import annotations

import html as markup
import re
from typing import Any

import httpx
import pytest
from host_app import past_questions
from host_app_testing import sign_in

API = "/api/support/ai"
PAGE = "/admin/support/analytics"
UNANSWERABLE = "Can my zebra tango on Neptune? jane.doe@example.org"
QUESTIONS = f"{PAGE}/questions"
PASSWORD_ARTICLE = "Resetting your password"
ASKED = "How do I reset my password?"


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


async def test_adding_past_questions_is_for_admins_only(client: httpx.AsyncClient) -> None:
    await sign_in(client, "carol@acme.example")
    article = await _article_titled(client, PASSWORD_ARTICLE)
    form = {"article_id": article["article_id"], "revision": article["revision"], "question": ASKED}
    client.cookies.clear()  # signed out
    signed_out = await client.post(QUESTIONS, data=form, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")
    await sign_in(client, "alice@acme.example")
    assert (await client.post(QUESTIONS, data=form)).status_code == 403
    await sign_in(client, "carol@acme.example")
    assert await _article_titled(client, PASSWORD_ARTICLE) == article


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


async def test_a_draft_form_with_too_many_fields_is_refused_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "carol@acme.example")
    fields = {f"field{i}": "x" for i in range(6)}  # the draft form has 5 at most
    refused = await client.post(f"{PAGE}/draft", data=fields, follow_redirects=False)
    assert refused.status_code == 413
    drafts = (await client.get(f"{API}/admin/articles", params={"published": "false"})).json()
    assert drafts["items"] == []


async def _rate_up(client: httpx.AsyncClient, answer: dict[str, object]) -> None:
    rated = await client.post(
        f"{API}/conversations/{answer['conversation_id']}/feedback",
        json={"helpful": True, "message_id": answer["assistant_message_id"]},
    )
    assert rated.status_code == 200, rated.text


async def _article_titled(client: httpx.AsyncClient, title: str) -> dict[str, Any]:
    """The admin API's view of the signed-in admin's article with this title."""
    listed = (await client.get(f"{API}/admin/articles", params={"limit": 200})).json()
    (found,) = [a for a in listed["items"] if a["title"] == title]
    article = await client.get(f"{API}/admin/articles/{found['article_id']}")
    found_article: dict[str, Any] = article.json()
    return found_article


def _suggestions(page: str, title: str) -> tuple[dict[str, str], dict[str, bool]]:
    """The article's "Add to the article" form on the page: its hidden fields, and each
    suggested question with whether its box is checked."""
    forms = re.findall(rf'<form method="post" action="{QUESTIONS}">(.*?)</form>', page, re.S)
    (form,) = [f for f in forms if f"<strong>{markup.escape(title)}</strong>" in f]
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    boxes = re.findall(r'<input type="checkbox" name="question" value="([^"]*)"( checked)?>', form)
    return hidden, {markup.unescape(value): bool(checked) for value, checked in boxes}


async def _answered_and_rated(client: httpx.AsyncClient) -> None:
    """Alice asks two password questions; the first answer she rates up."""
    await sign_in(client, "alice@acme.example")
    first = await _ask(client, ASKED)
    assert first["status"] == "complete"
    assert first["citations"][0]["source_id"] == "password-reset"
    await _rate_up(client, first)
    second = await _ask(client, "I can't remember my password, what now?")
    assert second["citations"][0]["source_id"] == "password-reset"


async def test_answered_questions_are_suggested_under_their_article(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "carol@acme.example")
    empty = (await client.get(PAGE)).text
    assert "<h2>Past questions to add</h2>" in empty
    assert "No answered questions to suggest in this range." in empty
    assert f'action="{QUESTIONS}"' not in empty
    await _answered_and_rated(client)
    await sign_in(client, "carol@acme.example")
    page = (await client.get(PAGE)).text
    assert "No answered questions to suggest in this range." not in page
    assert "<script" not in page
    hidden, boxes = _suggestions(page, PASSWORD_ARTICLE)
    # rated up: checked; only answered: offered, not checked
    assert boxes == {ASKED: True, "I can't remember my password, what now?": False}
    article = await _article_titled(client, PASSWORD_ARTICLE)
    assert hidden["article_id"] == str(article["article_id"])
    assert hidden["revision"] == str(article["revision"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", hidden["from"])
    # another tenant's admin sees none of acme's questions
    await sign_in(client, "erin@globex.example")
    globex = (await client.get(PAGE)).text
    assert "No answered questions to suggest in this range." in globex
    assert ASKED not in globex


async def test_the_form_adds_the_chosen_questions_to_the_article(
    client: httpx.AsyncClient,
) -> None:
    await _answered_and_rated(client)
    await sign_in(client, "carol@acme.example")
    before = await _article_titled(client, PASSWORD_ARTICLE)
    hidden, boxes = _suggestions((await client.get(PAGE)).text, PASSWORD_ARTICLE)
    chosen = [question for question, checked in boxes.items() if checked]
    posted = await client.post(
        QUESTIONS, data={**hidden, "question": chosen}, follow_redirects=False
    )
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location.startswith(f"{PAGE}?") and f"from={hidden['from']}" in location
    after = await _article_titled(client, PASSWORD_ARTICLE)
    # after the article's own questions, in order, through the audited PATCH path
    assert after["questions"] == [*before["questions"], ASKED]
    assert after["revision"] == before["revision"] + 1
    events = await client.get(
        f"{API}/admin/audit-events",
        params={"action": "article.updated", "target_id": after["article_id"]},
    )
    assert [e["details"]["changed"] for e in events.json()["items"]] == [["questions"]]
    page = (await client.get(location)).text
    assert f"Added 1 past question(s) to {PASSWORD_ARTICLE}." in page
    hidden_now, boxes_now = _suggestions(page, PASSWORD_ARTICLE)
    assert boxes_now == {"I can't remember my password, what now?": False}
    assert hidden_now["revision"] == str(after["revision"])


async def test_a_stale_revision_changes_nothing(client: httpx.AsyncClient) -> None:
    await _answered_and_rated(client)
    await sign_in(client, "carol@acme.example")
    hidden, _ = _suggestions((await client.get(PAGE)).text, PASSWORD_ARTICLE)
    # another admin edits the article after the page was read
    edited = await client.patch(
        f"{API}/admin/articles/{hidden['article_id']}",
        json={"tags": ["password"], "revision": int(hidden["revision"])},
    )
    assert edited.status_code == 200, edited.text
    posted = await client.post(QUESTIONS, data={**hidden, "question": ASKED}, follow_redirects=True)
    assert "The article was edited meanwhile, so nothing was added" in posted.text
    after = await _article_titled(client, PASSWORD_ARTICLE)
    assert ASKED not in after["questions"]
    assert after["revision"] == edited.json()["revision"]


async def test_a_refused_choice_is_a_notice_not_a_500(client: httpx.AsyncClient) -> None:
    await sign_in(client, "carol@acme.example")
    article = await _article_titled(client, PASSWORD_ARTICLE)
    form = {"article_id": str(article["article_id"]), "revision": str(article["revision"])}

    async def notice(**fields: object) -> str:
        posted = await client.post(QUESTIONS, data={**form, **fields}, follow_redirects=True)
        assert posted.status_code == 200, posted.text
        found = re.search(r'<p class="notice[^"]*" role="\w+">(.*?)</p>', posted.text)
        assert found, posted.text
        return markup.unescape(found[1])

    assert await notice() == "Choose at least one question to add."
    assert "not valid" in await notice(article_id="x", question="Where is the reset link?")
    # one more than the bound of 50, counting the article's own
    many = [f"Question number {i}?" for i in range(51 - len(article["questions"]))]
    assert await notice(question=many) == "Nothing was added: at most 50 questions."
    # the parser's bound on fields answers 413 rather than raising
    fields = {**form, "question": [f"Question {i}?" for i in range(past_questions.MAX_FORM_FIELDS)]}
    assert (await client.post(QUESTIONS, data=fields)).status_code == 413
    unchanged = await _article_titled(client, PASSWORD_ARTICLE)
    assert unchanged["revision"] == article["revision"]
    assert unchanged["questions"] == article["questions"]
    # another tenant's admin cannot add to acme's article: for them it does not exist
    await sign_in(client, "erin@globex.example")
    assert await notice(question="Where is the reset link?") == "That article no longer exists."
    await sign_in(client, "carol@acme.example")
    assert (await _article_titled(client, PASSWORD_ARTICLE))["revision"] == article["revision"]
    deleted = await client.delete(f"{API}/admin/articles/{article['article_id']}")
    assert deleted.status_code == 200, deleted.text
    assert await notice(question="Where is the reset link?") == "That article no longer exists."


async def test_a_suggested_question_is_redacted(client: httpx.AsyncClient) -> None:
    await sign_in(client, "alice@acme.example")
    answer = await _ask(client, "How do I reset my password? It is jane.doe@example.org")
    assert answer["citations"][0]["source_id"] == "password-reset"
    await sign_in(client, "carol@acme.example")
    page = (await client.get(PAGE)).text
    assert "jane.doe@example.org" not in page
    _, boxes = _suggestions(page, PASSWORD_ARTICLE)
    assert list(boxes) == ["How do I reset my password? It is [redacted email]"]


async def test_the_section_shows_a_bounded_number_of_articles(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(client, "alice@acme.example")
    for question, slug in ((ASKED, "password-reset"), ("How do I get a refund?", "refunds")):
        answer = await _ask(client, question)
        assert answer["citations"][0]["source_id"] == slug
    await sign_in(client, "carol@acme.example")
    both = (await client.get(PAGE)).text
    assert both.count(f'action="{QUESTIONS}"') == 2
    assert "Only the first" not in both
    monkeypatch.setattr(past_questions, "MAX_ARTICLES_SHOWN", 1)
    one = (await client.get(PAGE)).text
    assert one.count(f'action="{QUESTIONS}"') == 1
    assert "Only the first 1 articles with suggestions are shown" in one


async def test_the_same_form_posted_twice_adds_once_and_says_so(
    client: httpx.AsyncClient,
) -> None:
    await _answered_and_rated(client)
    await sign_in(client, "carol@acme.example")
    hidden, _ = _suggestions((await client.get(PAGE)).text, PASSWORD_ARTICLE)
    form = {**hidden, "question": ASKED}
    first = await client.post(QUESTIONS, data=form, follow_redirects=True)
    assert f"Added 1 past question(s) to {PASSWORD_ARTICLE}." in first.text
    # a double click or a reload posts the page's old revision again
    again = await client.post(QUESTIONS, data=form, follow_redirects=True)
    assert f"{PASSWORD_ARTICLE} already had those questions." in again.text
    assert "edited meanwhile" not in again.text
    after = await _article_titled(client, PASSWORD_ARTICLE)
    assert after["questions"].count(ASKED) == 1
    assert after["revision"] == int(hidden["revision"]) + 1
