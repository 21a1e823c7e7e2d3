"""Run in a fresh interpreter by test_guardrails_filter.py: build and use the filter
under a socket guard, then exit. Prints one JSON line; the parent times the exit.

A fresh process matters: guardrails' telemetry runs in exporter threads that
retry for seconds and delay interpreter exit, which an in-process test would
not see.

With ``--control`` it also validates with a Guard that was *not* configured,
the mistake the filter avoids, to show that this probe does see the egress.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import egress_guard

attempts: list[str] = []


def report(what: str) -> None:
    # Written at once: exporter threads may try during interpreter shutdown,
    # after the JSON line below is printed.
    print(f"EGRESS {what}", file=sys.stderr, flush=True)


egress_guard.install(attempts, report)


class Context:
    """Stands in for supportai.plugins.ProviderContext: default plugin settings."""

    def plugin_settings(self, model: type[Any]) -> Any:
        return model()


async def main() -> dict[str, Any]:
    from supportai_filters import plugin

    from supportai.caller import Caller
    from supportai.filters import FilterContext

    pii = plugin.build_pii_filter(Context())  # type: ignore[arg-type]
    lazy = "guardrails" not in sys.modules
    guardrails_filter = plugin.build_guardrails_filter(Context())  # type: ignore[arg-type]
    loaded = "guardrails" in sys.modules
    context = FilterContext(
        Caller("t1", "u1"), 1, system_prompt="You are the helpful assistant of Lumen."
    )
    text = "Hello there. Mail ann@example.com or card 4111 1111 1111 1111 please. Bye now."
    out = []
    for stream in (guardrails_filter.open(context), pii.open(context)):
        parts = []
        for i in range(0, len(text), 5):
            parts.append((await stream.push(text[i : i + 5])).text)
        parts.append((await stream.close()).text)
        out.append("".join(parts))
    if "--control" in sys.argv:
        from guardrails import Guard  # type: ignore[import-untyped]

        Guard().validate("an unconfigured guard turns telemetry back on")
    return {"lazy_import": lazy, "loaded": loaded, "outputs": out}


result = asyncio.run(main())
result["attempts"] = attempts
result["done_at"] = time.time()
print(json.dumps(result), flush=True)
