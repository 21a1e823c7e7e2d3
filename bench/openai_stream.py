"""The ``openai`` backend's cost per streamed answer, without a server around it.

Against the mock upstream (``bench/mock_openai.py``, its own process, 200 text
chunks), one after the other in this process, CPU time per stream
(``time.process_time``) for:

- ``plain``: the HTTP client the backend runs the ``openai`` SDK on (aiohttp's when
  ``openai[aiohttp]`` is installed), reading the stream's bytes and ``json.loads``
  per SSE line: the floor any Python client pays;
- ``sdk_objects``: ``client.chat.completions.create(stream=True)``, one pydantic
  object per chunk (what the backend did before it read the stream itself);
- ``backend``: ``OpenAIBackend.stream`` to its last event.

The three alternate in rounds and the best round of each is kept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai
from supportai_llm_backends.openai_backend import OpenAIBackend
from supportai_llm_backends.settings import OpenAISettings

from bench.common import plain_deltas, sdk_async_client, serve_process
from bench.mock_openai import MODEL, expected_text
from supportai.caller import Caller
from supportai.llm import BackendRequest, ChatMessage, TextDelta

CHUNKS = 200
MESSAGES = [
    {"role": "system", "content": "You are a support assistant."},
    {"role": "user", "content": "How do I reset my password?"},
]


def _request() -> BackendRequest:
    return BackendRequest(
        messages=tuple(ChatMessage(m["role"], m["content"]) for m in MESSAGES),  # type: ignore[arg-type]
        caller=Caller("bench", "user"),
        conversation_id=1,
        max_output_tokens=1024,
    )


async def _measure(
    label: str, one: Callable[[], Awaitable[str]], streams: int, into: dict[str, list[float]]
) -> None:
    expected = expected_text(CHUNKS)
    cpu = time.process_time()
    for _ in range(streams):
        text = await one()
        if text != expected:
            raise RuntimeError(f"{label}: wrong answer {text[:80]!r}")
    into.setdefault(label, []).append((time.process_time() - cpu) * 1000 / streams)


async def _run(base: str, streams: int, rounds: int) -> dict[str, Any]:
    url = f"{base}/v1"
    plain_client = sdk_async_client(30)
    sdk = openai.AsyncOpenAI(
        api_key="sk-bench", base_url=url, max_retries=0, http_client=sdk_async_client(30)
    )
    backend = OpenAIBackend(
        OpenAISettings(model=MODEL, base_url=url, api_key="sk-bench", max_retries=0),
        idle_timeout_s=30,
    )
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}

    async def plain() -> str:
        parts: list[str] = []
        rest = b""
        async with plain_client.stream("POST", f"{url}/chat/completions", json=body) as response:
            async for read in response.aiter_bytes():
                lines = (rest + read).split(b"\n")
                rest = lines.pop()
                parts += plain_deltas(lines)
        return "".join(parts)

    async def sdk_objects() -> str:
        stream = await sdk.chat.completions.create(  # type: ignore[call-overload]
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        parts: list[str] = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return "".join(parts)

    async def through_backend() -> str:
        events = [e async for e in backend.stream(_request())]
        return "".join(e.text for e in events if isinstance(e, TextDelta))

    cases = {"plain": plain, "sdk_objects": sdk_objects, "backend": through_backend}
    per_stream: dict[str, list[float]] = {}
    try:
        for name, one in cases.items():  # warm-up: connections, imports, caches
            await _measure(name, one, 5, {})
        for _ in range(rounds):
            for name, one in cases.items():
                await _measure(name, one, streams, per_stream)
    finally:
        await plain_client.aclose()
        await sdk.close()
        await backend.aclose()
    best = {name: min(values) for name, values in per_stream.items()}
    return {
        "chunks": CHUNKS,
        "streams_per_round": streams,
        "cpu_ms_per_stream": best,
        "backend_vs_plain": best["backend"] / best["plain"],
        "sdk_objects_vs_plain": best["sdk_objects"] / best["plain"],
        "rounds_ms": per_stream,
    }


def run(streams: int = 100, rounds: int = 3) -> dict[str, Any]:
    env = {"BENCH_MOCK_CHUNKS": str(CHUNKS)}
    with serve_process("bench.mock_openai:app", env) as mock:
        return asyncio.run(_run(mock.base, streams, rounds))


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
