"""A tiny OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

It speaks real HTTP so the real ``openai`` client is exercised end to end
(headers, JSON body, timeouts). The model name picks the behaviour:

* ``fake-ok``: answers the verdict stored in ``server.verdict``;
* ``fake-slow``: sleeps ``server.delay_s`` before answering;
* ``fake-malformed``: returns content that is not JSON;
* ``fake-wrong-shape``: valid JSON with an unknown intent;
* ``fake-500``: an HTTP 500 error.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.verdict: dict[str, Any] = {"intent": "billing", "confidence": 0.9, "reason": "x"}
        self.delay_s = 2.0
        self._thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(body)
        self.server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        model = body.get("model", "")
        if model == "fake-500":
            self._send(500, {"error": {"message": "boom", "type": "server_error"}})
            return
        if model == "fake-slow":
            time.sleep(self.server.delay_s)
        if model == "fake-malformed":
            content = "Sure! The intent is billing, I think."
        elif model == "fake-wrong-shape":
            content = json.dumps({"intent": "weather", "confidence": 0.5, "reason": "?"})
        else:
            content = json.dumps(self.server.verdict)
        self._send(200, _completion(model, content))

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    }
