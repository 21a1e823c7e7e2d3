"""Heading-aware chunks: the title and heading path travel with each section."""

from __future__ import annotations

from supportai_llm_backends.retrieval.chunking import (
    MAX_CHUNK_CHARS,
    chunk_article,
    parse_markdown,
)

ARTICLE = """---
title: front matter is skipped
---
# Plans and pricing

Lumen has four plans.

## Team — $8 per seat per month

For growing teams.

### What is included

To get started:

- timeline view
- guests

```
plan = "team"

seats = 5
```

## Business — $16 per seat per month

For organisations.
"""


def test_sections_carry_title_and_heading_path() -> None:
    chunks = chunk_article(parse_markdown("plans", ARTICLE), url="https://help.example/plans")
    assert [c.headings for c in chunks] == [
        (),
        ("Team — $8 per seat per month",),
        ("Team — $8 per seat per month", "What is included"),
        ("Business — $16 per seat per month",),
    ]
    assert all(c.article_title == "Plans and pricing" for c in chunks)
    assert all(c.url == "https://help.example/plans" for c in chunks)
    # The fact in the heading is part of what is searched.
    assert "$16 per seat" in chunks[3].search_text
    assert chunks[3].search_text.startswith("Plans and pricing\n")
    assert [c.position for c in chunks] == [0, 1, 2, 3]
    assert "front matter" not in "".join(c.search_text for c in chunks)


def test_a_list_stays_whole_with_its_lead_in_and_code_keeps_blank_lines() -> None:
    included = chunk_article(parse_markdown("plans", ARTICLE))[2]
    kinds = [block.kind for block in included.blocks]
    assert kinds == ["list", "code"]
    assert included.blocks[0].text == "To get started:\n\n- timeline view\n- guests"
    assert "seats = 5" in included.blocks[1].text and "\n\n" in included.blocks[1].text


def test_an_explicit_title_wins_and_a_missing_one_comes_from_the_id() -> None:
    parsed = parse_markdown("plans", ARTICLE, title="Pricing (stored title)")
    assert parsed.title == "Pricing (stored title)"
    assert parse_markdown("untitled_note", "Just text.").title == "Untitled note"


def test_a_long_section_is_split_at_block_boundaries_keeping_its_headings() -> None:
    paragraph = "A sentence about seats and billing that goes on. " * 8
    body = "# Long\n\n## Seats\n\n" + "\n\n".join([paragraph] * 8)
    chunks = chunk_article(parse_markdown("long", body))
    assert len(chunks) > 1
    assert all(c.headings == ("Seats",) for c in chunks)
    assert all(len(c.body) <= MAX_CHUNK_CHARS + len(paragraph) for c in chunks)
    assert sum(len(c.blocks) for c in chunks) == 8


def test_passages_are_the_heading_path_each_paragraph_and_each_list_item() -> None:
    team, included = chunk_article(parse_markdown("plans", ARTICLE))[1:3]
    assert team.passages == ("Team — $8 per seat per month", "For growing teams.")
    assert included.passages == (
        "Team — $8 per seat per month What is included",
        "To get started:",
        "timeline view",
        "guests",
        'plan = "team"\n\nseats = 5'.join(("```\n", "\n```")),
    )
    numbered = parse_markdown("x", "# X\n\n1. Open it\n   and wait.\n2. Close it")
    assert chunk_article(numbered)[0].passages == ("Open it and wait.", "Close it")
