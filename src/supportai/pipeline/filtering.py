"""The streaming output-filter chain: each filter's released text feeds the next.

A chain is opened per turn (filters keep per-turn state). The text the chain
releases is exactly what the client sees and what is persisted.
"""

from __future__ import annotations

from collections.abc import Sequence

from supportai.filters import (
    Block,
    FilterContext,
    FilterOutput,
    FilterStream,
    HoldbackStream,
    OutputFilter,
)


class FilterChain:
    def __init__(self, filters: Sequence[OutputFilter], context: FilterContext) -> None:
        self.names = [f.name for f in filters]
        self._streams: list[FilterStream] = [f.open(context) for f in filters]
        # Per stream, its synchronous ``feed`` when it is core's own HoldbackStream (not
        # a subclass, which may override ``push``): one coroutine less per delta.
        self._feeds = [
            stream.feed if type(stream) is HoldbackStream else None for stream in self._streams
        ]
        self.blocked: Block | None = None
        self.blocked_by: str | None = None
        self.redactions: list[str] = []

    @property
    def examined_chars(self) -> int:
        return sum(s.examined_chars for s in self._streams)

    async def push(self, text: str) -> str:
        """Feed a delta; return the text that is final now ('' while held back).

        The same as ``_run(text, 0, final=False)``, one coroutine less per delta.
        """
        if self.blocked or not text:
            return ""
        for index, feed in enumerate(self._feeds):
            out = feed(text) if feed is not None else await self._streams[index].push(text)
            if out.redactions:
                self.redactions.extend(out.redactions)
            if out.blocked is not None:
                return await self._block(out, index)
            text = out.text
            if not text:  # held back: the filters after it have nothing to see yet
                return ""
        return text

    async def close(self) -> str:
        """Flush every filter, in order, through the filters after it."""
        if self.blocked:
            return ""
        return await self._run("", 0, final=True)

    async def _run(self, text: str, start: int, *, final: bool) -> str:
        for index in range(start, len(self._streams)):
            stream = self._streams[index]
            out = await stream.push(text) if text else FilterOutput()
            if final and out.blocked is None:
                closed = await stream.close()
                out = FilterOutput(
                    text=out.text + closed.text,
                    blocked=closed.blocked,
                    redactions=out.redactions + closed.redactions,
                )
            self.redactions.extend(out.redactions)
            if out.blocked is not None:
                return await self._block(out, index)
            text = out.text
        return text

    async def _block(self, out: FilterOutput, index: int) -> str:
        """Filter ``index`` blocked: remember it; the text before the block still
        passes the later filters."""
        assert out.blocked is not None
        self.blocked = out.blocked
        self.blocked_by = self.names[index]
        return await self._run(out.text, index + 1, final=True)
