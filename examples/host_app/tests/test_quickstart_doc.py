"""docs/quickstart.md's ten-line mount runs as printed, with a stand-in for the host's auth."""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path

import httpx
import pytest
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.requests import HTTPConnection

DOC = Path(__file__).resolve().parents[3] / "docs" / "quickstart.md"


def mount_snippet() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## 2. Mount it in ten lines", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the quickstart lost its mount snippet"
    return match.group(1)


class _User(SimpleUser):
    """A product's user: supportai reads ``tenant_id`` and ``identity``."""

    def __init__(self, tenant_id: str, identity: str) -> None:
        super().__init__(identity)
        self.tenant_id = tenant_id

    @property
    def identity(self) -> str:
        return self.username


class _HeaderAuth(AuthenticationBackend):
    """Stands in for the host's real backend: ``x-user: tenant:user``."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, _User] | None:
        value = conn.headers.get("x-user")
        if not value:
            return None
        tenant, user = value.split(":", 1)
        return AuthCredentials(["authenticated"]), _User(tenant, user)


def test_the_snippet_is_ten_lines_of_code() -> None:
    code = [
        line
        for line in mount_snippet().splitlines()
        if line.strip() and not line.startswith(("import ", "from ", "#"))
    ]
    assert len(code) <= 10, code


async def test_the_snippet_mounts_a_working_app(
    tmp_path: Path, host_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = types.ModuleType("yourproduct")
    auth = types.ModuleType("yourproduct.auth")
    auth.YourAuthBackend = _HeaderAuth  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "yourproduct", package)
    monkeypatch.setitem(sys.modules, "yourproduct.auth", auth)
    os.environ["SUPPORTAI_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'quick.db'}"

    namespace: dict[str, object] = {}
    exec(compile(mount_snippet(), str(DOC), "exec"), namespace)
    app = namespace["app"]
    support = namespace["support"]

    async with app.router.lifespan_context(app):  # type: ignore[attr-defined]
        # The host's lifespan started supportai (connected, migrated) before any request.
        assert support.state.supportai._started  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            anonymous = await client.get("/api/support/ai/conversations")
            assert anonymous.status_code == 401
            created = await client.post(
                "/api/support/ai/conversations", json={}, headers={"x-user": "acme:ann"}
            )
            assert created.status_code == 200
            listed = await client.get(
                "/api/support/ai/conversations", headers={"x-user": "acme:ann"}
            )
            assert [c["conversation_id"] for c in listed.json()["items"]] == [
                created.json()["conversation_id"]
            ]
            other = await client.get(
                "/api/support/ai/conversations", headers={"x-user": "globex:ann"}
            )
            assert other.json()["items"] == []
