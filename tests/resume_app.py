"""App factory for the two-worker resume tests (``uvicorn resume_app:create --factory``).

Configured by the environment like a production worker (``SUPPORTAI_*``: database,
quota store, plugins). The model streams :data:`ANSWER` in :data:`PIECES` pieces with
a short pause between them, so a dropped connection lands mid-answer. The egress
guard is installed in the worker too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import egress_guard

from supportai.app import create_app
from supportai.llm import Finish, TextDelta, Usage
from supportai.settings import Settings
from supportai.testing import HeaderCaller, ScriptedBackend, backend_plugin

PIECES = [f"Step {n}: panel {n}. " for n in range(1, 25)]
ANSWER = "".join(PIECES)
PAUSE_S = 0.012


def _script() -> list[Any]:
    script: list[Any] = []
    for piece in PIECES:
        script += [TextDelta(piece), lambda: asyncio.sleep(PAUSE_S)]
    return [*script, Usage(50, len(ANSWER)), Finish("stop")]


def create() -> Any:
    egress_guard.install()
    backend = ScriptedBackend([_script()])
    return create_app(Settings(), [HeaderCaller(), backend_plugin(backend)], load_entry_points=True)
