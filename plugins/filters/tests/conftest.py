"""Shared fixtures: a clean environment for the plugin's settings."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_filter_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their own settings; a developer's SUPPORTAI_PII_* must not leak in."""
    for name in list(os.environ):
        if name.upper().startswith(("SUPPORTAI_PII_", "SUPPORTAI_GUARDRAILS_")):
            monkeypatch.delenv(name)
