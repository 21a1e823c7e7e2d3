"""Lumen's own tenants and users, in its own SQLite file (never in supportai's tables).

A real product already has these; the example needs just enough of them to show
that supportai takes identity from the host: two tenants, a few users each and
one support admin per tenant, seeded on first start with hashed passwords.

The store uses the standard library's ``sqlite3`` with a short-lived connection
per call: a lookup by primary key costs tens of microseconds, cheaper than
handing it to a thread, so the per-request user lookup runs inline. Password
checks (scrypt, tens of milliseconds by design) are the only slow call and run
in a worker thread (see ``pages.login``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from host_app.passwords import hash_password, verify_password


@dataclass(frozen=True, slots=True)
class Account:
    """One Lumen user as the host knows them."""

    id: int
    tenant_id: str
    handle: str
    email: str
    display_name: str
    is_admin: bool


@dataclass(frozen=True, slots=True)
class SeedUser:
    tenant_id: str
    handle: str
    display_name: str
    is_admin: bool = False

    @property
    def email(self) -> str:
        return f"{self.handle}@{self.tenant_id}.example"


TENANTS: dict[str, str] = {"acme": "Acme Rockets", "globex": "Globex Corporation"}

DEMO_USERS: tuple[SeedUser, ...] = (
    SeedUser("acme", "alice", "Alice Anders"),
    SeedUser("acme", "bob", "Bob Brandt"),
    SeedUser("acme", "carol", "Carol Chen", is_admin=True),
    SeedUser("globex", "dave", "Dave Dorsey"),
    SeedUser("globex", "erin", "Erin Eze", is_admin=True),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS host_tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS host_users (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES host_tenants(id),
    handle TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, handle)
);
"""

_COLUMNS = "id, tenant_id, handle, email, display_name, is_admin"


def _account(row: tuple[object, ...]) -> Account:
    id_, tenant_id, handle, email, display_name, is_admin = row
    return Account(
        id=int(str(id_)),
        tenant_id=str(tenant_id),
        handle=str(handle),
        email=str(email),
        display_name=str(display_name),
        is_admin=bool(is_admin),
    )


class UserStore:
    """Tenants and users of the host product."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=5)
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            with conn:  # commit on success, roll back on error
                yield conn
        finally:
            conn.close()

    def setup(self, demo_password: str) -> list[SeedUser]:
        """Create the tables and, on first start only, seed the demo tenants and users."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(SCHEMA)
            if conn.execute("SELECT COUNT(*) FROM host_users").fetchone()[0]:
                return []
            conn.executemany(
                "INSERT OR IGNORE INTO host_tenants (id, name) VALUES (?, ?)", TENANTS.items()
            )
            now = datetime.now(UTC).isoformat()
            hashes = [hash_password(demo_password) for _ in DEMO_USERS]
            conn.executemany(
                "INSERT INTO host_users (tenant_id, handle, email, display_name, password_hash,"
                " is_admin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (u.tenant_id, u.handle, u.email, u.display_name, h, int(u.is_admin), now)
                    for u, h in zip(DEMO_USERS, hashes, strict=True)
                ],
            )
        return list(DEMO_USERS)

    def get(self, user_id: int) -> Account | None:
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM host_users WHERE id = ?", (user_id,)
            ).fetchone()
        return _account(row) if row else None

    def authenticate(self, email: str, password: str) -> Account | None:
        """The account if ``password`` is right; ``None`` otherwise (same cost either way)."""
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS}, password_hash FROM host_users WHERE email = ?",
                (email.strip().lower(),),
            ).fetchone()
        if row is None:
            # Spend the same time as a real check so that timing does not reveal
            # which e-mail addresses have accounts.
            verify_password(password, _dummy_hash())
            return None
        if not verify_password(password, str(row[-1])):
            return None
        return _account(row[:-1])

    def tenant_name(self, tenant_id: str) -> str:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT name FROM host_tenants WHERE id = ?", (tenant_id,)
            ).fetchone()
        return str(row[0]) if row else tenant_id


@cache
def _dummy_hash() -> str:
    return hash_password("not a real password")
