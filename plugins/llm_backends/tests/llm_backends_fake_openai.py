"""An OpenAI-compatible chat-completions server for tests, served over real HTTP.

The requested ``model`` picks the scenario (``"text"``, ``"tools"``, ``"error-500"``,
``"stall"``...), so one server serves every test and each test reads as the
behaviour it exercises. A suffix after ``:`` (``"broken-once:abc"``) keeps per-test
counters apart. Every request body is recorded for assertions.

It runs under uvicorn in a thread on ``127.0.0.1:0``, so the real ``openai``
client goes through its real HTTP stack: SSE parsing, chunked transfer,
retries and timeouts are the ones production uses.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def chunk(model: str, delta: dict[str, Any] | None = None, finish: str | None = None) -> str:
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def usage_chunk(model: str, prompt: int, completion: int) -> str:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return f"data: {json.dumps(body)}\n\n"


DONE = "data: [DONE]\n\n"
BURST_CHUNKS = 60


def tool_delta(
    index: int, *, id: str | None = None, name: str | None = None, args: str = ""
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if id is not None:
        call["id"] = id
        call["type"] = "function"
    if name is not None:
        call["function"]["name"] = name
    return {"tool_calls": [call]}


class FakeOpenAIServer:
    """Scenarios of an OpenAI-compatible server; see the module docstring."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.calls: Counter[str] = Counter()
        self.app = Starlette(
            routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])]
        )
        self.base_url = ""

    def requests_for(self, model: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["model"] == model]

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        model: str = body["model"]
        self.calls[model] += 1
        scenario = model.split(":", 1)[0]
        if scenario.startswith("error-"):
            status = int(scenario.removeprefix("error-"))
            return JSONResponse(
                {"error": {"message": f"scenario {scenario}", "type": "test", "code": None}},
                status_code=status,
            )
        if scenario == "broken-once" and self.calls[model] == 1:
            return self._stream(self._broken_before_first_chunk())
        generator = getattr(self, "_" + scenario.replace("-", "_"))
        return self._stream(generator(model))

    @staticmethod
    def _stream(body: AsyncIterator[Any]) -> StreamingResponse:
        return StreamingResponse(body, media_type="text/event-stream")

    # -- scenarios -------------------------------------------------------------------

    async def _text(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, {"role": "assistant", "content": ""})
        for piece in [
            "Reset it ",
            "from the sign-in page",
            " [1]. Refunds take ",
            "5 days [2][9].",
        ]:
            yield chunk(model, {"content": piece})
        yield chunk(model, {}, "stop")
        yield usage_chunk(model, 42, 17)
        yield DONE

    async def _broken_once(self, model: str) -> AsyncIterator[str]:
        async for item in self._text(model):
            yield item

    async def _broken_before_first_chunk(self) -> AsyncIterator[str]:
        raise ConnectionResetError("scenario: connection dropped before the first chunk")
        yield ""  # pragma: no cover - makes this an async generator

    async def _broken_after_text(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, {"role": "assistant", "content": "Partial answer"})
        await asyncio.sleep(0.05)
        raise ConnectionResetError("scenario: connection dropped mid-answer")

    async def _split_marker(self, model: str) -> AsyncIterator[str]:
        for piece in ["See the article [", "1", "] and [1, ", "2]."]:
            yield chunk(model, {"content": piece})
        yield chunk(model, {}, "stop")
        yield usage_chunk(model, 5, 6)
        yield DONE

    async def _tools(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, {"role": "assistant", "content": None})
        yield chunk(model, tool_delta(0, id="call_a", name="lookup_invoice"))
        yield chunk(model, tool_delta(0, args='{"invoice'))
        yield chunk(model, tool_delta(1, id="call_b", name="list_seats"))
        yield chunk(model, tool_delta(0, args='_id": "INV-'))
        yield chunk(model, tool_delta(0, args='42", "pdf": true}'))
        yield chunk(model, {}, "tool_calls")
        yield usage_chunk(model, 80, 25)
        yield DONE

    async def _bad_tool_args(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, tool_delta(0, id="call_x", name="lookup_invoice", args='{"id": '))
        yield chunk(model, {}, "tool_calls")
        yield DONE

    async def _no_usage(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, {"role": "assistant", "content": "Twelve characters."})
        yield chunk(model, {}, "stop")
        yield DONE

    async def _length(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, {"content": "This answer was cut"})
        yield chunk(model, {}, "length")
        yield usage_chunk(model, 3, 4)
        yield DONE

    async def _empty(self, model: str) -> AsyncIterator[str]:
        yield DONE

    async def _midstream_error(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, {"content": "Starting"})
        error = {"error": {"message": "model overloaded", "type": "server_error"}}
        yield f"data: {json.dumps(error)}\n\n"

    async def _burst(self, model: str) -> AsyncIterator[str]:
        """Many chunks in one write, as a fast server's tokens arrive in one read."""
        pieces = [chunk(model, {"role": "assistant", "content": ""})]
        pieces += [chunk(model, {"content": f"w{i} "}) for i in range(BURST_CHUNKS)]
        pieces += [
            chunk(model, tool_delta(0, id="call_a", name="lookup_invoice", args='{"invoice')),
            chunk(model, tool_delta(0, args='_id": "INV-7"}')),
            chunk(model, {}, "tool_calls"),
            usage_chunk(model, 9, BURST_CHUNKS),
            DONE,
        ]
        yield "".join(pieces)

    async def _trickle(self, model: str) -> AsyncIterator[Any]:
        """The stream in 7-byte writes with CRLF line ends: lines and UTF-8 split anywhere."""
        text = "".join(
            [
                chunk(model, {"content": "Grüße, "}),
                chunk(model, {"content": "naïve café ✓"}),
                ": a comment line\n\nevent: message\n",
                chunk(model, {}, "stop"),
                DONE,
            ]
        ).replace("\n", "\r\n")
        raw = text.encode()
        for start in range(0, len(raw), 7):
            yield raw[start : start + 7]
            await asyncio.sleep(0.001)

    async def _not_json(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, {"content": "Fine so far"})
        yield "data: {not json\n\n"

    async def _stall(self, model: str) -> AsyncIterator[str]:
        yield chunk(model, {"role": "assistant", "content": "Thinking"})
        await asyncio.sleep(3)
        yield DONE

    async def _stall_first(self, model: str) -> AsyncIterator[str]:
        await asyncio.sleep(3)
        yield DONE


class ServerThread:
    """uvicorn on 127.0.0.1:0 in a daemon thread, stopped with ``should_exit``."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(
            app, lifespan="off", log_level="critical", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve() -> Iterator[FakeOpenAIServer]:
    fake = FakeOpenAIServer()
    with ServerThread(fake.app) as thread:
        fake.base_url = f"http://127.0.0.1:{thread.port}/v1"
        yield fake
