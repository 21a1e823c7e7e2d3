"""What a turn may cost: the bounds its reservation is computed from and kept within.

Stage 3 reserves :func:`worst_case_cost` before anything is spent; the answer
checks each backend call against the reservation (:func:`request_bound`) and
charges an estimate for a round cut short (:func:`estimate_usage`). All at
:data:`TOKENS_PER_CHAR` unless the backend declares a tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from supportai.llm import BackendRequest, ToolCallRequest, ToolSpec, Usage

if TYPE_CHECKING:
    from supportai.runtime import Runtime

#: Tokens a character may cost at most, unless the backend declares a tokenizer
#: (``count_tokens``). One per character holds for Latin and CJK text alike (CJK
#: costs about one token per character; the old 3-characters-per-token guess let a
#: CJK turn overrun its reservation, issue 13).
TOKENS_PER_CHAR = 1
#: Characters of retrieved context and of tool results a turn's reservation allows
#: for per round. Beyond them the turn stops with finish reason ``budget`` rather
#: than spend more than it reserved.
CONTEXT_ALLOWANCE_CHARS = 8000
TOOL_RESULTS_ALLOWANCE_CHARS = 8000


def token_bound(backend: Any, text: str) -> int:
    """The most tokens ``text`` can cost with ``backend``: its tokenizer if it has one."""
    return token_counter(backend)(text)


def token_counter(backend: Any) -> Callable[[str], int]:
    """:func:`token_bound` for one backend, looked up once: a turn counts every delta."""
    count = getattr(backend, "count_tokens", None)
    if count is not None:
        return lambda text: int(count(text))
    if TOKENS_PER_CHAR == 1:
        return len
    return lambda text: len(text) * TOKENS_PER_CHAR


def reservation_tokens(
    settings: Any, content: str, round_number: int, tool_spec_chars: int = 0
) -> tuple[int, int]:
    """Input and output tokens the reservation allows round ``round_number`` (from 0).

    Input: system prompt, the tools offered, history budget, the message,
    retrieved context, and the tool results of the rounds before, all at
    :data:`TOKENS_PER_CHAR`.
    """
    chars = (
        tool_spec_chars
        + len(settings.system_prompt)
        + settings.history_char_budget
        + len(content)
        + CONTEXT_ALLOWANCE_CHARS
        + round_number * TOOL_RESULTS_ALLOWANCE_CHARS
    )
    return chars * TOKENS_PER_CHAR, settings.max_output_tokens


def worst_case_cost(runtime: Runtime, content: str) -> int:
    """The most a turn may cost: every tool round at full input and full output.

    Reserved before anything is spent; settled to the real cost afterwards. The
    turn keeps its running cost within it (``Turn._round_fits``).
    """
    backend = runtime.backend
    if backend is None:
        return 0
    settings = runtime.settings
    price = settings.price_for(backend.model)
    specs = sum(
        spec_chars(ToolSpec(t.name, t.description, t.parameters)) for t in runtime.tools.values()
    )
    return sum(
        price.cost_micros(*reservation_tokens(settings, content, round_number, specs))
        for round_number in range(settings.tool_max_rounds + 1)
    )


def spec_chars(spec: ToolSpec) -> int:
    """What offering one tool sends: its name, description and JSON schema."""
    return len(spec.name) + len(spec.description) + len(json.dumps(spec.parameters))


def request_bound(backend: Any, request: BackendRequest) -> int:
    """The most input tokens ``request`` can cost (messages, tool calls, context)."""
    total = sum(token_bound(backend, m.content) for m in request.messages)
    total += sum(
        token_bound(backend, c.name + json.dumps(c.arguments))
        for m in request.messages
        for c in m.tool_calls
    )
    total += sum(spec_chars(spec) * TOKENS_PER_CHAR for spec in request.tools)
    return total + sum(token_bound(backend, d.text) for d in request.context)


def estimate_usage(request: BackendRequest, text: str, calls: list[ToolCallRequest]) -> Usage:
    """Tokens of a backend call that ended before reporting usage, from characters.

    Input: every message and context document sent; output: the text and tool calls
    received. At the reservation's bound, so an interrupted turn is never free.
    """
    sent = sum(len(m.content) for m in request.messages)
    sent += sum(len(d.text) for d in request.context)
    produced = len(text) + sum(len(c.name) + len(json.dumps(c.arguments)) for c in calls)
    return Usage(sent * TOKENS_PER_CHAR, produced * TOKENS_PER_CHAR)
