"""Fixtures of the host app's tests (the helpers they use are in ``host_app_testing``).

Every app here gets its own data folder and a clean ``SUPPORTAI_*`` / ``HOST_APP_*``
environment (the host writes its supportai defaults into ``os.environ``, and the
developer's shell may have some set), restored afterwards.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from host_app import create_host_app
from host_app_testing import clean_environment, make_config
from starlette.applications import Starlette


@pytest.fixture
def host_env() -> Iterator[None]:
    with clean_environment():
        yield


@pytest.fixture(scope="session")
def seeded_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after one first start (users seeded, supportai migrated), made once.

    Each test starts from a copy: seeding hashes five passwords with scrypt on
    purpose slowly, and the tests that check seeding itself start from empty.
    """
    import asyncio

    folder = tmp_path_factory.mktemp("seeded") / "data"

    async def first_start() -> None:
        app = create_host_app(make_config(folder))
        async with app.router.lifespan_context(app):
            pass

    with clean_environment():
        asyncio.run(first_start())
    return folder


@pytest.fixture
async def host_app(tmp_path: Path, host_env: None, seeded_data: Path) -> AsyncIterator[Starlette]:
    """The app with its lifespan running, on a copy of the seeded data folder."""
    data = tmp_path / "data"
    shutil.copytree(seeded_data, data)
    app = create_host_app(make_config(data))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(host_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=host_app), base_url="http://lumen.test"
    ) as http:
        yield http
