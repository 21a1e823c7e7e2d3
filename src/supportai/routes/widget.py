"""The embeddable chat widget: ``widget.js`` and its stylesheet, served from package data.

A host adds ``<script src="/api/support/ai/widget.js" defer></script>`` and a
``<supportai-chat>`` element (docs/widget.md); serving the files from the sub-app
means no build step, no CDN and a widget that always matches the API it talks to.

The files are public (they hold no user data), so the routes take no caller. They
are not API operations either and stay out of the OpenAPI document. Caching: the
URL is not versioned (hosts write it by hand), so a short ``max-age`` bounds how
long a browser keeps an old widget after an upgrade, and the ``ETag`` (a hash of
the content) turns every later revalidation into a body-less 304.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

router = APIRouter(tags=["widget"], include_in_schema=False)

#: Browsers may use a cached copy this long without asking; then they revalidate.
CACHE_CONTROL = "public, max-age=300, must-revalidate"


@dataclass(frozen=True)
class Asset:
    """One static file, read once: its bytes, content type and strong ETag."""

    body: bytes
    media_type: str
    etag: str


@cache
def asset(name: str, media_type: str) -> Asset:
    body = files("supportai").joinpath("static", name).read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:32]
    return Asset(body=body, media_type=media_type, etag=f'"{digest}"')


def _etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` holds a list of tags (weak or strong) or ``*``."""
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


def serve(request: Request, item: Asset) -> Response:
    headers = {
        "ETag": item.etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    if _etag_matches(request.headers.get("if-none-match"), item.etag):
        return Response(status_code=304, headers=headers)
    return Response(item.body, media_type=item.media_type, headers=headers)


@router.api_route("/widget.js", methods=["GET", "HEAD"])
async def widget_script(request: Request) -> Response:
    """The ``<supportai-chat>`` web component."""
    return serve(request, asset("widget.js", "text/javascript; charset=utf-8"))


@router.api_route("/widget.css", methods=["GET", "HEAD"])
async def widget_stylesheet(request: Request) -> Response:
    """The component's styles, linked from its shadow root (a same-origin file passes a
    strict ``style-src 'self'`` policy, which inline styles would not)."""
    return serve(request, asset("widget.css", "text/css; charset=utf-8"))
