"""LiteLLM beside supportai: a minimal server streaming the mock upstream through ``litellm``.

The LiteLLM side of ``bench/openai_path.py``: one endpoint that calls
``litellm.acompletion(stream=True)`` against the mock upstream and relays each
chunk's text as an SSE ``delta`` event. It imports only starlette, uvicorn and
litellm, so it can run under an interpreter that has LiteLLM
(``BENCH_LITELLM_PYTHON``) while the rest of the bench runs under another.
``LITELLM_LOCAL_MODEL_COST_MAP=True`` keeps LiteLLM from fetching its price list.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

MESSAGES = [
    {"role": "system", "content": "You are a support assistant."},
    {"role": "user", "content": "How do I reset my password?"},
]


def app() -> Starlette:
    """uvicorn ``--factory`` entry; ``BENCH_UPSTREAM`` is the mock's ``/v1`` URL."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm  # type: ignore[import-not-found,unused-ignore]

    upstream = os.environ["BENCH_UPSTREAM"]

    async def stream(request: Request) -> StreamingResponse:
        await request.body()

        async def events() -> AsyncIterator[bytes]:
            response = await litellm.acompletion(
                model="openai/bench-model",
                api_base=upstream,
                api_key="sk-bench",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
            seq = 0
            async for chunk in response:
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    seq += 1
                    data = json.dumps({"text": text})
                    yield f"event: delta\nid: {seq}\ndata: {data}\n\n".encode()
            yield b"event: done\ndata: {}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/stream", stream, methods=["POST"])])
