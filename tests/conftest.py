"""Core test fixtures: every API test runs on SQLite and on a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from supportai.settings import Settings
from supportai.testing import postgres_url

# Fails any test that tries to connect to a non-loopback address (docs/security.md),
# and prints the reliability suite's summary at the end of the run.
pytest_plugins = ["egress_guard"]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(engine: str, tmp_path: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'supportai.db'}"
    else:
        yield from postgres_url()


@pytest.fixture
def supportai_settings(database_url: str) -> Settings:
    """Overrides the plugin's fixture: same defaults, on both engines, migrated at start."""
    # A day-long rate window: a test that reads "turns used" must not straddle the
    # boundary of a 60 s window (tests about windows set their own).
    return Settings(
        database_url=database_url,
        disclosure_required=False,
        auto_migrate=True,
        rate_limit_window_s=86_400,
    )
