"""The Lumen ASGI app: the host's routes and middleware around supportai's mounted app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

import supportai
from host_app.analytics import routes as analytics_routes
from host_app.auth import SessionBackend
from host_app.config import MOUNT_PATH, HostConfig, apply_supportai_defaults
from host_app.knowledge import seed_help_center
from host_app.pages import routes
from host_app.users import TENANTS, UserStore

STATIC = Path(__file__).resolve().parent / "static"


def prepare_data_dir(folder: Path) -> None:
    """Create the data folder with a ``.gitignore`` of ``*``: it holds databases and the
    session secret, which must never be committed by someone running from a checkout."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# created by host-app: local data, never commit\n*\n", encoding="utf-8")


def create_host_app(
    config: HostConfig | None = None,
    *,
    support_settings: supportai.Settings | None = None,
    plugins: tuple[object, ...] = (),
) -> Starlette:
    """Build Lumen with supportai mounted at ``/api/support/ai``.

    ``support_settings`` defaults to ``supportai.Settings()`` read from the
    environment after Lumen's defaults were filled in (see ``config.py``);
    ``plugins`` are handed to ``supportai.create_app`` (tests use it).
    """
    config = config or HostConfig()
    prepare_data_dir(config.data_dir)
    apply_supportai_defaults(config)
    support = supportai.create_app(
        support_settings if support_settings is not None else supportai.Settings(),
        plugins,
    )
    users = UserStore(config.users_db)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # Seeding hashes five passwords (scrypt): keep it off the event loop.
        seeded = await anyio.to_thread.run_sync(
            users.setup, config.demo_password.get_secret_value()
        )
        app.state.seeded = seeded
        # Starlette does not run a mounted app's lifespan: compose supportai's
        # into ours so that it connects and migrates before the first request.
        async with support.router.lifespan_context(support):
            app.state.help_center_seeded = await seed_help_center(
                support.state.supportai.database, config.articles_dir, TENANTS
            )
            yield {}

    app = Starlette(
        routes=[
            *routes,
            *analytics_routes,
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Mount(MOUNT_PATH, app=support, name="supportai"),
        ],
        middleware=[
            # Outermost first: the session must be decoded before authentication reads it.
            Middleware(
                SessionMiddleware,
                secret_key=config.session_secret(),
                session_cookie="lumen_session",
                max_age=config.session_max_age_s,
                same_site="lax",
                https_only=config.https_only,
            ),
            Middleware(AuthenticationMiddleware, backend=SessionBackend(users)),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.users = users
    app.state.support = support
    return app
