"""The streaming output-filter chain: redaction across deltas, blocking, linear work,
and an early first delta.

The persisted assistant text must be exactly what the user saw, and the chain may
neither re-scan the whole answer per delta (quadratic) nor hold the whole answer
back (no time-to-first-token). App-level tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import sqlalchemy as sa

from supportai.caller import Caller
from supportai.filters import (
    Block,
    FilterContext,
    FilterOutput,
    HoldbackStream,
    SentenceStream,
    Span,
)
from supportai.llm import Finish, TextDelta, Usage
from supportai.pipeline.filtering import FilterChain
from supportai.pipeline.prepare import prepare
from supportai.pipeline.turn import Turn
from supportai.store import tables
from supportai.store.database import row_dict
from supportai.testing import ScriptedBackend, as_user, backend_plugin, parse_sse, plugin

SSE = {"accept": "text/event-stream"}
CARD = re.compile(r"\b\d{4}-\d{4}-\d{4}-\d{4}\b")
SECRET = re.compile(r"SECRET-\d+")
CONTEXT = FilterContext(Caller("t1", "u1"), 1)


def find_cards(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "[card]", "card") for m in CARD.finditer(text)]


class CardFilter:
    """Redacts card numbers; holds back enough for a whole number split across deltas."""

    name = "cards"

    def open(self, context: FilterContext) -> HoldbackStream:
        return HoldbackStream(find_cards, holdback=24, step=16)


class _SecretStream:
    """Blocks the answer at the first ``SECRET-nnn``, releasing only the text before it."""

    def __init__(self) -> None:
        self._inner = HoldbackStream(self._find, holdback=24, step=16)

    @staticmethod
    def _find(text: str) -> list[Span]:
        return [Span(m.start(), m.end(), "\0", "secret") for m in SECRET.finditer(text)]

    @property
    def examined_chars(self) -> int:
        return self._inner.examined_chars

    def _judge(self, out: FilterOutput) -> FilterOutput:
        if "\0" in out.text:
            return FilterOutput(
                text=out.text.split("\0")[0], blocked=Block("a credential appeared in the answer")
            )
        return out

    async def push(self, text: str) -> FilterOutput:
        return self._judge(await self._inner.push(text))

    async def close(self) -> FilterOutput:
        return self._judge(await self._inner.close())


class SecretBlocker:
    name = "no_secrets"

    def open(self, context: FilterContext) -> _SecretStream:
        return _SecretStream()


def filters_plugin(*filters: Any) -> object:
    def supportai_register_output_filters(register: Any) -> None:
        for f in filters:
            register(f.name, lambda context, f=f: f)

    return plugin(supportai_register_output_filters=supportai_register_output_filters)


async def conversation(client: Any) -> int:
    r = await client.post("/conversations", json={"title": "Filters"}, headers=as_user())
    assert r.status_code == 200, r.text
    return int(r.json()["conversation_id"])


async def assistant_rows(app: Any) -> list[dict[str, Any]]:
    M = tables.messages
    async with app.state.supportai.database.connection() as conn:
        query = sa.select(M).where(M.c.role == "assistant").order_by(M.c.id)
        return [row_dict(r) for r in await conn.fetch_all(query)]


def deltas(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [data["text"] for name, data in events if name == "delta"]


# -- through the app --------------------------------------------------------------------------


async def test_redaction_of_a_value_split_across_two_deltas(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend(
        [
            [
                TextDelta("Thanks! The card on file is 4111-1111-"),
                TextDelta("1111-1234 and it expires soon. "),
                TextDelta("Anything else I can help you with today? " * 3),
                Usage(20, 30),
                Finish("stop"),
            ]
        ]
    )
    app = supportai_app(
        plugins=[backend_plugin(backend), filters_plugin(CardFilter())],
        llm_backend="scripted",
        output_filters=["cards"],
    )
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "my card?"}, headers={**as_user(), **SSE}
    )
    events = parse_sse(r.text)
    seen = "".join(deltas(events))
    assert "4111" not in r.text and "1234" not in r.text
    assert seen == (
        "Thanks! The card on file is [card] and it expires soon. "
        + "Anything else I can help you with today? " * 3
    )
    assert len(deltas(events)) >= 2  # released as it streamed, not in one piece at the end
    assert events[-1][1]["status"] == "complete"
    (row,) = await assistant_rows(app)
    assert row["content"] == seen  # persisted == what the user saw

    body = (
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "again"}, headers=as_user()
        )
    ).json()
    assert body["content"] == seen


async def test_block_stops_the_answer_with_a_refusal_event(
    supportai_app: Any, supportai_client: Any
) -> None:
    after_block = asyncio.Event()

    async def mark() -> None:
        after_block.set()

    backend = ScriptedBackend(
        [
            [
                TextDelta("Here are the connection details you asked for. "),
                TextDelta("Use the key SECRET-"),
                TextDelta("93841 when you log in. More text follows here, "),
                TextDelta("and it goes on for a while so the holdback releases it."),
                mark,
                Usage(20, 30),
                Finish("stop"),
            ]
        ]
    )
    app = supportai_app(
        plugins=[backend_plugin(backend), filters_plugin(CardFilter(), SecretBlocker())],
        llm_backend="scripted",
        output_filters=["cards", "no_secrets"],
    )
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "key?"}, headers={**as_user(), **SSE}
    )
    assert "SECRET" not in r.text and "93841" not in r.text
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert names[-2:] == ["refusal", "turn.completed"]
    refusal = events[-2][1]
    assert refusal == {
        "stage": "output_filter",
        "reason": "output_blocked",
        "filter": "no_secrets",
        "detail": "a credential appeared in the answer",
    }
    seen = "".join(deltas(events))
    assert seen == (
        "Here are the connection details you asked for. Use the key " + Block("x").message
    )
    done = events[-1][1]
    assert done["status"] == "blocked" and done["finish_reason"] == "output_blocked"
    (row,) = await assistant_rows(app)
    assert (row["status"], row["content"]) == ("blocked", seen)
    # The backend stream was abandoned at the block: nothing after it was pulled.
    assert not after_block.is_set()
    q = (await client.get("/quota", headers=as_user())).json()
    assert q["user_cost_micros"]["reserved"] == 0

    body = (
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "key?"}, headers=as_user()
        )
    ).json()
    assert body["status"] == "blocked" and body["content"] == seen


# -- the chain itself -------------------------------------------------------------------------


def long_answer(length: int) -> str:
    words = ["support", "billing", "export", "the", "a", "settings", "account", "invoice."]
    out: list[str] = []
    total = 0
    i = 0
    while total < length:
        word = words[(i * 7 + i // 3) % len(words)]
        out.append(word)
        total += len(word) + 1
        i += 1
    return " ".join(out)[:length]


def pieces(text: str) -> list[str]:
    """Small deltas of varying size (1 to 9 characters), deterministic."""
    out, i, n = [], 0, 0
    while i < len(text):
        size = 1 + (n * 5) % 9
        out.append(text[i : i + size])
        i += size
        n += 1
    return out


async def test_chain_work_is_linear_in_the_answer_length() -> None:
    text = long_answer(100_000) + " card 4111-1111-1111-1234 at the end."
    chain = FilterChain([CardFilter()], CONTEXT)
    released = [await chain.push(p) for p in pieces(text)]
    released.append(await chain.close())
    assert "".join(released) == text.replace("4111-1111-1111-1234", "[card]")
    assert chain.examined_chars <= 4 * len(text), chain.examined_chars / len(text)
    # Released incrementally: most pushes already let text through.
    assert sum(1 for r in released if r) > len(text) / 40


async def test_two_filter_chain_stays_linear_and_feeds_filters_in_order() -> None:
    checked: list[str] = []

    async def check(sentence: str) -> str | Block:
        checked.append(sentence)
        return sentence.replace("[card]", "[redacted card]")

    class Sentences:
        name = "sentences"

        def open(self, context: FilterContext) -> SentenceStream:
            return SentenceStream(check)

    text = long_answer(50_000) + " pay with 4111-1111-1111-1234 now. Thanks."
    chain = FilterChain([CardFilter(), Sentences()], CONTEXT)
    out = "".join([await chain.push(p) for p in pieces(text)] + [await chain.close()])
    # The sentence filter saw the card filter's output, not the raw text.
    assert "4111" not in "".join(checked)
    assert out.endswith("pay with [redacted card] now. Thanks.")
    assert chain.examined_chars <= 5 * len(text)
    assert chain.redactions.count("card") == 1


async def test_the_chain_passes_text_through_when_it_has_no_filters() -> None:
    chain = FilterChain([], CONTEXT)
    assert await chain.push("abc") == "abc"
    assert await chain.close() == ""
    assert chain.examined_chars == 0


async def test_first_delta_leaves_before_the_backend_finishes(
    supportai_app: Any, supportai_client: Any
) -> None:
    """Turn-level: a delta event reaches the consumer while the backend is still paused."""
    gate = asyncio.Event()
    head = long_answer(400)
    tail = long_answer(100_000)
    backend = ScriptedBackend(
        [
            [
                *(TextDelta(p) for p in pieces(head)),
                gate.wait,
                *(TextDelta(p) for p in pieces(tail)),
                Usage(10, 30_000),
                Finish("stop"),
            ]
        ]
    )
    app = supportai_app(
        plugins=[backend_plugin(backend), filters_plugin(CardFilter())],
        llm_backend="scripted",
        output_filters=["cards"],
        # room for the whole 100k-character answer: the turn stops at its output
        # bound (finish reason "budget") otherwise, which is not what this test is about
        max_output_tokens=len(head) + len(tail),
    )
    client = supportai_client(app)
    cid = await conversation(client)
    runtime = app.state.supportai
    caller = Caller("t1", "u1")
    prepared = await prepare(runtime, caller, cid, "tell me everything", None)
    turn = Turn(runtime, caller, prepared, "tell me everything")
    received: list[str] = []
    delta_before_gate = False
    async for event in turn.events():
        assert event is not None
        if event.event == "delta":
            if not gate.is_set():
                delta_before_gate = True
                gate.set()
            received.append(event.data["text"])
    await turn.wait()
    assert delta_before_gate
    answer = head + tail
    assert "".join(received) == turn.text == answer
    assert turn.filter_chain is not None
    assert turn.filter_chain.examined_chars <= 4 * len(answer)
    (row,) = await assistant_rows(app)
    assert row["content"] == answer and row["status"] == "complete"
