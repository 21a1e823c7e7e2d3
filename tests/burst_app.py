"""App factory for the two-worker overspend bursts (``uvicorn burst_app:create --factory``).

Configured entirely by the environment, like a production worker: core settings from
``SUPPORTAI_*`` (database, quota store, caps, plugins allow-list), plus
``BURST_INPUT_TOKENS``/``BURST_OUTPUT_TOKENS``, the usage the model reports for each
answer. The egress guard is installed in the worker too: a worker that tried to
reach the network would fail its turns instead of passing silently.
"""

from __future__ import annotations

import os
from typing import Any

import egress_guard

from supportai.app import create_app
from supportai.llm import Finish, TextDelta, Usage
from supportai.settings import Settings
from supportai.testing import HeaderCaller, ScriptedBackend, backend_plugin


def create() -> Any:
    egress_guard.install()
    usage = Usage(int(os.environ["BURST_INPUT_TOKENS"]), int(os.environ["BURST_OUTPUT_TOKENS"]))
    backend = ScriptedBackend([[TextDelta("Open Settings, then Export."), usage, Finish("stop")]])
    return create_app(Settings(), [HeaderCaller(), backend_plugin(backend)], load_entry_points=True)
