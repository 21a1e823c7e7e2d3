"""Citations land between paragraphs, never inside the Markdown of a sentence.

A backend may yield a :class:`~supportai.llm.Citation` at any point of its
stream (an OpenAI-compatible model cites ``[2]`` mid-sentence), and the output
filters hold text back, so relaying a citation the moment it arrives can put it
between ``**Settings → Billing → `` and ``Invoices**``. Instead, a citation waits
for the first paragraph boundary (a blank line) at or after the point where the
backend cited it, counted in the text the client actually receives, or for the
end of the answer. Filters never add or remove blank lines, so the paragraph the
backend cited after is the paragraph the client sees it after.
"""

from __future__ import annotations

import re

#: A blank line, then the first visible character of the next paragraph.
_BOUNDARY = re.compile(r"\n[ \t]*\n\s*(?=\S)")
#: Whitespace kept between feeds: enough to see a blank line split across deltas.
_CARRY = 16


class ParagraphCounter:
    """Counts paragraph boundaries in a text that arrives in pieces."""

    def __init__(self) -> None:
        self.count = 0
        self.seen_text = False
        self._carry = ""

    def feed(self, text: str) -> list[int]:
        """Offsets in ``text`` where a new paragraph starts (after a blank line)."""
        if not text:
            return []
        if "\n" not in text and "\n" not in self._carry:
            # No blank line can end here (most deltas): skip the scan, keep the
            # trailing whitespace as the scan below would.
            kept = len(text.rstrip())
            if kept:
                self.seen_text = True
                self._carry = text[kept:][-_CARRY:]
            else:
                self._carry = (self._carry + text)[-_CARRY:]
            return []
        data = self._carry + text
        shift = len(self._carry)
        positions = [match.end() - shift for match in _BOUNDARY.finditer(data)]
        end = len(data.rstrip())
        self._carry = data[end:][-_CARRY:] if end < len(data) else ""
        if end:
            self.seen_text = True
        self.count += len(positions)
        return positions
