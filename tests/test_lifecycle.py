"""A host that never runs supportai's shutdown can still exit (pooled SQLite threads)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_process_exits_without_stop(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio
        from supportai import Settings, create_app

        app = create_app(Settings(database_url="sqlite+aiosqlite:///{tmp_path}/x.db"),
                         load_entry_points=False)

        async def main():
            runtime = app.state.supportai
            await runtime.start()
            async with runtime.database.connection() as conn:
                await conn.fetch_val("SELECT 1")

        asyncio.run(main())
        print("done")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
