"""supportai: an AI support assistant your users can trust, as one mountable ASGI app.

``import supportai`` is kept cheap (it imports nothing heavy); the names below
load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from supportai.app import create_app
    from supportai.caller import Caller
    from supportai.hookspecs import hookimpl
    from supportai.settings import Settings

_LAZY = {
    "create_app": "supportai.app",
    "Caller": "supportai.caller",
    "hookimpl": "supportai.hookspecs",
    "Settings": "supportai.settings",
}

__all__ = ["Caller", "Settings", "__version__", "create_app", "hookimpl"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'supportai' has no attribute {name!r}")
