"""Past questions for an article, suggested from the conversations it answered.

Why: an article's ``questions`` (decision 0032) are how its readers ask, and retrieval
uses them to put the right article first; the gain grows with how well they cover
how readers ask. Until now an admin wrote them by hand, yet the tenant's own
conversations already hold them in readers' words: every question whose answer cited
the article first, was not the not-found fallback and was not rated down. Listing
those closes the loop from answered conversations back to the article. The admin
chooses the ones to keep and adds them with ``PATCH /admin/articles/{article_id}``
(``questions``); nothing here writes.

The questions come from SQL (:func:`supportai.store.analytics.questions_answered`,
the newest ``SUPPORTAI_ANALYTICS_UNANSWERED_SCAN`` answers of the range, the bound the
unanswered list uses). Everything shown is PII-redacted first, and what is compared
(with each other, with the article's questions) is the redacted text: it is the
text an admin would store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from databases.core import Connection

from supportai.analytics import schemas
from supportai.knowledge.articles import MAX_QUESTION_CHARS, Article, normalise_question
from supportai.redaction import redact
from supportai.runtime import Runtime
from supportai.store import analytics as sql


def key_of(question: str) -> str:
    """When two questions are the same one: :func:`~supportai.knowledge.articles.check_questions`'
    rule (spacing and case), so a suggestion is never one the article would drop as a repeat."""
    return normalise_question(question).casefold()


async def redacted(
    runtime: Runtime, tenant_id: str, rows: list[dict[str, Any]]
) -> list[schemas.QuestionSuggestion]:
    """The rows (newest first) as suggestions: each question redacted and on one line.

    A text asked many times is redacted once.
    """
    done: dict[str, str] = {}
    shown: list[schemas.QuestionSuggestion] = []
    for row in rows:
        text = row["content"]
        if text not in done:
            done[text] = normalise_question(await redact(runtime.hooks, tenant_id, text))
        shown.append(
            schemas.QuestionSuggestion(
                message_id=row["id"],
                question=done[text],
                asked_at=row["created_at"],
                rated_up=row["rated_up"],
            )
        )
    return shown


def new_questions(
    suggestions: Iterable[schemas.QuestionSuggestion], known: Iterable[str]
) -> list[schemas.QuestionSuggestion]:
    """The suggestions (newest first) an article could take and does not have yet.

    Left out: an empty question, one longer than an article's question may be, a repeat
    of a newer one, and one among ``known`` (the article's questions).
    """
    seen = {key_of(question) for question in known}
    kept: list[schemas.QuestionSuggestion] = []
    for suggestion in suggestions:
        key = key_of(suggestion.question)
        if not key or len(suggestion.question) > MAX_QUESTION_CHARS or key in seen:
            continue
        seen.add(key)
        kept.append(suggestion)
    return kept


def ranked(suggestions: list[schemas.QuestionSuggestion]) -> list[schemas.QuestionSuggestion]:
    """Rated up first (a reader confirmed the article answered it), then newest first."""
    return sorted(
        suggestions, key=lambda s: (not s.rated_up, -s.asked_at.timestamp(), -s.message_id)
    )


def for_article(
    suggestions: list[schemas.QuestionSuggestion], article: Article, limit: int
) -> list[schemas.QuestionSuggestion]:
    """Of ``suggestions`` (newest first, questions the article answered), the ``limit``
    best it could take and does not have yet."""
    return ranked(new_questions(suggestions, article.questions))[:limit]


async def suggest(
    runtime: Runtime, conn: Connection, window: sql.Range, article: Article, limit: int
) -> list[schemas.QuestionSuggestion]:
    """Up to ``limit`` questions of the range that ``article`` answered, as the API lists them."""
    rows = await sql.questions_answered(
        conn, window, runtime.settings.analytics_unanswered_scan, article.slug
    )
    return for_article(await redacted(runtime, window.tenant_id, rows), article, limit)


async def suggest_each(
    runtime: Runtime,
    conn: Connection,
    window: sql.Range,
    articles: Sequence[Article],
    limit: int,
) -> list[list[schemas.QuestionSuggestion]]:
    """:func:`suggest` for each of ``articles``, in order, from one query and one
    redaction pass: for a page that lists every article's suggestions.

    The scan bound (``SUPPORTAI_ANALYTICS_UNANSWERED_SCAN``) then counts the range's
    newest answers over all articles, not per article.
    """
    rows = await sql.questions_answered(conn, window, runtime.settings.analytics_unanswered_scan)
    shown = await redacted(runtime, window.tenant_id, rows)
    by_slug: dict[str, list[schemas.QuestionSuggestion]] = {}
    for row, suggestion in zip(rows, shown, strict=True):
        by_slug.setdefault(row["slug"], []).append(suggestion)
    return [for_article(by_slug.get(article.slug, []), article, limit) for article in articles]
