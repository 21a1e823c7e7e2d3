"""The Analytics page's "Past questions to add": readers' questions, added to articles in one click.

Why: retrieval uses an article's past questions to choose which article comes first
(decision 0032), and the tenant's own answered conversations already hold them in
readers' words. supportai suggests them, already PII-redacted
(:func:`supportai.analytics.suggestions.suggest_each`: every article's from one query);
this section lists them for the admin's articles and adds the chosen ones through
:func:`supportai.knowledge.changes.update` with :meth:`ArticlePatch.apply`, the very
write behind ``PATCH /admin/articles/{id}``: the change is audited, the knowledge
version moves (every worker's retrieval sees it), and the article's ``revision`` as
the page read it keeps an edit made meanwhile from being overwritten.

This module knows nothing of the page's paths: ``analytics.py`` owns the page, its
routes and the form's HTTP handling, and calls in here, so the two never import each
other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from databases.core import Connection

from host_app.pages import _e
from supportai.analytics import schemas, suggestions
from supportai.caller import Caller
from supportai.knowledge import changes, queries
from supportai.knowledge.articles import (
    MAX_QUESTIONS,
    Article,
    ArticleDraft,
    ArticleError,
    check_questions,
)
from supportai.knowledge.schemas import ArticlePatch
from supportai.routes.deps import MAX_ID
from supportai.runtime import Runtime
from supportai.store.analytics import Range

#: Articles whose suggestions are read, newest first (one query for all of them).
MAX_ARTICLES_CHECKED = 100
#: Articles shown with their suggestions.
MAX_ARTICLES_SHOWN = 20
#: Suggestions shown for one article: the best ones (rated up, then newest).
SUGGESTIONS_PER_ARTICLE = 5
#: Form fields of one post: article_id, revision, from, to, and more ``question`` values
#: than an article may hold (50), so an oversized choice reaches ``check_questions`` and
#: is explained rather than cut off by the parser.
MAX_FORM_FIELDS = 60

EMPTY = '<li class="muted">No answered questions to suggest in this range.</li>'


@dataclass(frozen=True, slots=True)
class ArticleSuggestions:
    """One article as the page read it (title, ``revision``) and its suggestions."""

    article: Article
    items: list[schemas.QuestionSuggestion]


@dataclass(frozen=True, slots=True)
class Suggested:
    """What the section shows; ``partial`` when some articles were not checked."""

    articles: list[ArticleSuggestions]
    partial: bool


@dataclass(frozen=True, slots=True)
class Choice:
    """What one "Add to the article" form asks for, its numbers checked."""

    article_id: int
    revision: int
    questions: tuple[str, ...]


async def suggested(runtime: Runtime, conn: Connection, window: Range) -> Suggested:
    """The articles of the window's tenant (the signed-in admin's) that have suggestions.

    Newest articles first, as the admin API lists them (``queries.list_page``). Their
    suggestions come from one query over the range's answers
    (:func:`supportai.analytics.suggestions.suggest_each`), not one an article. At most
    ``MAX_ARTICLES_CHECKED`` articles are read and ``MAX_ARTICLES_SHOWN`` shown, and the
    page says when some were left out. An added question is not suggested again, so
    adding (or a narrower range) makes room for the others.
    """
    articles = await queries.list_page(conn, window.tenant_id, limit=MAX_ARTICLES_CHECKED + 1)
    checked = articles[:MAX_ARTICLES_CHECKED]
    found = await suggestions.suggest_each(runtime, conn, window, checked, SUGGESTIONS_PER_ARTICLE)
    having = [
        ArticleSuggestions(a, items) for a, items in zip(checked, found, strict=True) if items
    ]
    partial = len(articles) > MAX_ARTICLES_CHECKED or len(having) > MAX_ARTICLES_SHOWN
    return Suggested(having[:MAX_ARTICLES_SHOWN], partial)


def section(suggested: Suggested, period: schemas.Period, action: str) -> str:
    """The section's list items: one form per article, or the empty state."""
    if not suggested.articles:
        return EMPTY
    forms = "".join(_article_form(item, period, action) for item in suggested.articles)
    if suggested.partial:
        forms += (
            f'<li class="small muted">Only the first {MAX_ARTICLES_SHOWN} articles with '
            f"suggestions are shown, of the {MAX_ARTICLES_CHECKED} newest: add some, or narrow "
            "the range, to see others.</li>"
        )
    return forms


def _article_form(item: ArticleSuggestions, period: schemas.Period, action: str) -> str:
    """The article's suggestions as checkboxes, with the ``revision`` the page read."""
    article = item.article
    boxes = "".join(_checkbox(s) for s in item.items)
    return (
        f'<li class="card group"><form method="post" action="{_e(action)}">'
        f"<p><strong>{_e(article.title)}</strong> "
        f'<span class="small muted">{_e(article.slug)} ({_e(article.locale)}), '
        f"{len(article.questions)} past question(s)</span></p>"
        f'<input type="hidden" name="article_id" value="{article.id}">'
        f'<input type="hidden" name="revision" value="{article.revision}">'
        f'<input type="hidden" name="from" value="{_e(period.from_.isoformat())}">'
        f'<input type="hidden" name="to" value="{_e(period.to.isoformat())}">'
        f"<ul>{boxes}</ul>"
        '<button type="submit">Add to the article</button></form></li>'
    )


def _checkbox(suggestion: schemas.QuestionSuggestion) -> str:
    """Checked when a reader rated the answer up: they confirmed the article answered it."""
    checked = " checked" if suggestion.rated_up else ""
    rated = ' <span class="small muted">(rated up)</span>' if suggestion.rated_up else ""
    return (
        f'<li><label class="inline"><input type="checkbox" name="question" '
        f'value="{_e(suggestion.question)}"{checked}> {_e(suggestion.question)}{rated}'
        "</label></li>"
    )


def _number(value: str, largest: int) -> int | None:
    """A number from a form or a URL, up to ``largest``: ASCII digits only (``int`` also
    reads other scripts' digits), and short enough that ``int`` never parses a huge string."""
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(largest)):
        return None
    number = int(value)
    return number if number <= largest else None


def _id(values: Sequence[str] | None) -> int | None:
    """A form's article id or revision: 1 up to the database's integer range."""
    number = _number(values[0] if values else "", MAX_ID)
    return number if number else None


def choice_of(form: Mapping[str, Sequence[str]]) -> Choice | None:
    """The form's choice; ``None`` when its article or revision is not a valid number."""
    article_id, revision = _id(form.get("article_id")), _id(form.get("revision"))
    if article_id is None or revision is None:
        return None
    return Choice(article_id, revision, tuple(form.get("question", ())))


@dataclass(slots=True)
class Merge:
    """The patch ``changes.update`` applies: the chosen questions after the current ones.

    Built with :meth:`ArticlePatch.apply`, as ``PATCH /admin/articles/{id}`` builds it.
    The list is put through ``check_questions`` first so that a question the article
    has already counts once, not against the 50-question bound; a choice that would
    exceed it raises :class:`ArticleError`. ``before`` keeps the questions the patch
    started from, to say how many were added.
    """

    chosen: tuple[str, ...]
    before: tuple[str, ...] = field(default=())

    def __call__(self, current: Article) -> ArticleDraft:
        self.before = current.questions
        merged = check_questions([*current.questions, *self.chosen])
        return ArticlePatch(questions=list(merged)).apply(current)


def already_has(article: Article, questions: Sequence[str]) -> bool:
    """Whether every one of ``questions`` is among the article's, as ``check_questions``
    compares them (spacing and case): then a stale form has nothing left to add."""
    known = {suggestions.key_of(question) for question in article.questions}
    return all(suggestions.key_of(question) in known for question in questions)


async def add(runtime: Runtime, admin: Caller, choice: Choice) -> dict[str, str]:
    """Add the choice to the admin's article; the page's query parameters that say how it went.

    ``added`` and ``article`` on success (the page reads the title itself; 0 added when a
    stale form asks only for questions the article has, as the same form posted twice
    does), else ``error``: nothing chosen, the article gone, edited since the page read
    it, or questions the article rules refuse. Only the admin's tenant is touched
    (``changes.update`` reads the article with ``admin.tenant_id``).
    """
    if not choice.questions:
        return {"error": "Choose at least one question to add."}
    merge = Merge(choice.questions)
    async with runtime.database.connection() as conn:
        try:
            article = await changes.update(
                conn,
                admin,
                choice.article_id,
                merge,
                expected_revision=choice.revision,
                is_sqlite=runtime.database.is_sqlite,
            )
        except changes.RevisionConflict:
            current = await queries.get(conn, admin.tenant_id, choice.article_id)
            if current is not None and already_has(current, choice.questions):
                # the same form posted twice (a double click, a reload): the first did it
                return {"added": "0", "article": str(current.id)}
            return {
                "error": "The article was edited meanwhile, so nothing was added: "
                "check its suggestions below and add them again."
            }
        except ArticleError as exc:
            return {"error": f"Nothing was added: {exc.message}."}
    if article is None:
        return {"error": "That article no longer exists."}
    added = len(article.questions) - len(merge.before)
    return {"added": str(added), "article": str(article.id)}


async def added_notice(conn: Connection, tenant_id: str, params: Mapping[str, str]) -> str:
    """The notice after an add. The title is read here, in the admin's tenant, rather
    than carried in the URL, so a crafted link cannot make the page say it."""
    added = _number(params.get("added", ""), MAX_QUESTIONS)
    article_id = _id([params.get("article", "")])
    if added is None or article_id is None:
        return ""
    article = await queries.get(conn, tenant_id, article_id)
    if article is None:
        return ""
    title = _e(article.title)
    text = (
        f"Added {added} past question(s) to {title}."
        if added
        else f"{title} already had those questions."
    )
    return f'<p class="notice" role="status">{text}</p>'
