"""The request id and the request span, set before anything else runs.

A pure ASGI middleware (like :mod:`supportai.http_limits`): streaming responses
pass through untouched, and the context variables it sets are seen by the route,
the response and the tasks they start, because it awaits them in its own context.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supportai.telemetry import logcontext, tracing

HEADER = "X-Request-ID"
#: What an incoming request id may look like: a proxy's or a client's id (UUIDs,
#: ULIDs, ``req-123.abc``), never text that could forge a log line or a header.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(value: str | None) -> str:
    """The incoming id if well-formed, else a fresh random one."""
    if value is not None and WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestContext:
    """Set ``X-Request-ID`` (echoed in the response) and open ``supportai.request``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope.get("headers", ()):
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = request_id_from(incoming)
        token = logcontext.request_id.set(rid)
        tokens = [
            (variable, variable.set(logcontext.UNSET))
            for variable in (logcontext.tenant_id, logcontext.conversation_id, logcontext.turn_id)
        ]

        if tracing.enabled():
            await self._traced(scope, receive, send, rid)
        else:
            await self.app(scope, receive, _echo(send, rid))
        # Reset only after a normal end: an unhandled error goes on to Starlette's
        # outermost error middleware, whose log line must still carry the ids (the
        # context dies with the server's task for this request anyway).
        for variable, reset in tokens:
            variable.reset(reset)
        logcontext.request_id.reset(token)

    async def _traced(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        attributes: tracing.Attributes = {
            "supportai.request_id": rid,
            "http.request.method": str(scope["method"]),
        }
        with tracing.span("supportai.request", attributes) as request_span:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message.get("status", 0))
                    request_span.set_attribute("http.response.status_code", status)
                await send(message)

            await self.app(scope, receive, _echo(send_with_status, rid))


def _echo(send: Send, rid: str) -> Send:
    """``send`` that adds ``X-Request-ID`` to the response's headers."""

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message)[HEADER] = rid
        await send(message)

    return send_with_id
