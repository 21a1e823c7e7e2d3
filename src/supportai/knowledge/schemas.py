"""Request and response bodies of ``/admin/articles`` and of the JSON export format.

The JSON export is also the bulk import's body (``ArticleExport``): what one
tenant exports, another (or the same, later) imports unchanged. Fields are
checked by the same functions as every other way in (``articles.py``), so the
API never accepts an article the CLI would refuse, and a 422 names the field
(``["body", "articles", 3, "slug"]``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, field_validator

from supportai.knowledge import articles as rules
from supportai.knowledge.articles import Article, ArticleDraft
from supportai.schemas import NO_NUL_PATTERN, Request

#: The version tag of the JSON format; a future format gets a new one.
FORMAT: Final = "supportai.articles/1"
#: Articles in one import request (the CLI has no such bound).
MAX_IMPORT_ARTICLES = 5000

Slug = Annotated[
    str, Field(min_length=1, max_length=128, pattern=rules.SLUG_PATTERN, examples=["refunds"])
]
Locale = Annotated[str, Field(min_length=2, max_length=35, examples=["en", "pt-BR"])]
Title = Annotated[str, Field(min_length=1, max_length=rules.MAX_TITLE_CHARS)]
Body = Annotated[
    str,
    Field(
        min_length=1,
        max_length=rules.MAX_BODY_CHARS,
        description="Markdown. Headings matter: retrieval keeps each section's heading path.",
    ),
]
Url = Annotated[
    str,
    Field(
        max_length=rules.MAX_URL_CHARS,
        description="Where readers find the article (citations link to it): an http(s) URL "
        "or a path on the host's site.",
        examples=["/help/refunds"],
    ),
]
Tag = Annotated[str, Field(min_length=1, max_length=64)]
Tags = Annotated[list[Tag], Field(max_length=rules.MAX_TAGS)]
#: No minimum: an empty question is dropped, as in every other way in (``check_questions``).
#: The NUL rule is stated here because ``Request`` states it for plain string fields only.
Question = Annotated[
    str,
    Field(
        max_length=rules.MAX_QUESTION_CHARS,
        pattern=NO_NUL_PATTERN,
        examples=["Can I get my money back?"],
    ),
]
Questions = Annotated[list[Question], Field(max_length=rules.MAX_QUESTIONS)]
QUESTIONS_DESCRIPTION = (
    "Questions users asked that this article answers, in their own words; retrieval uses "
    f"them to choose which article comes first. Up to {rules.MAX_QUESTIONS} of "
    f"1-{rules.MAX_QUESTION_CHARS} characters; whitespace is collapsed, empty ones and repeats "
    "(ignoring case) are dropped, the order is kept."
)


class _Checked(Request):
    """Normalises fields with the shared rules (lower-case tags, ``pt-BR``...)."""

    @field_validator("slug", mode="after", check_fields=False)
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        return None if value is None else rules.check_slug(value)

    @field_validator("locale", mode="after", check_fields=False)
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return None if value is None else rules.check_locale(value)

    @field_validator("title", mode="after", check_fields=False)
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return None if value is None else rules.check_title(value)

    @field_validator("body", mode="after", check_fields=False)
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        return None if value is None else rules.check_body(value)

    @field_validator("url", mode="after", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return rules.check_url(value)

    @field_validator("tags", mode="after", check_fields=False)
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(rules.check_tags(value))

    @field_validator("questions", mode="after", check_fields=False)
    @classmethod
    def _questions(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(rules.check_questions(value))


class ArticleIn(_Checked):
    """An article as written: by ``POST /admin/articles`` and in the JSON format."""

    slug: Slug = Field(description="Unique per tenant and locale; part of URLs and citations.")
    locale: Locale = rules.DEFAULT_LOCALE
    title: Title
    body: Body
    url: Url | None = None
    tags: Tags = Field(default_factory=list, description="Compared lower-case; stored sorted.")
    published: bool = Field(default=True, description="Drafts are never used for answers.")
    questions: Questions = Field(default_factory=list, description=QUESTIONS_DESCRIPTION)

    def draft(self) -> ArticleDraft:
        return ArticleDraft(
            slug=self.slug,
            title=self.title,
            body=self.body,
            url=self.url,
            locale=self.locale,
            tags=tuple(self.tags),
            published=self.published,
            questions=tuple(self.questions),
        )


class ArticlePatch(_Checked):
    """Only the fields given change; ``url: null`` removes the URL."""

    slug: Slug | None = None
    locale: Locale | None = None
    title: Title | None = None
    body: Body | None = None
    url: Url | None = None
    tags: Tags | None = None
    published: bool | None = None
    questions: Questions | None = Field(
        default=None, description="Replaces the article's questions; [] removes them."
    )
    revision: int | None = Field(
        default=None,
        ge=1,
        description="The revision you read. If the article has changed since, nothing is "
        "written and the answer is 409 edit_conflict. Omit it to overwrite whatever is there.",
    )

    def apply(self, article: Article) -> ArticleDraft:
        given = self.model_fields_set
        return ArticleDraft(
            slug=self.slug if self.slug is not None else article.slug,
            title=self.title if self.title is not None else article.title,
            body=self.body if self.body is not None else article.body,
            url=self.url if "url" in given else article.url,
            locale=self.locale if self.locale is not None else article.locale,
            tags=tuple(self.tags) if self.tags is not None else article.tags,
            published=self.published if self.published is not None else article.published,
            questions=tuple(self.questions) if self.questions is not None else article.questions,
        )


class ArticleSummary(BaseModel):
    article_id: int
    slug: str
    locale: str
    title: str
    url: str | None
    tags: list[str]
    published: bool
    questions: list[str] = Field(
        description="Questions users asked that this article answers, in the order given."
    )
    revision: int = Field(description="Grows with every change; send it back to update safely.")
    created_at: datetime | None
    updated_at: datetime


class ArticleOut(ArticleSummary):
    body: str


class ArticleList(BaseModel):
    items: list[ArticleSummary]
    next_cursor: int | None = Field(
        default=None,
        description="Pass as ``before`` to fetch the next (older) page; null on the last page.",
    )


class ArticleDeleted(BaseModel):
    article_id: int
    deleted: Literal[True] = True


class ArticleExport(Request):
    """The JSON format of ``supportai kb export`` and the export endpoint; the import's body."""

    format: Literal["supportai.articles/1"] = Field(
        default=FORMAT, description="The format's version tag."
    )
    exported_at: datetime | None = Field(default=None, description="Informational.")
    articles: list[ArticleIn] = Field(max_length=MAX_IMPORT_ARTICLES)


class ImportOutcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    deleted = "deleted"


class ImportedArticle(BaseModel):
    article_id: int
    slug: str
    locale: str
    outcome: ImportOutcome


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    deleted: int
    version: int = Field(description="The tenant's knowledge version after the import.")
    items: list[ImportedArticle]


def summary_of(article: Article) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "url": article.url,
        "tags": list(article.tags),
        "published": article.published,
        "questions": list(article.questions),
        "revision": article.revision,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
    }


def article_out(article: Article) -> ArticleOut:
    return ArticleOut(**summary_of(article), body=article.body)


def export_item(article: Article) -> dict[str, Any]:
    """An article in the JSON format: the writable fields only, so it imports anywhere."""
    return {
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "url": article.url,
        "tags": list(article.tags),
        "published": article.published,
        "questions": list(article.questions),
        "body": article.body,
    }


def export_document(articles: list[Article], moment: datetime) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "exported_at": moment.isoformat(),
        "articles": [export_item(a) for a in articles],
    }
