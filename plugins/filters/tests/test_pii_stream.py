"""The ``pii`` filter while streaming: values split across deltas, linear work, early release."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from supportai_filters.pii import MAX_MATCH_CHARS, redact
from supportai_filters.pii_filter import PiiFilter
from supportai_filters.settings import PiiSettings

from supportai.caller import Caller
from supportai.filters import FilterContext, FilterStream

CONTEXT = FilterContext(caller=Caller("tenant-a", "user-1"), conversation_id=1)
FILLER = "Thanks for reaching out, here is what I found in your account history. "


async def run(stream: FilterStream, chunks: Sequence[str]) -> tuple[str, list[str]]:
    out: list[str] = []
    kinds: list[str] = []
    for chunk in chunks:
        step = await stream.push(chunk)
        assert step.blocked is None
        out.append(step.text)
        kinds += step.redactions
    last = await stream.close()
    out.append(last.text)
    kinds += last.redactions
    return "".join(out), kinds


def open_stream(**settings: object) -> FilterStream:
    return PiiFilter(PiiSettings(**settings)).open(CONTEXT)  # type: ignore[arg-type]


async def test_card_number_streamed_in_two_pieces_is_redacted() -> None:
    head = FILLER * 3 + "Your card 4111 1111"
    tail = " 1111 1111 is on file. " + FILLER * 3
    out, kinds = await run(open_stream(), [head, tail])
    assert "[redacted card number]" in out
    assert "4111" not in out and "1111" not in out
    assert kinds == ["card"]
    assert out == redact(head + tail)


async def test_email_split_mid_address_is_redacted() -> None:
    out, kinds = await run(open_stream(), [FILLER + "write to john.do", "e@exam", "ple.com today"])
    assert out == FILLER + "write to [redacted email] today"
    assert kinds == ["email"]


SAMPLE = (
    "Hi Ann, card 4111 1111 1111 1111 is declined; mail billing@example.com or call "
    "+44 20 7946 0958. Your IBAN DE89 3704 0044 0532 0130 00 and key sk-proj-abcdefghij"
    "klmnop1234 were noted, server 192.168.1.10 too."
)
EXPECTED = redact(SAMPLE)


def test_the_sample_is_what_the_split_tests_think_it_is() -> None:
    assert EXPECTED.count("[redacted") == 6
    assert len(SAMPLE) > MAX_MATCH_CHARS + 32  # long enough to release mid-stream


@pytest.mark.parametrize("cut", range(1, len(SAMPLE)))
async def test_every_split_point_of_the_sample(cut: int) -> None:
    out, _ = await run(open_stream(), [SAMPLE[:cut], SAMPLE[cut:]])
    assert out == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16, 33])
async def test_fixed_size_deltas_of_the_sample(size: int) -> None:
    chunks = [SAMPLE[i : i + size] for i in range(0, len(SAMPLE), size)]
    out, _ = await run(open_stream(), chunks)
    assert out == EXPECTED


VALUES = [
    "4111 1111 1111 1111",
    "5555-5555-5555-4444",
    "jane.roe@example.org",
    "+1 (555) 123-4567",
    "+1-555-201-7788x42",
    "020 7946 0958 ext. 7",
    "61 402 337",
    "(44) 219-508",
    "318 27 904",
    "020 7946 0958",
    "GB82 WEST 1234 5698 7654 32",
    "123-45-6789",
    "AB 12 34 56 C",
    "2001:db8::8a2e:370:7334",
    "10.20.30.40",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
]
WORDS = ["the", "order", "12345", "2024", "price", "$19.99", "v1.2.3", "hello,", "world.", "Ok!"]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    tokens=st.lists(st.sampled_from(VALUES + WORDS * 3), min_size=1, max_size=60),
    separators=st.lists(st.sampled_from([" ", " ", " ", "\n", ", "]), min_size=60, max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=40),
)
async def test_any_chunking_gives_the_one_shot_redaction(
    tokens: list[str], separators: list[str], cuts: list[int]
) -> None:
    text = "".join(t + s for t, s in zip(tokens, separators, strict=False))
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    chunks = [text[a:b] for a, b in itertools.pairwise(points)]
    out, _ = await run(open_stream(), chunks)
    assert out == redact(text)
    for value in VALUES:
        assert value not in out


async def test_long_token_streamed_in_small_deltas_is_redacted_whole() -> None:
    token = "eyJ" + "a1B2c3D4" * 60 + ".eyJ" + "x9Y8z7" * 40 + ".sig_" + "Q" * 200
    text = FILLER + f"Authorization token {token} ends here. " + FILLER
    out, _ = await run(open_stream(), [text[i : i + 3] for i in range(0, len(text), 3)])
    assert "a1B2c3D4" not in out and "x9Y8z7" not in out and "QQQQ" not in out
    assert out == redact(text)


async def test_text_is_released_while_streaming_not_at_the_end() -> None:
    stream = open_stream()
    pushed = released = 0
    for _ in range(200):
        step = await stream.push(FILLER)
        pushed += len(FILLER)
        released += len(step.text)
        # Held back: the holdback, one step, and the rest of a word.
        assert pushed - released <= MAX_MATCH_CHARS + 32 + 16
    assert released > 0


async def test_examined_chars_grow_linearly_for_a_100k_answer() -> None:
    body = (
        FILLER
        + "Card 4111 1111 1111 1111 and mail ann@example.com, call 555-123-4567. "
        + "Order 12345 of 2024 cost $19.99. "
    )
    text = (body * (100_000 // len(body) + 1))[:100_000]
    stream = open_stream()
    started = time.perf_counter()
    out, _ = await run(stream, [text[i : i + 4] for i in range(0, len(text), 4)])
    elapsed = time.perf_counter() - started
    assert stream.examined_chars <= 6 * len(text), stream.examined_chars / len(text)
    assert "4111" not in out
    assert elapsed < 5.0  # about 0.3 s here; quadratic work would take minutes


async def test_a_pathological_token_run_stays_bounded() -> None:
    # An endless JWT-looking run: the finder's upper bounds keep the re-scans finite.
    text = "eyJ" + "A" * 100_000
    stream = open_stream()
    started = time.perf_counter()
    out, _ = await run(stream, [text[i : i + 64] for i in range(0, len(text), 64)])
    elapsed = time.perf_counter() - started
    assert out.startswith("[redacted secret]")
    assert stream.examined_chars <= 200 * len(text), stream.examined_chars / len(text)
    assert elapsed < 10.0


async def test_kinds_setting_limits_what_the_filter_redacts() -> None:
    text = FILLER + "mail ann@example.com from 8.8.8.8 " + FILLER
    out, kinds = await run(open_stream(kinds=["email"]), [text])
    assert "[redacted email]" in out and "8.8.8.8" in out
    assert kinds == ["email"]


async def test_streams_are_independent() -> None:
    pii = PiiFilter()
    first, second = pii.open(CONTEXT), pii.open(CONTEXT)
    await first.push("card 4111 1111")
    await second.push("nothing to see ")
    out_second = (await second.close()).text
    out_first = (await first.close()).text
    assert out_second == "nothing to see "
    assert out_first == "card 4111 1111"  # an incomplete card is not a card


BENIGN_DIR = Path(__file__).parent / "data"


def _benign_texts() -> list[str]:
    texts: list[str] = []
    for name in ("benign_handwritten.jsonl", "benign_unseen.jsonl"):
        for line in (BENIGN_DIR / name).read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["text"])
    return texts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6),
    size=st.integers(min_value=1, max_value=8),
    offset=st.integers(min_value=0, max_value=40),
)
async def test_benign_numbers_stream_out_unchanged_however_they_are_cut(
    picks: list[int], size: int, offset: int
) -> None:
    # Words that decide a number is not personal data ("Order", "meeting ID is",
    # "rows") must never be released in one piece and the number judged alone in
    # the next: in any chunking the benign text comes out exactly as it went in.
    texts = _benign_texts()
    text = FILLER[:offset] + " " + " ".join(texts[p % len(texts)] for p in picks) + " " + FILLER
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    out, kinds = await run(open_stream(), chunks)
    assert out == text and kinds == []
