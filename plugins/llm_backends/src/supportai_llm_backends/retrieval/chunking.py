"""Heading-aware chunks of Markdown help articles.

A chunk is one section of an article: the blocks (paragraphs, lists, code, tables) under
one heading, with the article title and the path of headings above it. Facts
often live in headings ("Business — $16 per seat per month"), so the heading
path is part of what is searched *and* of what an answer quotes.

Three rules keep an answer readable when it is cut from a chunk:

* a list is one block, never split, and a paragraph that leads into it (ends
  with ``:``) is joined to it, so a quote never ends on "Here is how:";
* a fenced code block is one block, blank lines included;
* a table (lines that all start with ``|``) is one block of its own kind, so that
  an answer keeps it whole like a list (``answer.relevant_blocks``).

A long section is split into several chunks at block boundaries (each keeps the
heading path), so one huge section does not drown its own best paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")

#: A section longer than this (characters) is split into several chunks.
MAX_CHUNK_CHARS = 1200


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph, a list (with its lead-in sentence), a code block or a table, as Markdown."""

    text: str
    kind: str  # "paragraph" | "list" | "code" | "table"


@dataclass(frozen=True, slots=True)
class Chunk:
    """One retrievable unit: a section (or part of a long one) of an article."""

    article_id: str
    article_title: str
    headings: tuple[str, ...]
    blocks: tuple[Block, ...]
    #: Position of the chunk in its article (reading order).
    position: int
    url: str | None = None
    #: The article's tags: words its readers use for its subject (searched, never quoted).
    article_tags: tuple[str, ...] = ()

    @property
    def chunk_id(self) -> str:
        return f"{self.article_id}#{self.position}"

    @property
    def heading(self) -> str | None:
        return self.headings[-1] if self.headings else None

    @property
    def body(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)

    @property
    def heading_text(self) -> str:
        """The article title and heading path: embedded on their own too."""
        return "\n".join((self.article_title, *self.headings))

    @property
    def search_text(self) -> str:
        """What is indexed and embedded: title, heading path, then the text."""
        return "\n".join((self.article_title, *self.headings, self.body))

    @property
    def tags_line(self) -> str:
        """The article's tags as one line of text (empty without tags)."""
        return ", ".join(self.article_tags)

    @property
    def lexical_text(self) -> str:
        """What BM25 indexes: the searched text and the article's tags (never embedded
        with the section: a section's vector stays the meaning of what it says)."""
        if not self.article_tags:
            return self.search_text
        return f"{self.search_text}\n{self.tags_line}"

    @property
    def tags_text(self) -> str:
        """The article title and its tags, embedded once per article."""
        if not self.article_tags:
            return self.article_title
        return f"{self.article_title}: {self.tags_line}"

    @property
    def phrases(self) -> tuple[str, ...]:
        """The article's title and each of its tags, embedded one by one (once per article).

        Tags are the host's list of the words readers use for the article's subject;
        embedded together (:attr:`tags_text`) they average a dozen subjects into one
        vector, while a question in a reader's words usually matches one of them.
        """
        return tuple(dict.fromkeys((self.article_title, *self.article_tags)))

    @property
    def passages(self) -> tuple[str, ...]:
        """The section's heading path, paragraphs and list items, embedded one by one.

        A section's vector is the mean of all its words, so the one sentence or
        list item that answers the question is diluted by its neighbours and by
        the title every section of the article shares; the best passage's vector
        is not. Sections of one article are ranked with it (:mod:`.index`); a list
        is still *quoted* whole.
        """
        passages = [" ".join(self.headings)] if self.headings else []
        for block in self.blocks:
            passages.extend(list_items(block.text) if block.kind == "list" else [block.text])
        return tuple(passages) or (self.heading_text,)


def list_items(text: str) -> list[str]:
    """A list block's lead-in sentence and items, each item with its continuation lines."""
    parts: list[str] = []
    item: list[str] | None = None
    for line in text.split("\n"):
        if _LIST_ITEM.match(line):
            if item:
                parts.append(" ".join(item))
            item = [_LIST_ITEM.sub("", line, count=1).strip()]
        elif item is not None:
            if line.strip():
                item.append(line.strip())
        elif line.strip():
            parts.append(line.strip())
    if item:
        parts.append(" ".join(item))
    return parts


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """An article split into its title and sections."""

    article_id: str
    title: str
    sections: tuple[tuple[tuple[str, ...], tuple[Block, ...]], ...]


def _strip_front_matter(lines: list[str]) -> list[str]:
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                return lines[end + 1 :]
    return lines


def _raw_blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Split lines into ("heading"|"code"|"text", lines) runs, blank-line separated."""
    runs: list[tuple[str, list[str]]] = []
    current: list[str] = []
    in_fence = False

    def flush(kind: str = "text") -> None:
        if current and any(line.strip() for line in current):
            runs.append((kind, list(current)))
        current.clear()

    for line in lines:
        if _FENCE.match(line):
            if in_fence:
                current.append(line)
                flush("code")
                in_fence = False
            else:
                flush()
                current.append(line)
                in_fence = True
            continue
        if in_fence:
            current.append(line)
            continue
        if _HEADING.match(line):
            flush()
            runs.append(("heading", [line]))
        elif not line.strip():
            flush()
        else:
            current.append(line.rstrip())
    flush("code" if in_fence else "text")
    return runs


def _is_list(lines: list[str]) -> bool:
    return bool(_LIST_ITEM.match(lines[0]))


def _is_table(lines: list[str]) -> bool:
    """A Markdown table: every line of the block is a row (starts with ``|``)."""
    rows = [line.strip() for line in lines if line.strip()]
    return len(rows) >= 2 and all(row.startswith("|") for row in rows)


def parse_markdown(article_id: str, markdown: str, title: str | None = None) -> ParsedArticle:
    """Title and sections of an article; the first ``#`` heading is the title.

    ``title`` (an article stored as data has one) wins over the heading, whose
    line is then not repeated as a section.
    """
    lines = _strip_front_matter(markdown.replace("\r\n", "\n").split("\n"))
    found_title: str | None = None
    path: list[tuple[int, str]] = []
    sections: list[tuple[tuple[str, ...], list[Block]]] = [((), [])]
    for kind, run in _raw_blocks(lines):
        if kind == "heading":
            match = _HEADING.match(run[0])
            assert match is not None
            level, text = len(match.group(1)), match.group(2).strip()
            if level == 1 and found_title is None and not path and not sections[-1][1]:
                found_title = text
                continue
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text))
            sections.append((tuple(h for _, h in path), []))
            continue
        blocks = sections[-1][1]
        text = "\n".join(run).strip()
        if kind == "code":
            blocks.append(Block(text, "code"))
        elif _is_list(run):
            # A list belongs to the sentence that introduces it.
            if blocks and blocks[-1].kind == "paragraph" and blocks[-1].text.endswith(":"):
                lead = blocks.pop()
                blocks.append(Block(f"{lead.text}\n\n{text}", "list"))
            else:
                blocks.append(Block(text, "list"))
        elif _is_table(run):
            blocks.append(Block(text, "table"))
        else:
            blocks.append(Block(text, "paragraph"))
    final_title = title or found_title or _title_from_id(article_id)
    kept = tuple((headings, tuple(blocks)) for headings, blocks in sections if blocks or headings)
    return ParsedArticle(article_id, final_title, kept)


def _title_from_id(article_id: str) -> str:
    return article_id.replace("-", " ").replace("_", " ").strip().capitalize() or article_id


def chunk_article(
    article: ParsedArticle, url: str | None = None, tags: tuple[str, ...] = ()
) -> list[Chunk]:
    """The article's chunks in reading order.

    A heading with no text under it is still a chunk: the heading may be the fact.
    """
    chunks: list[Chunk] = []
    for headings, blocks in article.sections:
        group: list[Block] = []
        size = 0
        for block in blocks:
            if group and size + len(block.text) > MAX_CHUNK_CHARS:
                chunks.append(_chunk(article, headings, group, len(chunks), url, tags))
                group, size = [], 0
            group.append(block)
            size += len(block.text) + 2
        if group or headings:
            chunks.append(_chunk(article, headings, group, len(chunks), url, tags))
    return chunks


def _chunk(
    article: ParsedArticle,
    headings: tuple[str, ...],
    blocks: list[Block],
    position: int,
    url: str | None,
    tags: tuple[str, ...],
) -> Chunk:
    return Chunk(article.article_id, article.title, headings, tuple(blocks), position, url, tags)
