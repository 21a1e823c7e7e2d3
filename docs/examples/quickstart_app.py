"""The quickstart's host app: supportai mounted at /api/support/ai behind a demo sign-in.

Run it with ``uvicorn --app-dir docs/examples quickstart_app:app`` (docs/quickstart.md).

``DemoHeaderAuth`` believes an ``X-Demo-User: tenant:user`` header. That is enough to try
supportai on your laptop and must never face the internet, where anyone can send any
header. In your product, keep the authentication you already have (a session cookie, a JWT)
and let it set ``request.user`` with ``tenant_id`` and ``identity``.
"""

from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.routing import Mount

import supportai


class DemoUser(BaseUser):
    """A signed-in user: supportai reads ``tenant_id`` and ``identity``."""

    def __init__(self, tenant_id: str, identity: str) -> None:
        self.tenant_id = tenant_id
        self._identity = identity

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self._identity

    @property
    def identity(self) -> str:
        return self._identity


class DemoHeaderAuth(AuthenticationBackend):
    """``X-Demo-User: acme:ann`` signs in user ``ann`` of tenant ``acme``. Demo only."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, DemoUser] | None:
        tenant, _, user = conn.headers.get("x-demo-user", "").partition(":")
        if not tenant or not user:
            return None  # anonymous: supportai answers 401
        return AuthCredentials(["authenticated"]), DemoUser(tenant, user)


support = supportai.create_app()  # settings come from SUPPORTAI_* environment variables
app = Starlette(
    routes=[Mount("/api/support/ai", app=support)],
    middleware=[Middleware(AuthenticationMiddleware, backend=DemoHeaderAuth())],
    lifespan=lambda app: support.router.lifespan_context(support),
)
