"""Parsing Markdown help articles into titles and quotable passages."""

from __future__ import annotations

from llm_backends_testing import FIXTURE_ARTICLES
from supportai_llm_backends.articles import load_articles, parse_article


def test_title_is_the_first_h1_and_sections_are_remembered() -> None:
    article = parse_article(
        "reset", "# Reset it\n\nIntro text.\n\n## Steps\n\n1. One\n2. Two\n\n# Not a title\n\nEnd."
    )
    assert article.title == "Reset it"
    assert [p.text for p in article.passages] == ["Intro text.", "1. One\n2. Two", "End."]
    assert [p.section for p in article.passages] == [None, "Steps", "Not a title"]


def test_front_matter_is_skipped() -> None:
    article = parse_article("x", "---\ntitle: no\n---\n# Real title\n\nBody.")
    assert article.title == "Real title"
    assert article.body == "Body."


def test_fenced_code_keeps_blank_lines_and_hash_lines() -> None:
    article = parse_article("x", "# T\n\n```\nline one\n\n# comment\n```\n\nAfter.")
    assert article.passages[0].text == "```\nline one\n\n# comment\n```"
    assert article.passages[1].text == "After."
    assert article.title == "T"


def test_missing_title_falls_back_to_the_file_stem() -> None:
    article = parse_article("untitled_note", "Just a paragraph.\r\nSecond line.")
    assert article.title == "Untitled note"
    assert article.passages[0].text == "Just a paragraph.\nSecond line."


def test_load_articles_reads_only_markdown_sorted_by_name() -> None:
    articles = load_articles(FIXTURE_ARTICLES)
    assert [a.source_id for a in articles] == [
        "api-tokens",
        "mobile-app",
        "refunds",
        "reset-password",
        "untitled_note",
    ]
    refunds = next(a for a in articles if a.source_id == "refunds")
    assert refunds.title == "Refund policy"
