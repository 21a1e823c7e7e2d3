"""Running one tool call the model asked for: with the caller's scope, bounded in time."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING

from supportai.llm import ToolCallRequest
from supportai.store.turns import ToolCallRecord
from supportai.tools import ToolContext

if TYPE_CHECKING:
    from supportai.caller import Caller
    from supportai.runtime import Runtime

log = logging.getLogger("supportai.tools")

MAX_RESULT_CHARS = 20_000
"""A tool result larger than this is cut before it is persisted or fed back."""


async def run_tool(
    runtime: Runtime, caller: Caller, conversation_id: int, call: ToolCallRequest
) -> ToolCallRecord:
    """Never raises: an unknown tool, an exception or a timeout becomes ``error``.

    The model then sees the error as the tool's result and can apologise or
    offer a human, which is what a user expects from a failed lookup.
    """
    started = time.perf_counter()
    tool = runtime.tools.get(call.name)
    result: object = None
    error: str | None = None
    if tool is None:
        error = f"unknown tool {call.name!r}"
    else:
        timeout = tool.timeout_s or runtime.settings.tool_timeout_s
        try:
            result = await asyncio.wait_for(
                tool.handler(ToolContext(caller, conversation_id), dict(call.arguments)), timeout
            )
            encoded = json.dumps(result, default=str)
            if len(encoded) > MAX_RESULT_CHARS:
                result = {"truncated": encoded[:MAX_RESULT_CHARS]}
            else:
                result = json.loads(encoded)
        except TimeoutError:
            error = f"tool {call.name!r} timed out after {timeout:g}s"
        except Exception as exc:
            log.warning("tool %s failed: %s", call.name, exc)
            error = f"tool {call.name!r} failed: {type(exc).__name__}"
    return ToolCallRecord(
        call_id=call.id,
        name=call.name,
        arguments=dict(call.arguments),
        result=result,
        error=error,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
