"""A mock OpenAI-compatible upstream: one fixed answer streamed as 200 chunks.

The benchmarks of the ``openai`` path run it as its own uvicorn process, so its
CPU is not counted against the system under test. Every chunk is sent with
its own ``send`` (as a model server emits tokens), ``role`` first, then the
text, the finish reason, a usage chunk and ``[DONE]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

MODEL = "bench-model"


def chunk_lines(chunks: int) -> list[bytes]:
    """The SSE events of one answer of ``chunks`` text chunks (built once, reused)."""

    def event(body: dict[str, object]) -> bytes:
        return f"data: {json.dumps(body)}\n\n".encode()

    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": MODEL}

    def choice(delta: dict[str, object], finish: str | None = None) -> bytes:
        return event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    lines = [choice({"role": "assistant", "content": ""})]
    lines += [choice({"content": f"word{i % 10} "}) for i in range(chunks)]
    lines.append(choice({}, "stop"))
    usage = {"prompt_tokens": 50, "completion_tokens": chunks, "total_tokens": 50 + chunks}
    lines.append(event({**base, "choices": [], "usage": usage}))
    lines.append(b"data: [DONE]\n\n")
    return lines


def expected_text(chunks: int) -> str:
    return "".join(f"word{i % 10} " for i in range(chunks))


def app() -> Starlette:
    """uvicorn ``--factory`` entry; ``BENCH_MOCK_CHUNKS`` sets the answer's length."""
    lines = chunk_lines(int(os.environ.get("BENCH_MOCK_CHUNKS", "200")))

    async def completions(request: Request) -> StreamingResponse:
        await request.body()

        async def body() -> AsyncIterator[bytes]:
            for line in lines:
                yield line

        return StreamingResponse(body(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
