"""The SSE reader of the openai backend: events out of reads split anywhere."""

from __future__ import annotations

import pytest
from supportai_llm_backends.sse import SSEReader

STREAM = (
    b": keep-alive comment\n"
    b'event: message\nid: 1\ndata: {"a": 1}\n\n'
    b"data:no-space\n\n"
    b"data: first line\ndata: second line\n\n"
    b"retry: 10\n\n"  # an event without data is no event
    b"data: caf\xc3\xa9\n\n"
    b"data: [DONE]\n\n"
)
EVENTS = ['{"a": 1}', "no-space", "first line\nsecond line", "café", "[DONE]"]


def read_all(reads: list[bytes]) -> list[str]:
    reader = SSEReader()
    events: list[str] = []
    for read in reads:
        events += reader.feed(read)
    return events + reader.finish()


def test_one_read_holds_every_event() -> None:
    assert read_all([STREAM]) == EVENTS


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_reads_split_anywhere_give_the_same_events(size: int) -> None:
    reads = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert read_all(reads) == EVENTS


@pytest.mark.parametrize("end", [b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 4, 1000])
def test_crlf_and_cr_line_ends(end: bytes, size: int) -> None:
    stream = STREAM.replace(b"\n", end)
    reads = [stream[i : i + size] for i in range(0, len(stream), size)]
    assert read_all(reads) == EVENTS


def test_events_come_out_with_the_read_that_completes_them() -> None:
    reader = SSEReader()
    assert reader.feed(b"data: one\n\ndata: tw") == ["one"]
    assert reader.feed(b"o\n") == []
    assert reader.feed(b"\n") == ["two"]


def test_an_event_without_its_closing_blank_line_ends_with_the_stream() -> None:
    reader = SSEReader()
    assert reader.feed(b"data: last\n") == []
    assert reader.finish() == ["last"]
    assert reader.finish() == []
