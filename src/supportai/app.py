"""``create_app``: the one ASGI app a host mounts at ``/api/support/ai``.

The app is a FastAPI application (a Starlette subclass: it mounts like any
Starlette app) so that request validation and the OpenAPI document come from
the same pydantic models; see ``docs/decisions/0001-fastapi-for-routing.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from supportai import __version__
from supportai.errors import Reason, SupportAIError, validation_error_response
from supportai.http_limits import RequestLimits
from supportai.runtime import Runtime
from supportai.settings import Settings
from supportai.telemetry import logcontext
from supportai.telemetry.middleware import HEADER as REQUEST_ID_HEADER
from supportai.telemetry.middleware import RequestContext
from supportai.user_strings import in_user_words, preferred_locale


def create_app(
    settings: Settings | None = None,
    plugins: Iterable[object] = (),
    *,
    load_entry_points: bool = True,
) -> FastAPI:
    """Build the supportai app.

    ``settings`` defaults to ``Settings()`` (the ``SUPPORTAI_*`` environment).
    ``plugins`` are extra plugin objects registered after the entry points, handy
    for a host's own hooks (``supportai_resolve_caller``, tools...).

    The returned app runs its start-up in its lifespan. When mounted, Starlette
    does not run a sub-app's lifespan, so either compose it into the host's
    (``async with support.router.lifespan_context(support): ...``) or rely on
    the lazy start on the first request.
    """
    from supportai.routes import (
        admin,
        analytics,
        articles,
        cases,
        conversations,
        disclosure,
        feedback,
        quota,
        resume,
        turns,
        widget,
    )

    settings = settings if settings is not None else Settings()
    runtime = Runtime.build(settings, plugins, load_entry_points=load_entry_points)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Support Ai API",
        version=__version__,
        description="supportai: AI support conversations, cases, feedback and quota.",
        lifespan=lifespan,
        # No Swagger UI: it would make readers' browsers fetch scripts from a CDN.
        # The document itself is served at /openapi.json (docs/api/ renders it).
        docs_url=None,
        redoc_url=None,
        responses={
            401: {"description": "No authenticated caller", "model": _degraded_model()},
        },
    )
    app.state.supportai = runtime
    routers = (
        conversations,
        turns,
        resume,
        feedback,
        disclosure,
        cases,
        quota,
        admin,
        articles,
        widget,
    )
    for module in (*routers, analytics):
        app.include_router(module.router)

    _document_errors(app, settings)
    app.add_middleware(
        RequestLimits,
        larger_bodies={"/admin/articles/import": settings.kb_import_max_bytes},
    )
    # Outermost of ours: the request id is set before the limits can refuse a body.
    app.add_middleware(RequestContext)
    logcontext.install()
    app.add_exception_handler(SupportAIError, _typed_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    return app


def _document_errors(app: FastAPI, settings: Settings) -> None:
    """Make the served document list every typed error an operation can answer.

    FastAPI documents only what the decorators declare, and its default 422 schema
    (``HTTPValidationError``) is not the body we send. Clients and fuzzers read the
    document as the contract, so the refusals that come from the app as a whole are
    added here: 404 wherever a path names an object (missing, another user's and
    another tenant's objects all look the same), 413/415 wherever there is a body
    (``RequestLimits``) and the real 422 shape everywhere. The limits that come from
    settings are stated too (``openapi_limits``).
    """
    from supportai.openapi_limits import state_limits
    from supportai.schemas import DegradedResponse, ValidationErrorResponse

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in (DegradedResponse, ValidationErrorResponse):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components[model.__name__] = schema
        degraded = {"$ref": "#/components/schemas/DegradedResponse"}
        invalid = {"$ref": "#/components/schemas/ValidationErrorResponse"}

        def typed(description: str, schema: dict[str, str]) -> dict[str, Any]:
            return {"description": description, "content": {"application/json": {"schema": schema}}}

        for item in doc.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = typed("validation_error", invalid)
                if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                    responses.setdefault("404", typed("not_found", degraded))
                if "requestBody" in operation:
                    responses.setdefault("413", typed("payload_too_large", degraded))
                    responses.setdefault("415", typed("unsupported_media_type", degraded))
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        state_limits(doc, settings)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _degraded_model() -> Any:
    from supportai.schemas import DegradedResponse

    return DegradedResponse


async def _typed_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SupportAIError)
    return (await _in_user_words(request, exc)).response()


async def _in_user_words(request: Request, exc: SupportAIError) -> SupportAIError:
    """The error in the words of the request's tenant and ``Accept-Language``."""
    runtime: Runtime | None = getattr(request.app.state, "supportai", None)
    if runtime is None:
        return exc
    tenant_id: str | None = getattr(request.state, "supportai_tenant_id", None)
    locale = preferred_locale(request.headers.get("accept-language"))
    return await in_user_words(runtime.hooks, exc, tenant_id, locale)


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI-style 422 ``detail`` list, plus the typed-degraded marker and reason."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in err["loc"]],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    return JSONResponse(
        {"degraded": True, "reason": Reason.validation_error.value, "detail": detail},
        status_code=422,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """Errors raised by the framework itself, in the one typed shape.

    Starlette answers an unknown path or method with ``{"detail": "Not Found"}``, and
    FastAPI a body it cannot decode (invalid UTF-8) with a bare 400: clients switch on
    ``reason``, so these get one like every other refusal. An undecodable body is the
    same 422 as malformed JSON.
    """
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        undecodable = isinstance(exc.__cause__, UnicodeDecodeError)
        return validation_error_response(
            ["body"],
            "the body is not valid UTF-8" if undecodable else "the body is not valid JSON",
            "json_invalid",
        )
    if exc.status_code == 404:
        return SupportAIError(Reason.not_found, "no such endpoint").response()
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        response = SupportAIError(
            Reason.method_not_allowed,
            f"{request.method} is not allowed here; allowed: {', '.join(allowed)}",
        ).response()
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return SupportAIError(
        Reason.internal_error if exc.status_code >= 500 else Reason.validation_error,
        str(exc.detail),
        status=exc.status_code,
    ).response()


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path.

    Starlette answers 405 from the first route whose path matches, and FastAPI makes
    one route per operation, so its ``Allow`` named only that route's method
    (``GET`` on ``/conversations``, which also takes ``POST``). Each method is
    probed through the routes' public ``matches`` (a full match is path and method).
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    """Never a stack trace to the client; the log has it."""
    import logging

    logging.getLogger("supportai").exception("unhandled error on %s", request.url.path)
    response = SupportAIError(Reason.internal_error, "internal error").response()
    # Starlette sends this response outside RequestContext: echo the id here too, so
    # an operator can find the log line of the failure from what the client saw.
    response.headers[REQUEST_ID_HEADER] = logcontext.request_id.get()
    return response
