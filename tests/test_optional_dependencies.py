"""supportai on SQLite runs without its optional PostgreSQL driver installed.

``asyncpg`` comes with ``supportai[postgresql]`` only; the README's quick start
installs ``supportai`` without it. A module that imports ``databases``'
PostgreSQL backend at import time breaks that install (it did once, in the
statement cache). The check runs in a fresh interpreter where ``asyncpg`` cannot
be imported, and serves a turn's worth of storage calls.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys

    class NoAsyncpg:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "asyncpg":
                raise ImportError("asyncpg is not installed (blocked by the test)")
            return None

    sys.meta_path.insert(0, NoAsyncpg())

    import httpx
    from supportai import Settings, create_app
    from supportai.testing import HeaderCaller, ScriptedBackend, as_user, backend_plugin
    from supportai.testing import count_queries

    async def main(url):
        backend = ScriptedBackend([ScriptedBackend.answer("Hello.")])
        app = create_app(
            Settings(database_url=url, disclosure_required=False, llm_backend="scripted"),
            [HeaderCaller(), backend_plugin(backend)],
        )
        await app.state.supportai.start()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            cid = (await client.post("/conversations", headers=as_user())).json()[
                "conversation_id"
            ]
            with count_queries() as counted:
                turn = await client.post(
                    f"/conversations/{cid}/messages", json={"content": "hi"}, headers=as_user()
                )
        await app.state.supportai.stop()
        assert turn.json()["content"] == "Hello.", turn.text
        assert counted.transactions >= 3, vars(counted)  # counting works without asyncpg
        assert "asyncpg" not in sys.modules
        print("served")

    asyncio.run(main(sys.argv[1]))
    """
)


def test_sqlite_deployments_need_no_postgresql_driver(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("served")
