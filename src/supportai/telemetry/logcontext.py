"""Request, tenant, conversation and turn ids on every log record.

Core sets context variables as a request goes through it (the request id in
:class:`~supportai.telemetry.middleware.RequestContext`, the tenant when the caller
is resolved, the conversation and turn in the pipeline); :func:`install` wraps
the logging record factory once per process so that *every* record, whoever logs
it, carries them as ``request_id``, ``tenant_id``, ``conversation_id`` and
``turn_id`` attributes (``"-"`` outside a request). A format string such as
``"%(asctime)s %(request_id)s %(tenant_id)s %(message)s"`` shows them.

Context variables follow asyncio tasks (a task copies them when created), so the
answer's producer task logs with the ids of the request that started it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

UNSET = "-"

request_id: ContextVar[str] = ContextVar("supportai_request_id", default=UNSET)
tenant_id: ContextVar[str] = ContextVar("supportai_tenant_id", default=UNSET)
conversation_id: ContextVar[str] = ContextVar("supportai_conversation_id", default=UNSET)
turn_id: ContextVar[str] = ContextVar("supportai_turn_id", default=UNSET)

FIELDS = {
    "request_id": request_id,
    "tenant_id": tenant_id,
    "conversation_id": conversation_id,
    "turn_id": turn_id,
}


class ContextFilter(logging.Filter):
    """Adds the ids to records (for a host that prefers a handler filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        stamp(record)
        return True


def stamp(record: logging.LogRecord) -> None:
    """Set the four id attributes on ``record`` unless the caller already passed them."""
    for name, variable in FIELDS.items():
        if not hasattr(record, name):
            setattr(record, name, variable.get())


_installed = False


def install() -> None:
    """Wrap the process's log record factory once (idempotent; called by ``create_app``).

    A factory rather than a filter on the ``supportai`` logger: logger filters do
    not apply to child loggers or to the host's own records, and the issue is
    "every log record". The wrapper keeps any factory installed before it.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        stamp(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
