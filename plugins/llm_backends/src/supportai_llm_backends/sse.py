"""Server-sent events from a byte stream: the ``data`` of each event, nothing else.

The ``openai`` backend reads the chat-completions stream itself instead of through
the SDK's stream object, which builds a pydantic object for every chunk (about
ten times the cost of the ``json.loads`` the data needs). This is the part of
the SSE format a chat-completions stream uses: ``data:`` lines, joined with
newlines when an event has several, an empty line ending the event; comments
(``:``) and the other fields (``event``, ``id``, ``retry``) are skipped, and
``\\r\\n``, ``\\r`` and ``\\n`` all end a line. Decoding happens per complete
line, so a UTF-8 character split between two reads is never cut.
"""

from __future__ import annotations


class SSEReader:
    """Feed it the reads of one response; it returns the events each read completed."""

    __slots__ = ("_data", "_rest")

    def __init__(self) -> None:
        self._rest = b""  # an unfinished line from the previous read
        self._data: list[bytes] = []  # the data lines of the event in progress

    def feed(self, chunk: bytes) -> list[str]:
        """The ``data`` of every event that ``chunk`` finished, in order."""
        buffer = self._rest + chunk if self._rest else chunk
        if b"\r" in buffer:
            # A "\r" at the very end may be the first half of "\r\n": keep it for later.
            held = buffer.endswith(b"\r")
            if held:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = buffer.split(b"\n")
            if held:
                lines[-1] += b"\r"
        else:
            lines = buffer.split(b"\n")
        self._rest = lines.pop()
        return self._events(lines)

    def finish(self) -> list[str]:
        """At the end of the stream: an event whose closing empty line never came."""
        rest, self._rest = self._rest.rstrip(b"\r"), b""
        return self._events([rest, b""])

    def _events(self, lines: list[bytes]) -> list[str]:
        events: list[str] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(b"\n".join(data).decode("utf-8", "replace"))
                    data.clear()
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            # comments (":...") and the fields event, id and retry carry nothing we use
        return events
