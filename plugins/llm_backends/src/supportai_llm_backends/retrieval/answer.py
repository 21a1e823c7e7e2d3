"""From retrieved sections to quotable text: which sections, which paragraphs.

Shared by the ``knowledge_base`` backend (which says the text) and the context
hook (which hands it to other backends), so both ground on the same words.

* A section is quoted with its heading path, because facts live in headings.
* A list is quoted whole, with the sentence that introduces it (chunking keeps
  them in one block).
* Paragraphs of a quoted section whose words barely touch the question are
  dropped (``paragraph_cutoff``); the first paragraph stays, since it says what
  the section is about. Lists, tables and code blocks always stay: a section's steps
  ("1. Read ``Retry-After``. 2. Wait. 3. Retry.") rarely repeat the question's
  words, yet they are what a "what should I do?" asks for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from supportai_llm_backends.retrieval.chunking import Block, Chunk
from supportai_llm_backends.retrieval.index import ArticleHit, ChunkHit, TenantIndex
from supportai_llm_backends.retrieval.lexical import tokenize

#: Between the levels of a quoted heading path (a single right-pointing angle quote).
HEADING_SEPARATOR = " \u203a "


@dataclass(frozen=True, slots=True)
class Quote:
    """What is quoted from one article."""

    hit: ArticleHit
    text: str
    first_block: str


def choose_articles(hits: Sequence[ArticleHit], margin: float, limit: int) -> list[ArticleHit]:
    """The best article, plus runners-up whose fused score is within ``margin`` of it."""
    if not hits:
        return []
    floor = hits[0].score - margin
    return [hit for hit in hits[:limit] if hit.score >= floor]


def choose_sections(hit: ArticleHit, margin: float, limit: int = 2) -> list[Chunk]:
    """The article's best section, plus close ones, in reading order.

    An article's introduction (the text before its first heading) says what the
    article is about rather than how to do it: it is never quoted alone when the
    article has sections.
    """
    best = hit.chunks[0].section_score
    chosen: list[ChunkHit] = [c for c in hit.chunks[:limit] if c.section_score >= best - margin]
    if len(chosen) == 1 and not chosen[0].chunk.headings:
        chosen.extend([c for c in hit.chunks if c.chunk.headings][:1])
    return sorted((c.chunk for c in chosen), key=lambda chunk: chunk.position)


def relevant_blocks(
    chunk: Chunk, tokens: Sequence[str], index: TenantIndex, cutoff: float
) -> list[Block]:
    """The section's blocks minus the paragraphs below the relevance cutoff (the first
    block, lists, tables and code blocks always stay)."""
    blocks = list(chunk.blocks)
    if len(blocks) <= 1 or not tokens:
        return blocks
    weights = {token: _idf(index, token) for token in set(tokens)}
    relevance = [
        sum(weights[t] for t in set(tokenize(block.text)) & weights.keys()) for block in blocks
    ]
    best = max(relevance)
    if best <= 0:
        return blocks
    return [
        block
        for i, block in enumerate(blocks)
        if i == 0 or block.kind != "paragraph" or relevance[i] >= cutoff * best
    ]


def _idf(index: TenantIndex, token: str) -> float:
    total = max(len(index.chunks), 1)
    return math.log(1 + total / (1 + index.lexical.document_frequency(token)))


def render_section(chunk: Chunk, blocks: Sequence[Block]) -> str:
    """Markdown of a quoted section: its heading path in bold, then its blocks."""
    parts = [f"**{HEADING_SEPARATOR.join(chunk.headings)}**"] if chunk.headings else []
    parts.extend(block.text for block in blocks)
    return "\n\n".join(parts)


def quote_article(
    hit: ArticleHit,
    tokens: Sequence[str],
    index: TenantIndex,
    *,
    section_margin: float,
    cutoff: float,
    max_chars: int,
) -> Quote | None:
    """The article's best sections as Markdown within ``max_chars`` (None if nothing fits)."""
    texts: list[str] = []
    first_block = ""
    used = 0
    for chunk in choose_sections(hit, section_margin):
        blocks = relevant_blocks(chunk, tokens, index, cutoff)
        text = render_section(chunk, blocks)
        if not text:
            continue
        size = len(text) + (2 if texts else 0)
        if used + size > max_chars:
            if texts:
                break
            text = _fit(chunk, blocks, max_chars)
            if not text:
                return None
            size = len(text)
        texts.append(text)
        used += size
        if not first_block and blocks:
            first_block = blocks[0].text
    if not texts:
        return None
    return Quote(hit, "\n\n".join(texts), first_block or texts[0])


def _fit(chunk: Chunk, blocks: Sequence[Block], max_chars: int) -> str:
    """As many whole blocks of the section as fit (at least its heading and first block)."""
    kept: list[Block] = []
    for block in blocks:
        if len(render_section(chunk, [*kept, block])) > max_chars and kept:
            break
        kept.append(block)
    text = render_section(chunk, kept)
    if len(text) <= max_chars:
        return text
    from supportai_llm_backends.knowledge import truncate

    return truncate(text, max_chars)
