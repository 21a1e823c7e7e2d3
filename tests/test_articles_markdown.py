"""The Markdown article format (docs/articles.md): front matter, fallbacks, and problems.

Pure parsing, no database: every rule the format documents, and that one run
reports every problem of every file with its path and field.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from supportai.knowledge.articles import ArticleError
from supportai.knowledge.markdown import ParsedFolder, markdown_files, parse_article, parse_folder

FULL = """---
title: Refund policy
slug: refunds
url: https://help.example/refunds
locale: de
tags: [Billing, refunds, billing]
published: false
questions:
  - How do I get  my money back?
  - how do i get my money back?
  - Refund after 2 weeks?
layout: article
---
# A heading that is not the title

Text.
"""


def test_front_matter_sets_every_field() -> None:
    draft, ignored = parse_article(Path("whatever.md"), FULL)
    assert (draft.slug, draft.title, draft.locale) == ("refunds", "Refund policy", "de")
    assert draft.url == "https://help.example/refunds" and draft.published is False
    assert draft.tags == ("billing", "refunds")
    assert draft.questions == ("How do I get my money back?", "Refund after 2 weeks?")
    assert draft.body == "Text.", "the leading heading is the title's, not content"
    assert ignored == ["layout"]


def test_fallbacks_heading_file_name_locale_and_url_template() -> None:
    text = "\n# Resetting your password\n\n## Steps\n\n1. Open **Settings**.\n"
    draft, ignored = parse_article(
        Path("help/Reset Your Password.md"),
        text,
        default_locale="fr",
        url_template="/{locale}/help/{slug}",
    )
    assert draft.title == "Resetting your password"
    assert draft.slug == "reset-your-password"
    assert draft.locale == "fr" and draft.url == "/fr/help/reset-your-password"
    assert draft.published is True and draft.tags == () and draft.questions == ()
    assert ignored == []
    assert draft.body == "## Steps\n\n1. Open **Settings**."


def test_tags_as_a_comma_separated_string_and_crlf_files() -> None:
    text = "---\r\ntags: billing, Invoices ,  \r\n---\r\n# Invoices\r\n\r\nBody.\r\n"
    draft, _ = parse_article(Path("invoices.md"), text)
    assert draft.tags == ("billing", "invoices") and draft.body == "Body."


def test_a_heading_inside_code_is_not_the_title() -> None:
    with pytest.raises(ArticleError) as error:
        parse_article(Path("x.md"), "```\n# not a title\n```\n")
    assert error.value.field == "title"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("---\ntitle: x\n", None, "never closed"),
        ("---\ntitle: [unclosed\n---\nbody", None, "not valid YAML"),
        ("---\n- a list\n---\n# T\n\nbody", None, "key: value"),
        ("---\npublished: maybe\n---\n# T\n\nbody", "published", "true or false"),
        ("---\ntags: {a: 1}\n---\n# T\n\nbody", "tags", "list"),
        ("---\nquestions: {a: 1}\n---\n# T\n\nbody", "questions", "list"),
        ("---\nslug: Bad Slug\n---\n# T\n\nbody", "slug", "lower-case"),
        ("---\ntitle: T\n---\n", "body", "Markdown"),
        ("Just text, no heading.", "title", "no title"),
        ("---\nurl: ftp://x\n---\n# T\n\nbody", "url", "http"),
    ],
)
def test_problems_name_the_field(text: str, field: str | None, words: str) -> None:
    parsed = parse_folder_of({"a.md": text})
    assert len(parsed.problems) == 1 and parsed.drafts == []
    problem = parsed.problems[0]
    assert problem.field == field and words in problem.message, str(problem)


def parse_folder_of(files: dict[str, str | bytes], tmp: Path | None = None) -> ParsedFolder:
    folder = Path(tempfile.mkdtemp()) if tmp is None else tmp
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return parse_folder(markdown_files(folder))


def test_a_folder_reports_every_problem_and_duplicate(tmp_path: Path) -> None:
    parsed = parse_folder_of(
        {
            "a.md": "# A\n\nfine",
            "nested/b.md": "# B\n\nfine",
            "nested/a.md": "# Another A\n\nsame slug",
            "c.md": b"\xff\xfe not utf-8",
            "d.md": "no title here",
            ".hidden/e.md": "# hidden\n\nskipped",
            "notes.txt": "not markdown",
        },
        tmp_path,
    )
    assert [d.slug for d in parsed.drafts] == ["a", "b"]
    problems = [str(p) for p in parsed.problems]
    assert len(problems) == 3
    assert any("nested/a.md: slug: 'a' (en) is also" in p for p in problems)
    assert any("c.md: is not UTF-8" in p for p in problems)
    assert any("d.md: title: no title" in p for p in problems)
