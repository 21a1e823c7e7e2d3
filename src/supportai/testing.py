"""A pytest plugin for supportai and its plugin authors (``pytest11`` entry point).

Fixtures:

* ``supportai_settings`` - :class:`~supportai.Settings` on a fresh SQLite file;
* ``supportai_app`` - a factory ``(settings=None, plugins=(), **overrides) -> app``
  that registers :class:`HeaderCaller` so tests choose the caller with headers,
  and stops every app it built at teardown;
* ``supportai_client`` - a factory returning an ``httpx.AsyncClient`` bound to an
  app through ASGI (no sockets), with :func:`as_user` headers.

Helpers: :class:`ScriptedBackend` (an LLM backend that plays a script),
:func:`plugin` (register hook functions for one test), :func:`postgres_url`
(a throw-away PostgreSQL database, skipped without a server unless ``CI=true``).

Entry points installed in the environment are **not** loaded by these apps
unless asked (``load_entry_points=True``): a core test must not change because
a plugin happens to be installed next to it.

The async fixtures are declared with ``pytest_asyncio.fixture``, so they work in
pytest-asyncio's default *strict* mode as well as with ``asyncio_mode = "auto"``
(with plain ``pytest.fixture`` strict mode refuses them: "requested an async
fixture ... with no plugin or hook that handled it"). In strict mode mark the
tests themselves (``pytestmark = pytest.mark.asyncio``). ``pip install
"supportai[testing]"`` brings pytest, pytest-asyncio and httpx.
"""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import pytest

if TYPE_CHECKING:
    import httpx
    from starlette.requests import Request

    from supportai.caller import Caller
    from supportai.llm import BackendEvent, BackendRequest
    from supportai.settings import Settings

from supportai.hookspecs import hookimpl

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - supportai[testing] installs it
    pytest_asyncio = None  # type: ignore[assignment]

TENANT_HEADER = "x-test-tenant"
USER_HEADER = "x-test-user"
ROLES_HEADER = "x-test-roles"


def as_user(tenant: str = "t1", user: str = "u1", roles: Sequence[str] = ()) -> dict[str, str]:
    """Headers that make :class:`HeaderCaller` resolve this caller."""
    headers = {TENANT_HEADER: tenant, USER_HEADER: user}
    if roles:
        headers[ROLES_HEADER] = ",".join(roles)
    return headers


def as_admin(tenant: str = "t1", user: str = "admin1") -> dict[str, str]:
    return as_user(tenant, user, roles=("support_ai_admin",))


class HeaderCaller:
    """Test-only caller resolver: identity from ``x-test-*`` headers. Never in production."""

    @hookimpl(tryfirst=True)
    def supportai_resolve_caller(self, request: Request) -> Caller | None:
        from supportai.caller import Caller

        tenant = request.headers.get(TENANT_HEADER)
        user = request.headers.get(USER_HEADER)
        if not tenant or not user:
            return None
        roles = request.headers.get(ROLES_HEADER, "")
        return Caller(tenant, user, frozenset(r for r in roles.split(",") if r))


class ScriptedBackend:
    """An LLM backend that plays scripted rounds of events.

    ``rounds`` is a list of event lists, one per backend call (a tool round is
    one call). Each element is a :data:`~supportai.llm.BackendEvent`, an
    ``Exception`` to raise at that point, or an awaitable factory
    (``lambda: event.wait()``) to pause on. Requests are recorded in
    ``requests`` so tests can assert what the model was sent.
    """

    name = "scripted"

    def __init__(self, rounds: Sequence[Sequence[Any]], model: str = "scripted-model") -> None:
        self.rounds = [list(r) for r in rounds]
        self.model = model
        self.requests: list[BackendRequest] = []

    async def stream(self, request: BackendRequest) -> AsyncIterator[BackendEvent]:
        index = len(self.requests)
        self.requests.append(request)
        script = self.rounds[min(index, len(self.rounds) - 1)]
        for item in script:
            if isinstance(item, BaseException):
                raise item
            if callable(item):
                await item()
                continue
            yield item

    @staticmethod
    def answer(text: str, pieces: int = 1, usage: tuple[int, int] = (10, 20)) -> list[Any]:
        """A round that streams ``text`` in ``pieces`` deltas, then usage and stop."""
        from supportai.llm import Finish, TextDelta, Usage

        size = max(len(text) // pieces, 1)
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        return [*(TextDelta(c) for c in chunks), Usage(*usage), Finish("stop")]


def plugin(**hooks: Callable[..., Any]) -> object:
    """Make a plugin object from hook functions: ``plugin(supportai_master_flag=f)``."""
    namespace = {name: staticmethod(hookimpl(function)) for name, function in hooks.items()}
    return type("TestPlugin", (), namespace)()


def backend_plugin(backend: Any, name: str = "scripted") -> object:
    """A plugin registering ``backend`` under ``name``."""

    def supportai_register_llm_backends(register: Callable[[str, Any], None]) -> None:
        register(name, lambda context: backend)

    return plugin(supportai_register_llm_backends=supportai_register_llm_backends)


def _services_required() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, reason: str) -> NoReturn:
    """Skip (on a laptop) or fail (with ``CI=true``) when a service is missing."""
    message = f"{name} is not reachable: {reason}"
    if _services_required():
        pytest.fail(f"{message} (CI=true: tests needing {name} must run)")
    pytest.skip(message)


POSTGRES_ADMIN_URL = os.environ.get(
    "SUPPORTAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def postgres_url() -> Iterator[str]:
    """Create a uniquely named PostgreSQL database; yield its URL; drop it afterwards."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        require_service(
            "PostgreSQL", "asyncpg is not installed (pip install supportai[postgresql])"
        )
    name = f"supportai_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError) as exc:
        require_service("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {exc}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def supportai_settings(tmp_path: Path) -> Settings:
    from supportai.settings import Settings

    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'supportai.db'}",
        disclosure_required=False,
    )


AppFactory = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])


def _async_fixture(function: F) -> F:
    """``pytest_asyncio.fixture`` when pytest-asyncio is installed (any mode), else a
    fixture that says what to install instead of pytest's puzzling error."""
    if pytest_asyncio is not None:
        return cast(F, pytest_asyncio.fixture(function))

    @functools.wraps(function)
    def missing(*args: Any, **kwargs: Any) -> Any:
        pytest.fail(
            f"the {function.__name__} fixture needs pytest-asyncio: "
            'pip install "supportai[testing]"'
        )

    return cast(F, pytest.fixture(missing))


@_async_fixture
async def supportai_app(supportai_settings: Settings) -> AsyncIterator[AppFactory]:
    from supportai.app import create_app

    built: list[Any] = []

    def factory(
        settings: Settings | None = None,
        plugins: Sequence[object] = (),
        *,
        load_entry_points: bool = False,
        **overrides: Any,
    ) -> Any:
        base = settings or supportai_settings
        if overrides:
            base = base.model_copy(update=overrides)
        app = create_app(base, [HeaderCaller(), *plugins], load_entry_points=load_entry_points)
        built.append(app)
        return app

    yield factory
    for app in built:
        await app.state.supportai.stop()


@_async_fixture
async def supportai_client() -> AsyncIterator[Callable[[Any], httpx.AsyncClient]]:
    import httpx

    clients: list[httpx.AsyncClient] = []

    def factory(app: Any) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse an SSE body into ``(event, data)`` pairs (comments skipped)."""
    import json

    events = []
    for block in body.split("\n\n"):
        name, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if name is not None and data is not None:
            events.append((name, data))
    return events


Waiter = Callable[[], Awaitable[Any]]


class QueryCounter:
    """Counts database round-trips and transactions while active (see :func:`count_queries`)."""

    def __init__(self) -> None:
        self.statements = 0
        self.writes = 0
        self.transactions = 0

    def reset(self) -> None:
        self.statements = self.writes = self.transactions = 0


WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE")


def count_queries() -> Any:
    """Context manager patching ``databases``' backends to count what reaches the database.

    ``statements`` counts round-trips, ``writes`` the INSERT/UPDATE/DELETE among
    them, ``transactions`` the explicit transactions opened. Used by the
    queries-per-turn tests and benchmark (no N+1, few write transactions).
    """
    from contextlib import contextmanager

    from databases import core
    from databases.backends import sqlite

    @contextmanager
    def patched() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        originals: list[tuple[Any, str, Any]] = []

        def wrap(owner: Any, name: str, transaction: bool = False) -> None:
            original = getattr(owner, name)
            originals.append((owner, name, original))

            async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
                if transaction:
                    counter.transactions += 1
                else:
                    counter.statements += 1
                    sql = str(args[0]).lstrip().upper() if args else ""
                    if sql.startswith(WRITE_PREFIXES):
                        counter.writes += 1
                return await original(self, *args, **kwargs)

            setattr(owner, name, counted)

        # Statements are counted where every call passes (``databases.core.Connection``),
        # so backends that override the driver calls (store/compiled.py) are counted too.
        for method in ("fetch_all", "fetch_one", "fetch_val", "execute", "execute_many"):
            wrap(core.Connection, method)
        wrap(sqlite.SQLiteTransaction, "start", transaction=True)
        try:  # asyncpg is optional (supportai[postgresql])
            from databases.backends import postgres
        except ImportError:
            pass
        else:
            wrap(postgres.PostgresTransaction, "start", transaction=True)
        try:
            yield counter
        finally:
            for owner, name, original in reversed(originals):
                setattr(owner, name, original)

    return patched()
