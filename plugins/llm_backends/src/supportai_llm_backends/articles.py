"""Help articles as Markdown files: one file, one article.

The format is deliberately plain so support teams can write articles in any
editor: the first ``# `` heading is the title, the file stem is the stable
``source_id`` (it ends up in citations and URLs), and blank lines separate the
paragraphs an answer may quote. A leading ``---`` front-matter block is skipped
rather than quoted, so articles exported from a static-site generator work too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True, slots=True)
class Passage:
    """A paragraph, list or code block of an article, with the section heading above it."""

    text: str
    section: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """One help article, split into quotable passages."""

    source_id: str
    title: str
    passages: tuple[Passage, ...]

    @property
    def body(self) -> str:
        return "\n\n".join(passage.text for passage in self.passages)


def _strip_front_matter(lines: list[str]) -> list[str]:
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                return lines[end + 1 :]
    return lines


def parse_article(source_id: str, markdown: str) -> Article:
    """Split Markdown into a title and passages.

    Sub-headings are not passages themselves (a heading alone answers nothing);
    they are remembered as the ``section`` of the passages below them so that
    their words still help rank those passages. Blank lines inside a fenced code
    block do not split it.
    """
    lines = _strip_front_matter(markdown.replace("\r\n", "\n").split("\n"))
    title: str | None = None
    section: str | None = None
    passages: list[Passage] = []
    block: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(block).strip()
        if text:
            passages.append(Passage(text=text, section=section))
        block.clear()

    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            block.append(line)
            continue
        if in_fence:
            block.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            text = heading.group(2).strip()
            if heading.group(1) == "#" and title is None:
                title = text
            else:
                section = text
            continue
        if not line.strip():
            flush()
            continue
        block.append(line.rstrip())
    flush()
    if title is None:
        title = source_id.replace("-", " ").replace("_", " ").strip().capitalize() or source_id
    return Article(source_id=source_id, title=title, passages=tuple(passages))


def load_articles(folder: Path) -> list[Article]:
    """Every ``*.md`` file of ``folder`` (not recursive), sorted by file name.

    Sorting makes the index, and so tie-breaking between equal scores,
    reproducible across machines and file systems.
    """
    return [
        parse_article(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.md"))
        if path.is_file()
    ]
