"""supportai's ``<supportai-chat>`` widget in headless Chromium, beyond the customer journey
of ``test_browser.py``: injection through a help article and through a model answer, a
connection cut mid-answer and resumed, a request that never arrived sent again with the
same idempotency key, a 390 px wide phone, keyboard use,
and the figures docs/widget.md reports (size gzipped, time to interactive).

The XSS pages are served WITHOUT Lumen's Content-Security-Policy (the route below strips
it): the policy would block an injected inline handler by itself, and these tests are
about the widget never creating one.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import shutil
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from host_app.config import default_articles_dir
from host_app_testing import (
    CuttingProxy,
    LiveServer,
    clean_environment,
    live_server,
    make_config,
)
from test_browser import (  # fixtures and helpers shared with the journey test
    SCREENSHOTS,
    accept_disclosure,
    ask,
    browser_errors,
    chat,
    chromium,
    page,
    shot,
    sign_in,
)

from supportai.llm import Citation, Finish, TextDelta, Usage
from supportai.testing import ScriptedBackend, backend_plugin

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Route

__all__ = ["browser_errors", "chromium", "page"]  # fixtures, imported to be used here

pytestmark = pytest.mark.browser

API = "/api/support/ai"
METRICS = SCREENSHOTS.parent / "widget-metrics.json"

#: Markup a help article or a model might carry; none of it may run or become elements.
IMG = '<img src=x onerror="window.__xss=(window.__xss||[]).concat(1)">'
SCRIPT = "<script>window.__xss=(window.__xss||[]).concat(2)</script>"
SVG = '<svg onload="window.__xss=(window.__xss||[]).concat(3)"></svg>'
JS_LINK = "[the settings](javascript:window.__xss=(window.__xss||[]).concat(4))"
ENCODED_LINK = "[a trick](jav&#x09;ascript:alert(1))"

EVIL_ARTICLE = f"""# Zebra reports {IMG}

To export the quarterly zebra report, open **Reports** and choose *Zebra*. {SCRIPT}

The zebra export also says {SVG} and links to {JS_LINK}.
"""

MODEL_ANSWER = (
    f"## Steps {IMG}\n\n"
    f"Here is what to do: {SCRIPT} then **Save**.\n\n"
    f"- open {JS_LINK}\n"
    "- read [the refunds article](/help/refunds) and *the* `<b>docs</b>`\n"
    f"- not a link: {ENCODED_LINK}\n\n"
    f'<a href="javascript:window.__xss=5">raw anchor</a> {SVG} done.'
)
EVIL_CITATION = Citation("evil", f"Title {IMG}", "javascript:window.__xss=6")
SAFE_CITATION = Citation("safe", "A safe page", "https://help.example/safe")


def scripted_answer() -> list[Any]:
    words = re.findall(r"\S+\s*", MODEL_ANSWER)
    return [
        *(TextDelta(w) for w in words),
        EVIL_CITATION,
        SAFE_CITATION,
        Usage(40, 60),
        Finish("stop"),
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Lumen over its own articles plus one carrying HTML and script markup."""
    articles = tmp_path_factory.mktemp("articles")
    for source in default_articles_dir().glob("*.md"):
        shutil.copy(source, articles / source.name)
    (articles / "zebra-reports.md").write_text(EVIL_ARTICLE, encoding="utf-8")
    config = make_config(
        tmp_path_factory.mktemp("widget") / "data", articles_dir=articles, stream_delay_s=0.01
    )
    with clean_environment(), live_server(config) as live:
        yield live


@contextmanager
def scripted_live_server(data: Path, answer: list[Any]) -> Iterator[LiveServer]:
    """Lumen whose model is a :class:`ScriptedBackend` playing ``answer`` to every question."""
    backend = ScriptedBackend([answer])
    with (
        # An hour's rate window: the allowance line names it ("in the next hour").
        clean_environment(SUPPORTAI_LLM_BACKEND="scripted", SUPPORTAI_RATE_LIMIT_WINDOW_S="3600"),
        live_server(make_config(data), plugins=(backend_plugin(backend),)) as live,
    ):
        yield live


@pytest.fixture(scope="module")
def scripted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Lumen with a model that answers every question with HTML and script markup."""
    with scripted_live_server(
        tmp_path_factory.mktemp("scripted") / "data", scripted_answer()
    ) as live:
        yield live


@pytest.fixture
def scripted_page(chromium: Browser, scripted_server: LiveServer) -> Iterator[Page]:
    context = chromium.new_context(
        base_url=scripted_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    yield opened
    context.close()
    assert errors == []


class Hold:
    """Where the held model waits: ``reached`` once it sent the first half of its
    answer, and it goes on once the test sets ``released``."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.released = threading.Event()

    async def wait(self) -> None:
        self.reached.set()
        await asyncio.to_thread(self.released.wait, TIMEOUT_S * 4)  # the loop stays free


HOLD = Hold()
#: Numbered words, so that a gap or a repeat on the page shows as such.
HELD_WORDS = [f"word{n} " for n in range(1, 21)]
REST_WORDS = [f"word{n} " for n in range(21, 41)]
HELD_ANSWER = "".join(HELD_WORDS + REST_WORDS)
TIMEOUT_S = 15


def held_answer() -> list[Any]:
    """The answer's first half, a word every 20 ms, then the hold, then the rest."""
    script: list[Any] = []
    for word in HELD_WORDS:
        script += [TextDelta(word), lambda: asyncio.sleep(0.02)]
    script.append(HOLD.wait)
    for word in REST_WORDS:
        script += [TextDelta(word), lambda: asyncio.sleep(0.02)]
    return [*script, Usage(40, 60), Finish("stop")]


@pytest.fixture(scope="module")
def held_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Lumen with a model that holds in the middle of its answer (:data:`HOLD`)."""
    with scripted_live_server(tmp_path_factory.mktemp("held") / "data", held_answer()) as live:
        yield live


@pytest.fixture
def cutting_page(chromium: Browser, held_server: LiveServer) -> Iterator[tuple[Page, CuttingProxy]]:
    """A page that reaches the server through a :class:`CuttingProxy`."""
    proxy = CuttingProxy(held_server.url)
    context = chromium.new_context(base_url=proxy.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_S * 1000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    try:
        yield opened, proxy
    finally:
        HOLD.released.set()
        context.close()
        proxy.close()
    assert errors == []


def wait_until(page: Page, condition: Callable[[], bool], failure: str) -> None:
    """Poll ``condition`` for :data:`TIMEOUT_S` (waiting through the page, so that its
    events are delivered meanwhile)."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, failure
        page.wait_for_timeout(20)


def shot_widget(page: Page, name: str) -> None:
    """The widget alone (docs/widget.md shows it without the host page around it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    chat(page).screenshot(path=str(path))
    assert path.stat().st_size > 5_000, f"{name}: empty screenshot?"


def without_csp(page: Page) -> None:
    """Serve the chat page without its Content-Security-Policy (see the module docstring)."""

    def strip(route: Route) -> None:
        response = route.fetch()
        headers = {
            k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"
        }
        route.fulfill(response=response, headers=headers)

    page.route(re.compile(r"/support/chat(#.*)?$"), strip)


def widget_dom(page: Page) -> dict[str, Any]:
    """What the widget's shadow root holds, in one read."""
    return page.evaluate(
        """() => {
            const root = document.querySelector("supportai-chat").shadowRoot;
            const log = root.querySelector(".log");
            return {
                dangerous: [...log.querySelectorAll(
                    "img, script, svg, iframe, object, embed, b, [onerror], [onload], [style]"
                )].map((n) => n.outerHTML),
                hrefs: [...log.querySelectorAll("a")].map((a) => a.getAttribute("href")),
                links: [...log.querySelectorAll("a")].map((a) => [a.textContent, a.href]),
                text: log.innerText,
                strong: [...log.querySelectorAll(".assistant strong")].map((n) => n.textContent),
                em: [...log.querySelectorAll(".assistant em")].map((n) => n.textContent),
                code: [...log.querySelectorAll(".assistant code")].map((n) => n.textContent),
                headings: [...log.querySelectorAll(
                    ".assistant h3, .assistant h4, .assistant h5"
                )].map((n) => n.textContent),
                xss: window.__xss === undefined ? null : window.__xss,
            };
        }"""
    )


def assert_nothing_ran(page: Page, dom: dict[str, Any]) -> None:
    page.wait_for_timeout(300)  # an <img onerror> would have fired by now
    assert page.evaluate("() => window.__xss === undefined"), dom["xss"]
    assert dom["dangerous"] == [], dom["dangerous"]
    for href in dom["hrefs"]:
        assert href.startswith(("http://", "https://")), href


def finished(page: Page) -> None:
    from playwright.sync_api import expect

    expect(chat(page).locator("li.message.assistant").last).to_have_attribute(
        "data-status", re.compile(".")
    )


def test_markup_in_a_help_article_shows_as_text(page: Page, server: LiveServer) -> None:
    without_csp(page)
    sign_in(page, "alice@acme.example")
    accept_disclosure(page)
    ask(page, "How do I export the quarterly zebra report?")
    finished(page)
    dom = widget_dom(page)
    assert_nothing_ran(page, dom)
    # The article's markup is quoted literally, and its Markdown still renders.
    assert SCRIPT in dom["text"], dom["text"]
    assert "Reports" in dom["strong"] and "Zebra" in dom["em"]
    # (other articles may be cited beside it: the one with the markup is the first)
    citation = chat(page).locator(".citation a").first
    assert IMG in citation.inner_text()
    assert citation.get_attribute("href") == server.url + "/help/zebra-reports"
    shot(page, "widget-xss-article")

    # The stored conversation, rendered again from the API, is just as inert.
    page.reload()
    finished(page)
    reloaded = widget_dom(page)
    assert_nothing_ran(page, reloaded)
    assert SCRIPT in reloaded["text"]


def test_markup_in_a_model_answer_shows_as_text(
    scripted_page: Page, scripted_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    page = scripted_page
    without_csp(page)
    sign_in(page, "alice@acme.example")
    accept_disclosure(page)
    ask(page, "What do I do?")
    finished(page)
    dom = widget_dom(page)
    assert_nothing_ran(page, dom)
    for literal in (IMG, SCRIPT, SVG, '<a href="javascript:window.__xss=5">raw anchor</a>'):
        assert literal in dom["text"], literal
    # javascript: links stay text; a relative link becomes a link on the host's origin.
    assert JS_LINK in dom["text"] and ENCODED_LINK in dom["text"]
    assert ["the refunds article", scripted_server.url + "/help/refunds"] in dom["links"]
    assert dom["strong"] == ["Save"] and dom["em"] == ["the"]
    assert dom["code"] == ["<b>docs</b>"]
    assert dom["headings"] == [f"Steps {IMG}"]
    # Citations: the unsafe URL is not linked (its title is text); the https one is.
    citations = chat(page).locator(".citation")
    expect(citations).to_have_count(2)
    expect(citations.nth(0)).to_have_text(f"Title {IMG}")
    expect(citations.nth(0).locator("a")).to_have_count(0)
    assert citations.nth(1).locator("a").get_attribute("href") == "https://help.example/safe"
    shot(page, "widget-xss-model")


def test_a_connection_cut_mid_answer_resumes_after_the_last_event(
    cutting_page: tuple[Page, CuttingProxy], held_server: LiveServer
) -> None:
    """The browser's connections are reset while the answer is still streaming; the
    widget resumes the turn on ``GET …/messages/{turn}/events`` with ``Last-Event-ID``
    and the whole answer shows once: nothing missing, nothing twice, asked and
    charged once.

    Deterministic, without sleeps: the model holds after the first half of the answer
    until the test lets it go, so the cut lands mid-answer by construction, and the
    test checks that it did (the page shows exactly the first half, the server says
    the turn is in progress) before cutting, and that the resume was sent while the
    turn still ran."""
    from playwright.sync_api import expect

    page, proxy = cutting_page
    posted: list[str] = []
    resumed: list[dict[str, str]] = []

    def seen(request: Request) -> None:
        if re.search(r"/conversations/\d+/messages$", request.url) and request.method == "POST":
            posted.append(request.url)
        elif re.search(r"/conversations/\d+/messages/\d+/events$", request.url):
            resumed.append({"url": request.url, **request.headers})

    page.on("request", seen)
    sign_in(page, "bob@acme.example")
    widget = chat(page)
    expect(widget).to_have_attribute("data-ready", "")
    if widget.locator(".disclosure").is_visible():
        accept_disclosure(page)
    ask(page, "Walk me through it")
    assert HOLD.reached.wait(TIMEOUT_S), "the model never reached the middle of its answer"
    conversation_id = int(widget.get_attribute("conversation-id") or 0)
    stored = page.request.get(f"{API}/conversations/{conversation_id}").json()
    assert [m["role"] for m in stored["messages"]] == ["user"]  # no answer saved yet
    turn = stored["messages"][0]["message_id"]
    # What the server streamed before the hold (the output filters keep the last few
    # words back until more text comes): the running turn's events on its worker.
    runtime = held_server.app.state.support.state.supportai
    recorder = runtime.live_turns.get(turn)
    assert recorder is not None and not recorder.ended  # the turn is running
    events = [recorder.event(index) for index in range(len(recorder))]
    streamed = "".join(e.data["text"] for e in events if e.event == "delta")
    assert streamed and HELD_ANSWER.startswith(streamed) and streamed != HELD_ANSWER

    # The cut is mid-answer: the page shows what was streamed so far, no more, and the
    # server says the turn is in progress.
    answer = widget.locator("li.message.assistant").last
    text = answer.locator(".text")
    wait_until(page, lambda: text.inner_text().split() == streamed.split(), "the page lags")
    assert answer.get_attribute("data-status") != "complete"
    twin = page.request.get(f"{API}/conversations/{conversation_id}/messages/{turn}/turn")
    assert twin.status == 409 and twin.json()["reason"] == "turn_in_progress"
    # The widget reconnects while the model still holds: a resume of a running turn.
    with page.expect_request(re.compile(r"/messages/\d+/events$")):
        assert proxy.cut() >= 1
    assert len(resumed) == 1 and not HOLD.released.is_set()
    assert resumed[0]["url"].endswith(f"/messages/{turn}/events")
    # after the last event the page had before the cut
    assert resumed[0].get("last-event-id") == f"{turn}:{len(events)}"
    HOLD.released.set()

    expect(answer).to_have_attribute("data-status", "complete")
    assert text.inner_text().split() == [w.strip() for w in HELD_WORDS + REST_WORDS]
    expect(answer.locator(".feedback")).to_be_visible()
    expect(widget.locator(".notice")).to_be_hidden()
    assert len(posted) == 1, posted  # resumed, not asked again

    stored = page.request.get(f"{API}/conversations/{conversation_id}").json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    assert stored["messages"][1]["content"] == HELD_ANSWER
    quota = page.request.get(f"{API}/quota").json()
    assert quota["user_turns"]["used"] == 1
    # Charged once, and the allowance says so, in questions.
    today = quota["user_cost_micros"]["remaining"] // quota["turn_reservation_micros"]
    expect(widget.locator(".allowance")).to_have_text(
        f"19 of 20 questions left in the next hour; at least {today} today."
    )


def test_a_request_that_never_arrived_is_sent_again(
    scripted_page: Page, scripted_server: LiveServer
) -> None:
    """A network error before any response (the server saw nothing): the retry, with the
    same key, is answered normally; one turn, no error left on screen."""
    from playwright.sync_api import expect

    page = scripted_page
    keys: list[str] = []

    def fail_the_first(route: Route) -> None:
        keys.append(json.loads(route.request.post_data or "{}")["idempotency_key"])
        if len(keys) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r"/api/support/ai/conversations/\d+/messages$"), fail_the_first)
    sign_in(page, "dave@globex.example")
    widget = chat(page)
    expect(widget).to_have_attribute("data-ready", "")
    if widget.locator(".disclosure").is_visible():
        accept_disclosure(page)
    ask(page, "Tell me the steps")
    answer = widget.locator("li.message.assistant").last
    expect(answer).to_have_attribute("data-status", "complete")
    assert len(keys) == 2 and keys[0] == keys[1]
    expect(widget.locator(".notice")).to_be_hidden()
    assert page.request.get(f"{API}/quota").json()["user_turns"]["used"] == 1


def test_keyboard_only(page: Page, server: LiveServer) -> None:
    """Disclosure, question, feedback and a human, with the keyboard alone."""
    from playwright.sync_api import expect

    sign_in(page, "dave@globex.example")
    widget = chat(page)
    expect(widget.locator("button.accept")).to_be_focused()
    page.keyboard.press("Enter")
    question = widget.locator("textarea[name=question]")
    expect(question).to_be_focused()
    page.keyboard.type("How do I turn on two-factor authentication?")
    page.keyboard.press("Enter")
    answer = widget.locator("li.message.assistant").last
    expect(answer).to_have_attribute("data-status", "complete")
    expect(question).to_be_focused()
    # The log is one tab stop; the answer's links and buttons follow in reading order.
    log = widget.locator("ol.log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    no = answer.locator("button.thumb.down")
    no.focus()
    page.keyboard.press("Enter")
    expect(no).to_have_attribute("aria-pressed", "true")
    expect(answer.locator("textarea[name=comment]")).to_be_focused()
    page.keyboard.type("Too long.")
    page.keyboard.press("Enter")
    expect(answer.locator(".feedback-status")).to_be_focused()
    expect(answer.locator(".feedback-status")).to_contain_text("Thanks")
    human = widget.locator("header button.human")
    human.focus()
    page.keyboard.press("Enter")
    expect(widget.locator("a.ticket-link")).to_be_focused()
    for button in widget.locator("button").all():
        if button.is_visible():
            assert (button.inner_text() or button.get_attribute("aria-label") or "").strip()


def test_at_390_px_nothing_overflows(chromium: Browser, server: LiveServer) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(base_url=server.url, viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        sign_in(phone, "erin@globex.example")
        shot_widget(phone, "widget-390-disclosure")
        accept_disclosure(phone)
        ask(phone, "How do I export my data as CSV?")
        answer = chat(phone).locator("li.message.assistant").last
        expect(answer).to_have_attribute("data-status", "complete")
        answer.locator("button.thumb.down").click()
        overflow = phone.evaluate(
            """() => {
                const host = document.querySelector("supportai-chat");
                const width = document.documentElement.clientWidth;
                const out = [...host.shadowRoot.querySelectorAll("*")]
                    .filter((n) => n.getClientRects().length)
                    .filter((n) => n.getBoundingClientRect().right > width + 0.5
                                   || n.getBoundingClientRect().left < -0.5)
                    .map((n) => n.tagName + "." + n.className);
                const log = host.shadowRoot.querySelector(".log");
                return {
                    width,
                    out,
                    hostRight: host.getBoundingClientRect().right,
                    logScrolls: log.scrollWidth > log.clientWidth,
                    main: document.querySelector("main").scrollWidth <= width,
                };
            }"""
        )
        assert overflow["width"] == 390
        assert overflow["out"] == [], overflow
        assert overflow["hostRight"] <= 390 and not overflow["logScrolls"]
        assert overflow["main"], "the chat page's content is wider than the phone"
        shot(phone, "chat-page-390")
        shot_widget(phone, "widget-390")
    finally:
        context.close()


def test_the_help_center_pages_carry_the_widget(page: Page, server: LiveServer) -> None:
    from playwright.sync_api import expect

    sign_in(page, "carol@acme.example")
    page.goto("/help/refunds")
    widget = page.locator(".help-assistant supportai-chat")
    expect(widget).to_have_attribute("data-ready", "")
    expect(widget.locator("h2")).to_have_text("Still stuck? Ask the Lumen assistant")
    # No slotted text here: the widget shows the server's disclosure (plain text).
    status = page.request.get(f"{API}/disclosure/status").json()
    assert not status["accepted"]
    first_paragraph = status["text"].split("\n\n")[0].strip()
    expect(widget.locator(".disclosure-text p").first).to_have_text(first_paragraph)
    widget.locator("button.accept").click()
    widget.locator("textarea[name=question]").fill("Can I get a refund on a yearly renewal?")
    widget.locator("textarea[name=question]").press("Enter")
    answer = widget.locator("li.message.assistant").last
    expect(answer).to_have_attribute("data-status", "complete")
    expect(answer.locator(".citation a", has_text="Refund policy")).to_be_visible()

    # Themable from the host page: a custom property set outside reaches inside.
    send = widget.locator("button.send")
    widget.evaluate("(node) => node.style.setProperty('--supportai-accent', 'rgb(1, 120, 3)')")
    expect(send).to_have_css("background-color", "rgb(1, 120, 3)")
    widget.evaluate("(node) => node.style.setProperty('--supportai-radius', '0px')")
    expect(widget.locator(".panel")).to_have_css("border-top-left-radius", "0px")


def test_widget_size_and_time_to_interactive(chromium: Browser, server: LiveServer) -> None:
    """Figures for docs/widget.md, written to test-results/widget-metrics.json (not asserted
    against a time: this machine's load varies; the numbers are reported)."""
    context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    try:
        sign_in(tab, "bob@acme.example")
        sizes = {}
        for name in ("widget.js", "widget.css"):
            body = tab.request.get(f"{API}/{name}").body()
            sizes[name] = {"bytes": len(body), "gzip_bytes": len(gzip.compress(body, 9))}
        samples = []
        for _ in range(5):
            tab.goto("/support/chat")
            tab.wait_for_selector("supportai-chat[data-ready]")
            samples.append(
                tab.evaluate(
                    """() => ({
                        ready_ms: document.querySelector("supportai-chat").readyAt,
                        dcl_ms: performance.getEntriesByType("navigation")[0]
                            .domContentLoadedEventEnd,
                    })"""
                )
            )
        figures = {
            "sizes": sizes,
            "total_gzip_bytes": sum(s["gzip_bytes"] for s in sizes.values()),
            "time_to_interactive_ms": {
                "median": round(statistics.median(s["ready_ms"] for s in samples), 1),
                "max": round(max(s["ready_ms"] for s in samples), 1),
            },
            "dom_content_loaded_ms_median": round(
                statistics.median(s["dcl_ms"] for s in samples), 1
            ),
            "samples": len(samples),
        }
        METRICS.parent.mkdir(parents=True, exist_ok=True)
        METRICS.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        print("widget figures:", json.dumps(figures))
        assert all(s["ready_ms"] > 0 for s in samples)
    finally:
        context.close()


def test_docs_screenshots(page: Page, server: LiveServer) -> None:
    """The pictures of docs/widget.md (copied from test-results when they change)."""
    from playwright.sync_api import expect

    sign_in(page, "dave@globex.example")
    widget = chat(page)
    expect(widget).to_have_attribute("data-ready", "")
    if widget.locator(".disclosure").is_visible():
        accept_disclosure(page)
    widget.locator("header button", has_text="New conversation").click()
    ask(page, "How do I invite a guest to a project?")
    expect(widget.locator("li.message.assistant").last).to_have_attribute("data-status", "complete")
    shot(page, "widget-desktop")


#: (Markdown, the HTML the widget builds for it). The widget builds nodes, never parses
#: markup; serialising its fragment shows which nodes it made (text is escaped on output).
MARKDOWN_CASES = [
    ("plain <b>text</b>", "<p>plain &lt;b&gt;text&lt;/b&gt;</p>"),
    ("# Title\n\n## Sub", '<h3 class="md-heading">Title</h3><h4 class="md-heading">Sub</h4>'),
    ("one\ntwo\n\nthree", "<p>one<br>two</p><p>three</p>"),
    (
        "- a\n- **b**\n\n1. x\n2. y",
        "<ul><li>a</li><li><strong>b</strong></li></ul><ol><li>x</li><li>y</li></ol>",
    ),
    ("3. third\n4. fourth", '<ol start="3"><li>third</li><li>fourth</li></ol>'),
    ("```\n<script>x</script>\n```", "<pre><code>&lt;script&gt;x&lt;/script&gt;</code></pre>"),
    ("> quoted *it*", "<blockquote><p>quoted <em>it</em></p></blockquote>"),
    ("a `**not bold**` b", "<p>a <code>**not bold**</code> b</p>"),
    ("snake_case_name and a__b__c", "<p>snake_case_name and a__b__c</p>"),
    ("__init__ as in CommonMark", "<p><strong>init</strong> as in CommonMark</p>"),
    ("_it_ and __bold__", "<p><em>it</em> and <strong>bold</strong></p>"),
    ("[rel](/help/x)", '<p><a href="{origin}/help/x">rel</a></p>'),
    (
        "[ext](https://example.org/a?b=1)",
        '<p><a href="https://example.org/a?b=1" target="_blank" rel="noopener noreferrer">'
        "ext</a></p>",
    ),
    (
        "see https://example.org/x.",
        '<p>see <a href="https://example.org/x" target="_blank" rel="noopener noreferrer">https://example.org/x</a>.</p>',
    ),
    ("[js](javascript:alert(1))", "<p>[js](javascript:alert(1))</p>"),
    ("[js](JaVaScRiPt:alert)", "<p>[js](JaVaScRiPt:alert)</p>"),
    ("[data](data:text/html,hi)", "<p>[data](data:text/html,hi)</p>"),
    ("[vb](vbscript:x)", "<p>[vb](vbscript:x)</p>"),
    ("**[bold link](/a)**", '<p><strong><a href="{origin}/a">bold link</a></strong></p>'),
    ("**unclosed", "<p>**unclosed</p>"),
]

HREF_CASES = [
    ("javascript:alert(1)", None),
    (" javascript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    ("java\nscript:alert(1)", None),
    ("data:text/html,<b>x</b>", None),
    ("mailto:a@example.org", None),
    ("", None),
    ("https://example.org/", "https://example.org/"),
    ("//example.org/p", "http://example.org/p"),  # the page is served over http here
    ("/help/refunds", "{origin}/help/refunds"),
    ("refunds#x", "{origin}/help/refunds#x"),
]


def test_the_markdown_subset_and_the_link_check(page: Page, server: LiveServer) -> None:
    """The renderer's rules, case by case, in the browser that runs it."""
    sign_in(page, "bob@acme.example")
    page.goto("/help/refunds")
    page.wait_for_selector("supportai-chat[data-ready]")
    rendered = page.evaluate(
        """([markdowns, hrefs]) => {
            const Chat = customElements.get("supportai-chat");
            const html = (text) => {
                const box = document.createElement("div");
                box.append(Chat.markdown(text));
                return box.innerHTML;  // serialising what was built: read-only, for the test
            };
            return [markdowns.map(html), hrefs.map((h) => Chat.safeHref(h))];
        }""",
        [[m for m, _ in MARKDOWN_CASES], [h for h, _ in HREF_CASES]],
    )
    origin = server.url
    for (source, expected), got in zip(MARKDOWN_CASES, rendered[0], strict=True):
        assert got == expected.format(origin=origin), source
    for (href, expected), got in zip(HREF_CASES, rendered[1], strict=True):
        assert got == (expected.format(origin=origin) if expected else None), repr(href)
