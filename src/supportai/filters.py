"""The output-filter protocol (Layer D) and two building blocks for streaming filters.

A filter sees the answer as it streams and may pass it, redact spans or block
the rest. Two rules keep filtering cheap and the first token early:

* never re-scan the whole accumulated text per delta (that is quadratic);
* never buffer the whole answer (that kills time-to-first-token).

So each filter keeps a bounded tail (*holdback*) of text that a match could
still extend, and releases everything before it. :class:`HoldbackStream` does
this for pattern filters (PII, secrets); :class:`SentenceStream` for filters
that judge whole sentences (guardrails-ai validators). Both count the
characters they examine, which the linearity test and the benchmark read.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from supportai.caller import Caller


@dataclass(frozen=True, slots=True)
class FilterContext:
    """What a filter knows about the turn it filters.

    ``grounding`` holds the texts of the documents retrieved for this turn
    (``supportai_retrieve_context``): what the answer is grounded on. A value
    that appears verbatim there (the help center's public support address) is
    published by the host, not personal data the answer leaks, so redacting
    filters may leave it alone.
    """

    caller: Caller
    conversation_id: int
    system_prompt: str = ""
    grounding: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    """Stop the answer: ``message`` replaces what would have followed."""

    reason: str
    message: str = "I can't share that. Please ask for a human if you need more help."


@dataclass(slots=True)
class FilterOutput:
    """Text that is final now, plus what happened to it."""

    text: str = ""
    blocked: Block | None = None
    redactions: list[str] = field(default_factory=list)


@runtime_checkable
class FilterStream(Protocol):
    """Per-turn state of one filter. Never shared between turns."""

    examined_chars: int

    async def push(self, text: str) -> FilterOutput: ...

    async def close(self) -> FilterOutput: ...


@runtime_checkable
class OutputFilter(Protocol):
    name: str

    def open(self, context: FilterContext) -> FilterStream: ...


@dataclass(frozen=True, slots=True)
class Span:
    """A sensitive span ``text[start:end]`` to be replaced by ``replacement``."""

    start: int
    end: int
    replacement: str
    kind: str


SpanFinder = Callable[[str], list[Span]]
"""Return the non-overlapping sensitive spans of a text, in order."""


def apply_spans(text: str, spans: list[Span]) -> str:
    """Replace each span of ``text`` (spans sorted, non-overlapping)."""
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for span in spans:
        parts.append(text[position : span.start])
        parts.append(span.replacement)
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


class HoldbackStream:
    """Streams text through a pattern finder, holding back at most ``holdback`` chars.

    The buffer is scanned only once it is longer than ``holdback + step``; then
    everything but the last ``holdback`` characters is released, cut at a
    whitespace and never inside a span the finder reported. Each character is
    thus examined about ``(holdback + step) / step`` times at most (linear work),
    and a value split across deltas (a card number in two pieces) is still seen
    whole as long as it is no longer than ``holdback``.
    """

    def __init__(self, find: SpanFinder, holdback: int = 64, step: int = 32) -> None:
        self._find = find
        self._holdback = holdback
        self._step = step
        self._buffer = ""
        self._scanned_at = 0
        self.examined_chars = 0

    async def push(self, text: str) -> FilterOutput:
        return self.feed(text)

    def feed(self, text: str) -> FilterOutput:
        """:meth:`push` without a coroutine: nothing here waits, and a turn pushes every
        delta (the filter chain calls this directly for a plain ``HoldbackStream``)."""
        self._buffer += text
        # Scan only when ``step`` new characters arrived since the last scan: a span
        # straddling the cut must not make every later push rescan the whole buffer.
        if len(self._buffer) <= max(self._holdback, self._scanned_at) + self._step:
            return _HELD
        buffer = self._buffer
        self._scanned_at = len(buffer)
        self.examined_chars += len(buffer)
        spans = self._find(buffer)
        cut = _safe_cut(buffer, len(buffer) - self._holdback)
        if cut == 0 and len(buffer) > 4 * self._holdback:
            cut = len(buffer) - self._holdback  # a long run without whitespace
        for span in spans:
            if span.start < cut < span.end:
                cut = span.start
                break
        if cut <= 0:
            return FilterOutput()
        released = [s for s in spans if s.end <= cut]
        self._buffer = buffer[cut:]
        self._scanned_at = 0
        return FilterOutput(
            text=apply_spans(buffer[:cut], released), redactions=_redacted(buffer, released)
        )

    async def close(self) -> FilterOutput:
        buffer, self._buffer = self._buffer, ""
        self.examined_chars += len(buffer)
        spans = self._find(buffer)
        return FilterOutput(text=apply_spans(buffer, spans), redactions=_redacted(buffer, spans))


def _redacted(text: str, spans: list[Span]) -> list[str]:
    """The kinds of the spans that change the text.

    A span replaced by its own text is not a redaction: a finder reports one to
    keep a value whole (the stream never cuts inside a span) while letting it
    through, such as a public address quoted from the help center.
    """
    return [s.kind for s in spans if s.replacement != text[s.start : s.end]]


#: What a push that releases nothing returns: one shared object, never modified
#: (the filter chain only reads outputs), instead of a new one for most deltas.
_HELD = FilterOutput()


def _safe_cut(text: str, at_most: int) -> int:
    """Just after the last whitespace at or before ``at_most`` (0 if there is none)."""
    if at_most <= 0:
        return 0
    index = max(text.rfind(" ", 0, at_most), text.rfind("\n", 0, at_most))
    return index + 1 if index >= 0 else 0


_SENTENCE_END = re.compile(r"[.!?\n][\"')\]]*\s+")


class SentenceStream:
    """Streams text through an async per-sentence check (e.g. a guardrails-ai Guard).

    ``check`` returns the (possibly rewritten) sentence, or a :class:`Block`.
    Sentences longer than ``max_chars`` are cut at the last whitespace so a run
    without punctuation cannot hold the whole answer back.
    """

    def __init__(
        self,
        check: Callable[[str], Awaitable[str | Block]],
        max_chars: int = 400,
    ) -> None:
        self._check = check
        self._max_chars = max_chars
        self._buffer = ""
        self._scanned = 0
        self.examined_chars = 0

    async def push(self, text: str) -> FilterOutput:
        self._buffer += text
        out = FilterOutput()
        while True:
            end = self._next_boundary()
            if end is None:
                return out
            sentence, self._buffer = self._buffer[:end], self._buffer[end:]
            self._scanned = 0
            step = await self._run(sentence)
            out.text += step.text
            out.redactions += step.redactions
            if step.blocked:
                out.blocked = step.blocked
                return out

    async def close(self) -> FilterOutput:
        rest, self._buffer = self._buffer, ""
        return await self._run(rest) if rest else FilterOutput()

    def _next_boundary(self) -> int | None:
        # Resume the search where the previous one stopped, so that each character
        # is looked at once while it waits for its sentence to end.
        start = max(self._scanned - 4, 0)
        match = _SENTENCE_END.search(self._buffer, start)
        self._scanned = len(self._buffer)
        if match:
            return match.end()
        if len(self._buffer) >= self._max_chars:
            cut = _safe_cut(self._buffer, self._max_chars)
            return cut or self._max_chars
        return None

    async def _run(self, sentence: str) -> FilterOutput:
        self.examined_chars += len(sentence)
        verdict = await self._check(sentence)
        if isinstance(verdict, Block):
            return FilterOutput(blocked=verdict)
        changed = [] if verdict == sentence else ["rewritten"]
        return FilterOutput(text=verdict, redactions=changed)
