"""Request dependencies: the runtime (started lazily), the caller, one DB connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from databases.core import Connection
from fastapi import Depends
from starlette.requests import Request

from supportai.caller import Caller
from supportai.errors import Reason, SupportAIError
from supportai.runtime import Runtime
from supportai.telemetry import logcontext
from supportai.user_strings import preferred_locale


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.supportai
    await runtime.start()  # no-op once started; covers hosts that skip our lifespan
    return runtime


async def get_caller(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Caller:
    caller = await runtime.hooks.resolve_caller(request)
    if caller is None:
        raise SupportAIError(Reason.unauthenticated, "authentication required")
    logcontext.tenant_id.set(caller.tenant_id)  # every later log line of this request
    request.state.supportai_tenant_id = caller.tenant_id  # for texts of typed errors
    return caller


async def get_admin(
    caller: Annotated[Caller, Depends(get_caller)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> Caller:
    if not caller.has_role(runtime.settings.admin_role):
        raise SupportAIError(Reason.forbidden, f"requires the {runtime.settings.admin_role} role")
    return caller


async def get_connection(
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> AsyncIterator[Connection]:
    """One held connection for the whole request (see store/database.py for why)."""
    async with runtime.database.connection() as conn:
        yield conn


async def user_strings_for(runtime: Runtime, request: Request) -> dict[str, str]:
    """The texts this request's user sees: their tenant's, in their ``Accept-Language``."""
    tenant_id: str | None = getattr(request.state, "supportai_tenant_id", None)
    locale = preferred_locale(request.headers.get("accept-language"))
    return await runtime.hooks.user_strings(tenant_id, locale)


async def get_user_strings(
    request: Request,
    caller: Annotated[Caller, Depends(get_caller)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> dict[str, str]:
    return await user_strings_for(runtime, request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
UserStringsDep = Annotated[dict[str, str], Depends(get_user_strings)]
CallerDep = Annotated[Caller, Depends(get_caller)]
AdminDep = Annotated[Caller, Depends(get_admin)]
ConnectionDep = Annotated[Connection, Depends(get_connection)]

#: Path/query ids are bounded so that a huge id is a 422, not a database overflow.
MAX_ID = 2**31 - 1
