"""What an article is, and the rules every way of writing one shares.

The admin API, the JSON import, the Markdown import and the CLI all end in
:class:`ArticleDraft` checked by the same functions here, so an article that
one path accepts is never refused (or silently changed) by another. The rules
are the ones ``docs/articles.md`` documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

#: Lower-case letters, digits, ``-`` and ``_``; it is part of help-center URLs and citations.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,127}$"
#: A BCP 47-style language tag: ``en``, ``de``, ``pt-BR``, ``zh-Hant-TW``.
LOCALE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"
#: Words, digits, ``-``, ``_``, ``.``, ``/`` and inner spaces; compared lower-case.
TAG_PATTERN = r"^[\w][\w ./-]{0,62}[\w]$|^[\w]$"
#: An absolute http(s) URL or a path on the host's own site.
URL_PATTERN = r"^(https?://[^\s/]+|/)[^\s]*$"

DEFAULT_LOCALE = "en"
MAX_TITLE_CHARS = 300
MAX_BODY_CHARS = 200_000
MAX_URL_CHARS = 2000
MAX_TAGS = 20
#: Questions per article: enough for the ways users ask one article's questions.
MAX_QUESTIONS = 50
MAX_QUESTION_CHARS = 300

_SLUG = re.compile(SLUG_PATTERN)
_LOCALE = re.compile(LOCALE_PATTERN)
_TAG = re.compile(TAG_PATTERN)
_URL = re.compile(URL_PATTERN)
_NOT_SLUG = re.compile(r"[^a-z0-9_-]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article, as the retrieval side and the admin API read it."""

    id: int
    tenant_id: str
    slug: str
    title: str
    body: str
    url: str | None
    locale: str
    tags: tuple[str, ...]
    published: bool
    updated_at: datetime
    #: Bumped by every change; the admin API's optimistic-concurrency token.
    revision: int = 1
    created_at: datetime | None = None
    #: Questions users asked that this article answers, in their words (:func:`check_questions`).
    questions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """The fields an admin writes; :func:`check_draft` has validated them."""

    slug: str
    title: str
    body: str
    url: str | None = None
    locale: str = DEFAULT_LOCALE
    tags: tuple[str, ...] = ()
    published: bool = True
    #: Last, so drafts built positionally before it existed keep their meaning.
    questions: tuple[str, ...] = ()


class ArticleError(ValueError):
    """One field of one article is invalid.

    ``field`` names it, and ``index`` the article's position in an import, so an
    API can point a 422's ``loc`` at it and the CLI can name the file.
    """

    def __init__(self, field: str, message: str, *, index: int | None = None) -> None:
        where = field if index is None else f"articles[{index}].{field}"
        super().__init__(f"{where}: {message}")
        self.field = field
        self.index = index
        self.message = message


def normalise_locale(value: str) -> str:
    """``pt-br`` and ``PT-BR`` are the same locale as ``pt-BR``: one spelling is stored.

    The language is lower-case, a two-letter region upper-case, a four-letter
    script title-case (the BCP 47 conventions), so the unique slug per locale
    cannot be dodged by spelling the locale differently.
    """
    parts = value.strip().split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2:
            out.append(part.upper())
        elif len(part) == 4:
            out.append(part.title())
        else:
            out.append(part.lower())
    return "-".join(out)


def normalise_tags(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Tags compare lower-case and without surrounding spaces; stored sorted and unique."""
    return tuple(sorted({value.strip().lower() for value in values if value.strip()}))


def normalise_question(value: str) -> str:
    """One line with single spaces: a question pasted from a chat or a spreadsheet
    (line breaks, tabs, runs of spaces) is the same question as its tidy spelling."""
    return _SPACES.sub(" ", value).strip()


def slug_from_name(name: str) -> str:
    """A slug for a file name: ``Reset Password.md`` -> ``reset-password``."""
    return _NOT_SLUG.sub("-", name.lower()).strip("-_")[:128]


def check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ArticleError(
            "slug",
            "use 1-128 lower-case letters, digits, '-' or '_', starting with a letter or digit",
        )
    return value


def check_locale(value: str) -> str:
    if not _LOCALE.match(value):
        raise ArticleError("locale", "use a language tag such as 'en', 'de' or 'pt-BR'")
    return normalise_locale(value)


def check_tags(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    tags = normalise_tags(values)
    if len(tags) > MAX_TAGS:
        raise ArticleError("tags", f"at most {MAX_TAGS} tags")
    for tag in tags:
        if not _TAG.match(tag):
            raise ArticleError(
                "tags",
                f"{tag[:70]!r} is not a tag: 1-64 letters, digits, spaces, '-', '_', '.' or '/'",
            )
    return tags


def check_questions(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The questions normalised, empty ones and repeats dropped, in the order given.

    Unlike tags they keep their order and case: they are users' own words, and
    the first spelling of a question given twice (ignoring case) is the one kept.
    """
    kept: list[str] = []
    seen: set[str] = set()
    for value in values:
        question = normalise_question(value)
        if not question:
            continue
        if "\x00" in question:
            raise ArticleError("questions", "a question contains a NUL character")
        if len(question) > MAX_QUESTION_CHARS:
            raise ArticleError(
                "questions",
                f"{question[:70]!r}... is longer than {MAX_QUESTION_CHARS} characters",
            )
        key = question.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(question)
    if len(kept) > MAX_QUESTIONS:
        raise ArticleError("questions", f"at most {MAX_QUESTIONS} questions")
    return tuple(kept)


def check_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_URL_CHARS or not _URL.match(value):
        raise ArticleError("url", "use an http(s) URL or a path starting with '/'")
    return value


def check_title(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TITLE_CHARS or "\n" in value:
        raise ArticleError("title", f"use one line of 1-{MAX_TITLE_CHARS} characters")
    return value


def check_body(value: str) -> str:
    value = value.replace("\r\n", "\n").strip()
    if not value or len(value) > MAX_BODY_CHARS:
        raise ArticleError("body", f"use 1-{MAX_BODY_CHARS} characters of Markdown")
    if "\x00" in value:
        raise ArticleError("body", "contains a NUL character")
    return value


def check_draft(draft: ArticleDraft) -> ArticleDraft:
    """The draft with every field checked and normalised; :class:`ArticleError` otherwise."""
    return ArticleDraft(
        slug=check_slug(draft.slug),
        title=check_title(draft.title),
        body=check_body(draft.body),
        url=check_url(draft.url),
        locale=check_locale(draft.locale),
        tags=check_tags(draft.tags),
        published=bool(draft.published),
        questions=check_questions(draft.questions),
    )


def same_content(draft: ArticleDraft, article: Article) -> bool:
    """True when writing ``draft`` over ``article`` would change nothing a reader sees."""
    return (
        draft.slug == article.slug
        and draft.title == article.title
        and draft.body == article.body
        and draft.url == article.url
        and draft.locale == article.locale
        and draft.tags == article.tags
        and draft.published == article.published
        and draft.questions == article.questions
    )
