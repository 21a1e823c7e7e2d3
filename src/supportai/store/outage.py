"""Telling "the database is unreachable" apart from a bug, and saying so to clients.

A database outage must reach clients as a typed, retryable ``503
storage_unavailable`` with ``Retry-After`` (issue 13), never as a 500 whose
text names an internal address. The drivers report an outage in many shapes
(an ``OSError`` from the socket, asyncpg's connection errors, SQLite failing
to open its file), so :func:`is_outage` recognises them in one place and
:meth:`supportai.store.database.Database.connection` turns them into
:class:`StorageUnavailable`, which every endpoint answers like any other
typed error. The driver's text goes to the log only.
"""

from __future__ import annotations

import sqlite3

from supportai.errors import Reason, SupportAIError

#: What ``Retry-After`` says: a restart or failover takes seconds, not minutes.
RETRY_AFTER_S = 5

#: asyncpg's connection-level errors, by class name (asyncpg is an optional import).
_ASYNCPG_OUTAGES = frozenset(
    {
        "PostgresConnectionError",
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "OperatorInterventionError",
        "AdminShutdownError",
        "CrashShutdownError",
        "TooManyConnectionsError",
        "ConnectionRejectionError",
        # A pooled connection whose server went away while it sat idle (pg_terminate_backend,
        # a restart): the server's last error puts asyncpg's protocol in a state it never
        # leaves, and the next statement on it fails with this, not with a connection error.
        "InternalClientError",
    }
)

#: SQLite failures that are the file system's, not the statement's.
_SQLITE_OUTAGES = ("unable to open", "disk i/o error", "readonly database", "database is locked")


class StorageUnavailable(SupportAIError):
    """The app database could not be reached in time: 503, retry later, nothing half-written."""

    def __init__(self) -> None:
        super().__init__(
            Reason.storage_unavailable,
            "the support database is unavailable right now; please retry shortly",
            retry_after_s=RETRY_AFTER_S,
        )


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database (or the way to it) is down, not a bad statement."""
    if isinstance(exc, StorageUnavailable):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(marker in text for marker in _SQLITE_OUTAGES)
    if isinstance(exc, OSError):  # refused, reset, unreachable, timed out (TimeoutError)
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _ASYNCPG_OUTAGES:
        return True
    # asyncpg raises InterfaceError("connection is closed") on a connection the server dropped
    return "InterfaceError" in names and "closed" in str(exc)
