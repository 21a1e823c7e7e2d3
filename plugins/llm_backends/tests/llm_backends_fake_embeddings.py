"""An OpenAI-compatible ``/v1/embeddings`` server for tests, over real HTTP on 127.0.0.1.

Vectors are bags of hashed words (64 dimensions), so texts sharing words are
close: retrieval through it behaves like retrieval, deterministically. The
``model`` ``"down"`` answers 503; every request is recorded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from llm_backends_fake_openai import ServerThread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DIMENSIONS = 64


def vector(text: str) -> list[float]:
    values = [0.0] * DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        values[hashlib.md5(word.encode()).digest()[0] % DIMENSIONS] += 1.0
    return values


class FakeEmbeddingsServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.base_url = ""
        self.app = Starlette(routes=[Route("/v1/embeddings", self.embeddings, methods=["POST"])])

    async def embeddings(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        if body.get("model") == "down":
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": vector(text)}
            for i, text in reversed(list(enumerate(texts)))  # out of order on purpose
        ]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )


def serve() -> Iterator[FakeEmbeddingsServer]:
    fake = FakeEmbeddingsServer()
    with ServerThread(fake.app) as thread:
        fake.base_url = f"http://127.0.0.1:{thread.port}/v1"
        yield fake
