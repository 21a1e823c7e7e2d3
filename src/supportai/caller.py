"""Who is calling: the host authenticates, supportai only asks.

The default resolver reads Starlette's ``request.user`` (set by the host's
``AuthenticationMiddleware``) and ``request.auth.scopes``. Hosts with another
auth scheme implement ``supportai_resolve_caller`` in a plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from supportai.hookspecs import hookimpl


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated user of the host product, inside one tenant."""

    tenant_id: str
    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, role: str) -> bool:
        return role in self.roles


class DefaultCallerResolver:
    """Built-in ``trylast`` resolver: any installed plugin can take over."""

    @hookimpl(trylast=True)
    def supportai_resolve_caller(self, request: Request) -> Caller | None:
        if "user" not in request.scope:
            return None
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return None
        tenant_id = getattr(user, "tenant_id", None)
        user_id = getattr(user, "identity", None) or getattr(user, "user_id", None)
        if not tenant_id or not user_id:
            return None
        scopes = getattr(request.auth, "scopes", ()) if "auth" in request.scope else ()
        return Caller(tenant_id=str(tenant_id), user_id=str(user_id), roles=frozenset(scopes))
