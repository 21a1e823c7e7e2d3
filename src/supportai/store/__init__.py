"""Persistence: tables, migrations and the queries of each concern."""

from supportai.store.database import Database

__all__ = ["Database"]
