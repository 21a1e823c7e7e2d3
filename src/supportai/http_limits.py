"""Request-level limits applied before routing: body size, content type, JSON depth.

A pure ASGI middleware (not ``BaseHTTPMiddleware``) so streaming responses pass
through untouched. Bodies are small JSON documents, so the body is read once
here (at most ``max_body_bytes``) and replayed to the app. A few endpoints take
bulk documents (the article import): ``larger_bodies`` gives those paths, and
only those, their own limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import accumulate

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportai.errors import Reason, SupportAIError, validation_error_response

MAX_BODY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32
"""No request body of the API nests deeper than a few levels. Without a bound of our
own, a body nested about a thousand deep hits the interpreter's recursion limit in
the JSON parser and could only be reported as "not valid JSON"."""
_WITH_BODY = {"POST", "PUT", "PATCH"}
# A JSON string, removed before counting so that brackets inside text do not count.
# The closing quote is optional so that an unterminated string ends the scan instead
# of being retried from every later quote (which would make the scan quadratic).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [1 if b in b"[{" else -1 for b in range(256)]


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does the body open more than ``limit`` arrays/objects inside each other?

    Only bodies with more brackets than the limit are scanned, so an ordinary
    request costs two ``bytes.count`` calls; the scan itself runs in C-level loops
    (a regex, ``bytes.translate``, ``accumulate``). Malformed JSON is left to the parser.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False
    return max(accumulate(map(_STEP.__getitem__, brackets))) > limit


class RequestLimits:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = MAX_BODY_BYTES,
        larger_bodies: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.larger_bodies = dict(larger_bodies or {})

    def limit_for(self, scope: Scope) -> int:
        """The limit of this request's path (relative to where the app is mounted).

        The path is compared after the mount point (``root_path``): a host may
        mount the app anywhere, and a path that merely ends like a bulk endpoint
        elsewhere must not get its limit.
        """
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return self.larger_bodies.get(path.rstrip("/"), self.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        limit = self.limit_for(scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send, self._too_large(limit))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(scope, receive, send, self._too_large(limit))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get("content-type", "")
        if body and "json" not in content_type.lower():
            await self._reject(
                scope,
                receive,
                send,
                SupportAIError(Reason.unsupported_media_type, "send the body as application/json"),
            )
            return
        if json_depth_exceeds(body):
            response = validation_error_response(
                ["body"],
                f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels",
                "json_too_deep",
            )
            await response(scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(limit: int) -> SupportAIError:
        return SupportAIError(
            Reason.payload_too_large, f"request body is larger than {limit} bytes"
        )

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, error: SupportAIError) -> None:
        await error.response()(scope, receive, send)
