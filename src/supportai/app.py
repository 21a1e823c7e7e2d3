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
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from supportai import __version__
from supportai.errors import Reason, SupportAIError
from supportai.http_limits import RequestLimits
from supportai.runtime import Runtime
from supportai.settings import Settings


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
    from supportai.routes import admin, cases, conversations, disclosure, feedback, quota, turns

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
        docs_url="/docs",
        redoc_url=None,
        responses={
            401: {"description": "No authenticated caller", "model": _degraded_model()},
        },
    )
    app.state.supportai = runtime
    for module in (conversations, turns, feedback, disclosure, cases, quota, admin):
        app.include_router(module.router)

    app.add_middleware(RequestLimits)
    app.add_exception_handler(SupportAIError, _typed_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
    return app


def _degraded_model() -> Any:
    from supportai.schemas import DegradedResponse

    return DegradedResponse


async def _typed_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SupportAIError)
    return exc.response()


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


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    """Never a stack trace to the client; the log has it."""
    import logging

    logging.getLogger("supportai").exception("unhandled error on %s", request.url.path)
    return SupportAIError(Reason.internal_error, "internal error").response()
