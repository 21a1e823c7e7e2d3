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
        if not _attribute(user, "is_authenticated"):
            return None
        tenant_id = _attribute(user, "tenant_id")
        user_id = _attribute(user, "identity") or _attribute(user, "user_id")
        if not tenant_id or not user_id:
            return None
        scopes = getattr(request.auth, "scopes", ()) if "auth" in request.scope else ()
        return Caller(tenant_id=str(tenant_id), user_id=str(user_id), roles=frozenset(scopes))


def _attribute(user: object, name: str) -> object:
    """``getattr`` that treats Starlette's abstract ``BaseUser`` properties as missing.

    ``BaseUser.identity`` raises ``NotImplementedError`` in user classes that do not
    define it; such a user simply has no identity for us, not a server error.
    """
    try:
        return getattr(user, name, None)
    except NotImplementedError:
        return None
