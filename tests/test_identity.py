"""Identity through a real host: Starlette's AuthenticationMiddleware and the default resolver.

The other API tests choose the caller with test headers (``HeaderCaller``).
These tests use no test resolver at all: a tiny host app authenticates with
its own ``AuthenticationBackend`` (users carrying ``tenant_id`` and
``identity``, scopes in ``AuthCredentials``) and mounts ``create_app`` at
``/api/support/ai``, the way DESIGN.md tells hosts to. Covered: no caller is a
401, an authenticated user works and is scoped, the admin role comes from the
scopes, and the sub-app starts lazily when the host's lifespan does not run
it (Starlette never runs a mounted app's lifespan) or eagerly when composed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    BaseUser,
    SimpleUser,
)
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.routing import Mount

from supportai import create_app
from supportai.settings import Settings

PREFIX = "/api/support/ai"


class HostUser(SimpleUser):
    """A host's user: Starlette's user plus the tenant it belongs to."""

    def __init__(self, tenant_id: str, user_id: str) -> None:
        super().__init__(user_id)
        self.tenant_id = tenant_id


class LegacyUser(BaseUser):
    """A user class that names its id ``user_id`` and leaves ``identity`` unimplemented."""

    def __init__(self, tenant_id: str, user_id: str) -> None:
        self.tenant_id = tenant_id
        self.user_id = user_id

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.user_id


class TokenAuth(AuthenticationBackend):
    """``Authorization: Bearer <kind>:<tenant>:<user>[:scope...]``; no header, no user."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if not header:
            return None
        kind, tenant, user, *scopes = header.removeprefix("Bearer ").split(":")
        users: dict[str, Callable[[], BaseUser]] = {
            "host": lambda: HostUser(tenant, user),
            "plain": lambda: SimpleUser(user),  # authenticated, but no tenant
            "legacy": lambda: LegacyUser(tenant, user),
        }
        return AuthCredentials(["authenticated", *scopes]), users[kind]()


def bearer(
    tenant: str = "t1", user: str = "alice", *scopes: str, kind: str = "host"
) -> dict[str, str]:
    return {"authorization": "Bearer " + ":".join([kind, tenant, user, *scopes])}


ME = bearer("t1", "alice")
NEIGHBOUR = bearer("t1", "bob")
STRANGER = bearer("t2", "alice")


@asynccontextmanager
async def _host_lifespan_only(app: Starlette) -> AsyncIterator[None]:
    """A host with start-up work of its own that does not know about supportai."""
    app.state.host_started = True
    yield


def _host(
    support: Any,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]],
    *,
    auth: bool = True,
) -> Starlette:
    middleware = [Middleware(AuthenticationMiddleware, backend=TokenAuth())] if auth else []
    return Starlette(routes=[Mount(PREFIX, app=support)], middleware=middleware, lifespan=lifespan)


@pytest.fixture
async def support(supportai_settings: Settings) -> AsyncIterator[Any]:
    """The real app: default resolver only (no test headers), on the engine under test."""
    app = create_app(supportai_settings, load_entry_points=False)
    yield app
    await app.state.supportai.stop()


def _client(host: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://host")


async def test_lazy_start_401_and_scoped_callers(support):
    host = _host(support, _host_lifespan_only)
    runtime = support.state.supportai
    async with host.router.lifespan_context(host), _client(host) as client:
        assert host.state.host_started is True
        assert runtime.database.connected is False  # the host's lifespan did not start us

        # A cold start hit by many requests at once starts (and migrates) exactly once.
        first = await asyncio.gather(
            *(client.get(f"{PREFIX}/conversations", headers=ME) for _ in range(8))
        )
        assert [r.status_code for r in first] == [200] * 8, [r.text for r in first]
        assert runtime.database.connected is True

        anonymous = await client.get(f"{PREFIX}/conversations")
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.json()["reason"] == "unauthenticated"
        no_tenant = await client.get(
            f"{PREFIX}/conversations", headers=bearer("t1", "carol", kind="plain")
        )
        assert no_tenant.status_code == 401, no_tenant.text

        created = await client.post(f"{PREFIX}/conversations", json={"title": "hello"}, headers=ME)
        assert created.status_code == 200, created.text
        cid = created.json()["conversation_id"]
        mine = await client.get(f"{PREFIX}/conversations/{cid}", headers=ME)
        assert mine.status_code == 200 and mine.json()["title"] == "hello"
        for headers in (NEIGHBOUR, STRANGER):
            other = await client.get(f"{PREFIX}/conversations/{cid}", headers=headers)
            assert other.status_code == 404, other.text
            listed = await client.get(f"{PREFIX}/conversations", headers=headers)
            assert listed.json()["items"] == []


async def test_admin_role_comes_from_the_auth_scopes(support):
    host = _host(support, _host_lifespan_only)
    async with host.router.lifespan_context(host), _client(host) as client:
        for headers, subject in ((ME, "t1 case"), (STRANGER, "t2 case")):
            case = await client.post(
                f"{PREFIX}/cases", headers=headers, json={"subject": subject, "description": "d"}
            )
            assert case.status_code == 200, case.text

        user = await client.get(f"{PREFIX}/admin/cases", headers=ME)
        assert user.status_code == 403, user.text
        assert user.json()["reason"] == "forbidden"
        other_scope = await client.get(
            f"{PREFIX}/admin/cases", headers=bearer("t1", "dave", "support_ai_reader")
        )
        assert other_scope.status_code == 403, other_scope.text

        admin = await client.get(
            f"{PREFIX}/admin/cases", headers=bearer("t1", "root", "support_ai_admin")
        )
        assert admin.status_code == 200, admin.text
        # An admin sees the tenant's cases, and only that tenant's.
        assert [c["subject"] for c in admin.json()["items"]] == ["t1 case"]

        anonymous = await client.get(f"{PREFIX}/admin/cases")
        assert anonymous.status_code == 401, anonymous.text


async def test_composed_lifespan_starts_before_the_first_request(support):
    @asynccontextmanager
    async def composed(app: Starlette) -> AsyncIterator[None]:
        async with support.router.lifespan_context(support):
            yield

    host = _host(support, composed)
    runtime = support.state.supportai
    async with host.router.lifespan_context(host):
        assert runtime.database.connected is True  # ready before any traffic
        async with _client(host) as client:
            response = await client.get(f"{PREFIX}/disclosure/status", headers=ME)
            assert response.status_code == 200, response.text
    assert runtime.database.connected is False  # the host's shutdown stopped us too


async def test_host_without_authentication_middleware_gets_401_not_500(support):
    host = _host(support, _host_lifespan_only, auth=False)
    async with host.router.lifespan_context(host), _client(host) as client:
        response = await client.get(f"{PREFIX}/cases", headers=ME)
        assert response.status_code == 401, response.text
        assert response.json()["reason"] == "unauthenticated"


async def test_user_class_with_user_id_but_no_identity(support):
    host = _host(support, _host_lifespan_only)
    async with host.router.lifespan_context(host), _client(host) as client:
        response = await client.get(
            f"{PREFIX}/conversations", headers=bearer("t1", "erin", kind="legacy")
        )
        assert response.status_code == 200, response.text
