"""Lumen's help center as pages: the Markdown articles the assistant answers from.

Signed-in customers read their company's articles from supportai's knowledge base
(what its admins edit, and what the assistant cites); visitors read the public
files shipped with Lumen, from which every company's knowledge base was seeded.
Citations link to ``/help/{slug}`` (the seeded articles' URL), so every citation
in the chat is a link to the article here. The Markdown subset the articles use (headings,
paragraphs, lists, fenced code, bold, inline code) is rendered by a few lines
below, escaping all text first, rather than adding a Markdown dependency.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from supportai.knowledge.markdown import parse_article

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")


def inline(text: str) -> str:
    """Escape, then mark up ``**bold**`` and `` `code` ``."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[position : match.start()]))
        bold, code = match.groups()
        out.append(
            f"<strong>{html.escape(bold)}</strong>"
            if bold is not None
            else f"<code>{html.escape(code)}</code>"
        )
        position = match.end()
    out.append(html.escape(text[position:]))
    return "".join(out)


def render_markdown(source: str) -> tuple[str, str]:
    """Return ``(title, html)`` of one article."""
    title = ""
    blocks: list[str] = []
    paragraph: list[str] = []
    list_tag: str | None = None
    items: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            blocks.append(f"<p>{inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if list_tag:
            body = "".join(f"<li>{i}</li>" for i in items)
            blocks.append(f"<{list_tag}>{body}</{list_tag}>")
            items.clear()
            list_tag = None

    for line in source.splitlines():
        if code is not None:
            if line.startswith("```"):
                blocks.append(f"<pre><code>{html.escape(chr(10).join(code))}</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            code = []
        elif not stripped:
            flush()
        elif heading := re.match(r"^(#{1,4})\s+(.*)$", stripped):
            flush()
            level = len(heading.group(1))
            if level == 1 and not title:
                title = heading.group(2)
                continue
            blocks.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif item := re.match(r"^(?:([-*])|(\d+)\.)\s+(.*)$", stripped):
            tag = "ul" if item.group(1) else "ol"
            if paragraph or (list_tag and list_tag != tag):
                flush()
            list_tag = tag
            items.append(inline(item.group(3)))
        elif list_tag and line.startswith((" ", "\t")):
            items[-1] += " " + inline(stripped)
        else:
            if list_tag:
                flush()
            paragraph.append(stripped)
    if code is not None:
        blocks.append(f"<pre><code>{html.escape(chr(10).join(code))}</code></pre>")
    flush()
    return title, "\n".join(blocks)


def read_article(path: Path) -> tuple[str, str]:
    """``(title, Markdown body)`` of one shipped file, read as ``supportai kb import`` reads it
    (front matter and the title heading are not part of the body)."""
    draft, _ = parse_article(path, path.read_text(encoding="utf-8"))
    return draft.title, draft.body


def articles(folder: Path) -> list[tuple[str, str]]:
    """``(slug, title)`` of every article, by title."""
    found = [(path.stem, read_article(path)[0]) for path in sorted(folder.glob("*.md"))]
    return sorted(found, key=lambda item: item[1].lower())


def article_path(folder: Path, slug: str) -> Path | None:
    """The article's file, or ``None``: slugs are checked so no path can leave the folder."""
    path = folder / f"{slug}.md"
    return path if SLUG.match(slug) and path.is_file() else None
