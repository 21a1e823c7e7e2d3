"""App factory for the kill -9 scenario (``uvicorn fault_app:create --factory``).

Configured by the environment like ``burst_app``. Its backend sends one delta and
then hangs, so the test can kill the worker in the middle of a turn; the worker
writes its pid to ``$BURST_LOG_DIR/worker.pid`` for the test to ``kill -9``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import egress_guard

from supportai.app import create_app
from supportai.llm import TextDelta
from supportai.settings import Settings
from supportai.testing import HeaderCaller, ScriptedBackend, backend_plugin


async def _hang() -> None:
    await asyncio.Event().wait()


def create() -> Any:
    egress_guard.install()
    Path(os.environ["BURST_LOG_DIR"], "worker.pid").write_text(str(os.getpid()))
    backend = ScriptedBackend([[TextDelta("Working on it"), _hang]])
    return create_app(
        Settings(), [HeaderCaller(), backend_plugin(backend)], load_entry_points=False
    )
