"""The knowledge base's admin API: articles as data (``/admin/articles``).

Same rules as the other admin endpoints (``routes/admin.py``): role
``support_ai_admin``, the admin's own tenant only (another tenant's article is
a 404), every change audited in the transaction that makes it. Writes go
through :mod:`supportai.knowledge.changes`, which also bumps the tenant's
knowledge version so every worker's retrieval index notices.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError

from supportai.errors import Reason, SupportAIError, not_found
from supportai.knowledge import changes, queries, schemas
from supportai.knowledge.articles import ArticleError, check_locale, check_tags
from supportai.routes.deps import MAX_ID, AdminDep, ConnectionDep, RuntimeDep
from supportai.schemas import DegradedResponse
from supportai.store.conversations import now

router = APIRouter(
    prefix="/admin/articles",
    tags=["admin"],
    responses={
        403: {"model": DegradedResponse, "description": "forbidden: not a support_ai_admin"},
    },
)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Revision = Annotated[
    int | None,
    Query(
        ge=1, le=MAX_ID, description="Refuse (409 edit_conflict) unless this is the current one."
    ),
]
SLUG_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"model": DegradedResponse, "description": "slug_taken"}
}
EDIT_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": DegradedResponse, "description": "slug_taken or edit_conflict"}
}


def _slug_taken(exc: changes.SlugTaken) -> SupportAIError:
    return SupportAIError(Reason.slug_taken, str(exc))


def _conflict(exc: changes.RevisionConflict) -> SupportAIError:
    return SupportAIError(Reason.edit_conflict, str(exc))


def _query_value(name: str, value: str | None, check: Any) -> Any:
    """A filter checked by the article rules, as a 422 naming the query parameter."""
    if value is None:
        return None
    try:
        return check(value)
    except ArticleError as exc:
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": exc.message, "type": "value_error"}]
        ) from exc


@router.get("", summary="List Articles", response_model=schemas.ArticleList)
async def list_articles(
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    locale: Annotated[str | None, Query(min_length=2, max_length=35)] = None,
    published: Annotated[bool | None, Query()] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Keyset cursor.")] = None,
) -> schemas.ArticleList:
    """The tenant's articles, newest first, without their bodies; filter by locale, state, tag."""
    size = limit or runtime.settings.page_size
    tags = _query_value("tag", tag, lambda v: check_tags([v]))
    rows = await queries.list_page(
        conn,
        admin.tenant_id,
        limit=size + 1,
        before=before,
        locale=_query_value("locale", locale, check_locale),
        published=published,
        tag=tags[0] if tags else None,
    )
    return schemas.ArticleList(
        items=[schemas.ArticleSummary(**schemas.summary_of(a)) for a in rows[:size]],
        next_cursor=rows[size - 1].id if len(rows) > size else None,
    )


@router.post("", summary="Create Article", response_model=schemas.ArticleOut, responses=SLUG_TAKEN)
async def create_article(
    body: schemas.ArticleIn, admin: AdminDep, conn: ConnectionDep, runtime: RuntimeDep
) -> schemas.ArticleOut:
    """A new article. Its slug must be free in its locale (409 ``slug_taken``)."""
    try:
        article = await changes.create(
            conn, admin, body.draft(), is_sqlite=runtime.database.is_sqlite
        )
    except changes.SlugTaken as exc:
        raise _slug_taken(exc) from exc
    return schemas.article_out(article)


@router.get("/export", summary="Export Articles", response_model=schemas.ArticleExport)
async def export_articles(
    admin: AdminDep,
    conn: ConnectionDep,
    locale: Annotated[str | None, Query(min_length=2, max_length=35)] = None,
) -> dict[str, Any]:
    """Every article of the tenant (drafts too) in the JSON format the import reads."""
    wanted = _query_value("locale", locale, check_locale)
    articles = await queries.all_of(conn, admin.tenant_id)
    if wanted is not None:
        articles = [a for a in articles if a.locale == wanted]
    return schemas.export_document(articles, now())


@router.post(
    "/import", summary="Import Articles", response_model=schemas.ImportResult, responses=SLUG_TAKEN
)
async def import_articles(
    body: schemas.ArticleExport,
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    prune: Annotated[
        bool,
        Query(description="Also delete the tenant's articles the import does not contain."),
    ] = False,
) -> schemas.ImportResult:
    """Upsert articles by slug and locale, all or nothing.

    The body is the JSON format of the export. An article whose content is
    unchanged is left alone (no new revision, no audit event); a body with the
    same slug and locale twice is a 422 naming the second. Nothing is written
    unless every article is valid. The request body may be up to
    ``SUPPORTAI_KB_IMPORT_MAX_BYTES``; larger help centers import with
    ``supportai kb import``.
    """
    try:
        result = await changes.import_articles(
            conn,
            admin,
            [item.draft() for item in body.articles],
            is_sqlite=runtime.database.is_sqlite,
            prune=prune,
        )
    except ArticleError as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "articles", exc.index, exc.field),
                    "msg": exc.message,
                    "type": "value_error",
                }
            ]
        ) from exc
    except changes.SlugTaken as exc:  # a concurrent create took a slug of the import
        raise _slug_taken(exc) from exc
    return schemas.ImportResult(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        deleted=result.deleted,
        version=result.version,
        items=[
            schemas.ImportedArticle(
                article_id=i.article_id,
                slug=i.slug,
                locale=i.locale,
                outcome=schemas.ImportOutcome(i.outcome),
            )
            for i in result.items
        ],
    )


@router.get("/{article_id:int}", summary="Get Article", response_model=schemas.ArticleOut)
async def get_article(article_id: Id, admin: AdminDep, conn: ConnectionDep) -> schemas.ArticleOut:
    """One article of the tenant, with its Markdown body and current ``revision``."""
    article = await queries.get(conn, admin.tenant_id, article_id)
    if article is None:
        raise not_found("article")
    return schemas.article_out(article)


@router.patch(
    "/{article_id:int}",
    summary="Update Article",
    response_model=schemas.ArticleOut,
    responses=EDIT_CONFLICT,
)
async def update_article(
    article_id: Id,
    body: schemas.ArticlePatch,
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
) -> schemas.ArticleOut:
    """Change the fields given. Send the ``revision`` you read to never overwrite someone
    else's edit (409 ``edit_conflict``). Saving what is already there changes nothing."""
    try:
        article = await changes.update(
            conn,
            admin,
            article_id,
            body.apply,
            expected_revision=body.revision,
            is_sqlite=runtime.database.is_sqlite,
        )
    except changes.SlugTaken as exc:
        raise _slug_taken(exc) from exc
    except changes.RevisionConflict as exc:
        raise _conflict(exc) from exc
    if article is None:
        raise not_found("article")
    return schemas.article_out(article)


@router.delete(
    "/{article_id:int}",
    summary="Delete Article",
    response_model=schemas.ArticleDeleted,
    responses={409: {"model": DegradedResponse, "description": "edit_conflict"}},
)
async def delete_article(
    article_id: Id,
    admin: AdminDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    revision: Revision = None,
) -> schemas.ArticleDeleted:
    """Delete the article (its answers stop at once: the knowledge version moves on)."""
    try:
        deleted = await changes.delete(
            conn,
            admin,
            article_id,
            expected_revision=revision,
            is_sqlite=runtime.database.is_sqlite,
        )
    except changes.RevisionConflict as exc:
        raise _conflict(exc) from exc
    if deleted is None:
        raise not_found("article")
    return schemas.ArticleDeleted(article_id=article_id)
