"""Request-level limits applied before routing: body size and content type.

A pure ASGI middleware (not ``BaseHTTPMiddleware``) so streaming responses pass
through untouched. Bodies are small JSON documents, so the body is read once
here (at most ``max_body_bytes``) and replayed to the app.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportai.errors import Reason, SupportAIError

MAX_BODY_BYTES = 256 * 1024
_WITH_BODY = {"POST", "PUT", "PATCH"}


class RequestLimits:
    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._reject(scope, receive, send, self._too_large())
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
            if size > self.max_body_bytes:
                await self._reject(scope, receive, send, self._too_large())
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

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> SupportAIError:
        return SupportAIError(
            Reason.payload_too_large, f"request body is larger than {self.max_body_bytes} bytes"
        )

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, error: SupportAIError) -> None:
        await error.response()(scope, receive, send)
