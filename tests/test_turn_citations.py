"""Citations arrive between paragraphs, and a replayed turn sends its events in the same order.

A backend may cite in the middle of a sentence, and output filters hold text back; the
client must still never see a ``citation`` event inside a paragraph (between
``**Settings → Billing → `` and ``Invoices**``). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from turn_support import conversation

from supportai.filters import FilterContext, HoldbackStream
from supportai.llm import Citation, Finish, TextDelta, Usage
from supportai.pipeline.citations import ParagraphCounter
from supportai.testing import ScriptedBackend, as_user, backend_plugin, parse_sse, plugin

SSE = {"accept": "text/event-stream"}
BILLING = Citation("invoices", "Finding invoices", "https://help.example/invoices")
PLANS = Citation("plans", "Plans and pricing", None)


class HoldingFilter:
    """A pattern filter that finds nothing but holds back a tail, like the pii filter."""

    name = "holding"

    def open(self, context: FilterContext) -> HoldbackStream:
        return HoldbackStream(lambda text: [], holdback=24, step=8)


def holding_plugin() -> object:
    def supportai_register_output_filters(register: Any) -> None:
        register("holding", lambda context: HoldingFilter())

    return plugin(supportai_register_output_filters=supportai_register_output_filters)


def script() -> list[Any]:
    return [
        TextDelta("Open **Settings → Billing → "),
        BILLING,  # cited mid-Markdown, as a model citing "[1]" would
        TextDelta("Invoices** and click **Download PDF**.\n\n"),
        TextDelta("**Business — $16 per seat per month**\n\n"),
        PLANS,  # cited right after its paragraph
        TextDelta("Every plan includes unlimited projects."),
        Usage(10, 20),
        Finish("stop"),
    ]


async def test_citations_wait_for_a_paragraph_boundary_through_a_holding_filter(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([script(), script()])
    app = supportai_app(
        plugins=[backend_plugin(backend), holding_plugin()],
        llm_backend="scripted",
        output_filters=["holding"],
    )
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "invoices?", "idempotency_key": "k-cite"},
        headers={**as_user(), **SSE},
    )
    events = parse_sse(r.text)
    text = ""
    cited_after: list[str] = []
    for name, data in events:
        if name == "delta":
            text += data["text"]
        elif name == "citation":
            cited_after.append(text)
    assert text.endswith("unlimited projects.")
    first_paragraph = "Open **Settings → Billing → Invoices** and click **Download PDF**.\n\n"
    # Billing was cited mid-Markdown: it waits for the end of that paragraph.
    assert cited_after[0] == first_paragraph
    # Plans was cited after its paragraph: it comes right there, not at the end.
    assert cited_after[1] == first_paragraph + "**Business — $16 per seat per month**\n\n"

    # The replay (same idempotency key) sends the same events in the same order.
    again = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "invoices?", "idempotency_key": "k-cite"},
        headers={**as_user(), **SSE},
    )
    replayed = parse_sse(again.text)

    def shape(stream: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
        merged: list[tuple[str, Any]] = []
        for name, data in stream:
            if name == "delta" and merged and merged[-1][0] == "delta":
                merged[-1] = ("delta", merged[-1][1] + data["text"])
            elif name == "delta":
                merged.append(("delta", data["text"]))
            elif name == "citation":
                merged.append(("citation", data))
            else:
                merged.append((name, None))
        return merged

    assert shape(replayed) == shape(events)
    assert len(backend.requests) == 1


async def test_a_citation_before_any_text_is_sent_at_once(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([[PLANS, TextDelta("Plans differ by seats."), Finish("stop")]])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "plans?"}, headers={**as_user(), **SSE}
    )
    names = [name for name, _ in parse_sse(r.text)]
    assert names == ["turn.started", "citation", "delta", "turn.completed"]


def test_paragraph_counter_sees_a_blank_line_split_across_pieces() -> None:
    counter = ParagraphCounter()
    assert counter.feed("First paragraph.\n") == []
    assert counter.feed("\n") == []
    assert counter.feed("Second") == [0]
    assert counter.feed(" one.\n\n\nThird.") == [8]
    assert counter.count == 2
    assert counter.feed("\n \n") == [] and counter.feed("  Fourth") == [2]
    assert counter.count == 3
