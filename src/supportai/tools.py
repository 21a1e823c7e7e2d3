"""Tools the host registers for the model to call.

A tool runs with the caller's identity (:class:`ToolContext`), so a tool that
reads the host's data can scope itself exactly like an endpoint would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supportai.caller import Caller


@dataclass(frozen=True, slots=True)
class ToolContext:
    caller: Caller
    conversation_id: int


ToolHandler = Callable[[ToolContext, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Tool:
    """A named async function plus the JSON schema the model fills in.

    ``timeout_s`` overrides the ``tool_timeout_s`` setting for slow tools.
    The result must be JSON-serialisable; it is persisted and fed back.
    """

    name: str
    description: str
    handler: ToolHandler
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    timeout_s: float | None = None
