"""The committed OpenAPI snapshot (``docs/openapi-snapshot.json``) and how it is made.

The snapshot is the core app without any plugin, with paths as mounted at
``/api/support/ai``, so the generated API reference reads like the contract.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

MOUNT = "/api/support/ai"


def document() -> dict[str, Any]:
    from supportai.app import create_app
    from supportai.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            Settings(database_url=f"sqlite+aiosqlite:///{folder}/openapi.db"),
            load_entry_points=False,
        )
        doc: dict[str, Any] = app.openapi()
    doc["paths"] = {MOUNT + path: item for path, item in doc["paths"].items()}
    return doc


def snapshot() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"
