"""Articles as Markdown files with front matter: the format of ``supportai kb import``.

One file is one article (``docs/articles.md`` is the reference)::

    ---
    title: Refund policy          # else the first "# heading"
    slug: refunds                 # else the file name: "Refund Policy.md" -> refund-policy
    url: /help/refunds            # else --url-template, else none
    locale: en                    # else --locale (default en)
    tags: [billing, refunds]      # or "billing, refunds"
    published: true               # default true
    questions:                    # what users asked that it answers, in their words
      - Can I get my money back?
      - refund after 2 weeks
    ---
    # Refund policy
    ...

The front matter is YAML (the convention of static-site generators, so their
articles import unchanged); keys this format does not know (``layout``,
``date``...) are ignored and reported. A leading ``# heading`` is the title's
heading, not content: it is the title when the front matter has none and is
left out of the body either way, so the title is never answered twice.
Every problem of every file is collected, so one run reports them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportai.knowledge.articles import (
    DEFAULT_LOCALE,
    ArticleDraft,
    ArticleError,
    check_draft,
    slug_from_name,
)

KEYS = ("title", "slug", "url", "locale", "tags", "published", "questions")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TITLE = re.compile(r"^#\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one file cannot be imported (``field`` is None for the file as a whole)."""

    path: Path
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.field + ': ' if self.field else ''}{self.message}"


@dataclass
class ParsedFolder:
    drafts: list[ArticleDraft] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored_keys: dict[Path, list[str]] = field(default_factory=dict)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """``(front matter or None, the rest)``; ``---`` must be the file's first line."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None, text
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            return "\n".join(lines[1:end]), "\n".join(lines[end + 1 :])
    raise ValueError("the front matter starting on line 1 is never closed with ---")


def take_title(body: str) -> tuple[str | None, str]:
    """The leading ``# heading`` (outside code) and the body without it."""
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if _FENCE.match(line):
            return None, body
        match = _TITLE.match(line)
        if match is None:
            return None, body
        return match.group(1), "\n".join(lines[index + 1 :])
    return None, body


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part for part in value.split(","))
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise ArticleError("tags", "use a list of words or one comma-separated string")


def _questions(value: Any) -> tuple[str, ...]:
    """A YAML list of questions, or one question as a string.

    Unlike tags a string is not split at commas: a question may contain them.
    YAML turns an unquoted ``yes`` or ``2024-01-01`` into a boolean or a date,
    which would be stored as some other text than the one written, so only
    strings and numbers are taken.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return tuple(str(v) for v in value)
    raise ArticleError(
        "questions",
        "use a list of questions or one question (quote one that YAML reads as yes/no or a date)",
    )


def _text(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ArticleError(key, "must be text")
    return str(value)


def _published(meta: Mapping[str, Any]) -> bool:
    value = meta.get("published", True)
    if not isinstance(value, bool):
        raise ArticleError("published", "use true or false")
    return value


def _front_matter(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    import yaml  # only the Markdown import needs it

    # libyaml's loader when PyYAML was built with it: the pure-Python one takes ~3 ms a file
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        meta = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (front matter line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"the front matter is not valid YAML{where}") from exc
    if not isinstance(meta, dict):
        raise ValueError("the front matter must be key: value lines")
    return {str(k): v for k, v in meta.items()}


def parse_article(
    path: Path,
    text: str,
    *,
    default_locale: str = DEFAULT_LOCALE,
    url_template: str | None = None,
) -> tuple[ArticleDraft, list[str]]:
    """One file's article, checked; and the front-matter keys that were ignored.

    Raises :class:`ArticleError` (a field) or :class:`ValueError` (the file).
    """
    front, rest = split_front_matter(text.replace("\r\n", "\n").lstrip("\ufeff"))
    meta = _front_matter(front)
    heading, body = take_title(rest)
    title = _text(meta, "title") or heading
    if not title:
        raise ArticleError("title", "no title: add 'title:' to the front matter or a '# ' heading")
    slug = _text(meta, "slug") or slug_from_name(path.stem)
    url = _text(meta, "url")
    if url is None and url_template:
        url = url_template.replace("{slug}", slug).replace(
            "{locale}", _text(meta, "locale") or default_locale
        )
    draft = check_draft(
        ArticleDraft(
            slug=slug,
            title=title,
            body=body,
            url=url,
            locale=_text(meta, "locale") or default_locale,
            tags=_tags(meta.get("tags")),
            published=_published(meta),
            questions=_questions(meta.get("questions")),
        )
    )
    return draft, sorted(set(meta) - set(KEYS))


def markdown_files(folder: Path) -> list[Path]:
    """Every ``*.md`` under ``folder``, sorted; hidden files and folders are skipped."""
    return sorted(
        path
        for path in folder.rglob("*.md")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def parse_folder(
    paths: Iterable[Path],
    *,
    default_locale: str = DEFAULT_LOCALE,
    url_template: str | None = None,
) -> ParsedFolder:
    """Parse every file; problems are collected, not raised, and two files with the
    same slug and locale are a problem of the second."""
    out = ParsedFolder()
    seen: dict[tuple[str, str], Path] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
            draft, ignored = parse_article(
                path, text, default_locale=default_locale, url_template=url_template
            )
        except UnicodeDecodeError:
            out.problems.append(Problem(path, "is not UTF-8 text"))
            continue
        except ArticleError as exc:
            out.problems.append(Problem(path, exc.message, exc.field))
            continue
        except ValueError as exc:
            out.problems.append(Problem(path, str(exc)))
            continue
        key = (draft.locale, draft.slug)
        if key in seen:
            out.problems.append(
                Problem(path, f"{draft.slug!r} ({draft.locale}) is also {seen[key]}", "slug")
            )
            continue
        seen[key] = path
        out.drafts.append(draft)
        out.sources.append(path)
        if ignored:
            out.ignored_keys[path] = ignored
    return out
