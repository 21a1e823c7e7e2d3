"""Which database a ``supportai`` command uses: named on stderr, never created by accident.

A command run in the wrong shell (no ``SUPPORTAI_DATABASE_URL``) used to open the
default ``./supportai.db``, create it empty as a side effect, and then give advice
about that empty file. Every command that reads a database now says which one it
opened and where the URL came from, and only ``db upgrade``, whose job it is,
may create one.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url

from supportai.errors import ConfigurationError

ENV = "SUPPORTAI_DATABASE_URL"


@dataclass(frozen=True)
class DatabaseChoice:
    url: str
    source: str
    """Where the URL came from: the option, the environment variable, or the default."""

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file this URL opens, or ``None`` (another engine, in-memory)."""
        parsed = make_url(self.url)
        if not parsed.get_backend_name().startswith("sqlite"):
            return None
        name = parsed.database or ""
        if name in ("", ":memory:") or parsed.query.get("mode") == "memory":
            return None
        return Path(name).expanduser().resolve()

    def describe(self) -> str:
        """The URL as a person checks it: an absolute path, or the URL without password."""
        path = self.sqlite_file
        if path is not None:
            return f"SQLite {path}"
        return make_url(self.url).render_as_string(hide_password=True)

    def announce(self, stream: TextIO | None = None) -> None:
        print(f"supportai: database {self.describe()} ({self.source})", file=stream or sys.stderr)

    def require_existing(self) -> None:
        """Refuse to go on when the SQLite file is missing, instead of creating it."""
        path = self.sqlite_file
        if path is not None and not path.exists():
            raise ConfigurationError(
                f"no database at {path} ({self.source}); nothing was created. "
                f"Set {ENV} or pass --database-url to the database your app uses."
            )


def choose_database(args: argparse.Namespace) -> DatabaseChoice:
    """The URL from ``--database-url``, else ``SUPPORTAI_DATABASE_URL``, else the default."""
    from supportai.settings import Settings

    explicit = getattr(args, "database_url", None)
    if explicit:
        return DatabaseChoice(explicit, "from --database-url")
    url = Settings().database_url
    if os.environ.get(ENV):
        return DatabaseChoice(url, f"from {ENV}")
    return DatabaseChoice(url, f"the default: {ENV} is not set")
