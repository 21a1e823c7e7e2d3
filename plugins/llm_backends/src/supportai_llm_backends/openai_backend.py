"""The ``openai`` backend: any OpenAI-compatible chat-completions server, streamed.

Works with the official client 2.x and 3.x (supportai-filters' guardrails-ai
pins ``openai<3``), so it only uses what both have: ``AsyncOpenAI``, its
``post(..., stream=True)`` returning the HTTP response, the exception classes
and ``openai.Timeout``. The HTTP client is the SDK's own: ``DefaultAioHttpClient``
(aiohttp under the SDK's httpx interface, the ``openai[aiohttp]`` extra) unless
``SUPPORTAI_OPENAI_HTTP_CLIENT=httpx``. Reading 200 streamed chunks through it costs
about half the CPU of httpx's pure-Python HTTP/1.1 parser (``bench/openai_stream.py``),
and it maps aiohttp's errors to httpx's, so the error handling below is the same.

The client does what it is good at: authentication, the base URL, retries
before the stream starts and the error types. The stream itself is read here
(:mod:`supportai_llm_backends.sse` and ``json.loads`` into plain dicts), because
the SDK's stream builds a pydantic object for every chunk and re-validates the
request's whole history for every call; chunks that arrived in one read become
one delta, and one idle timer watches the whole stream.

Failures become :class:`supportai.llm.BackendError`: a server that is down, slow
or broken is a ``vendor_outage`` for core; a key, permission or model name that
is wrong is marked ``configuration=True``, because waiting will not fix it.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai

from supportai.errors import ConfigurationError
from supportai.llm import (
    BackendError,
    BackendEvent,
    BackendRequest,
    ChatMessage,
    Citation,
    ContextDocument,
    Finish,
    TextDelta,
    ToolCallRequest,
    ToolSpec,
    Usage,
)
from supportai.pipeline.deadline import IdleDeadline
from supportai_llm_backends.knowledge import truncate
from supportai_llm_backends.settings import OpenAISettings
from supportai_llm_backends.sse import SSEReader
from supportai_llm_backends.tokens import approx_tokens, approx_tokens_all

#: ``[2]`` or ``[1, 3]``: how the context prompt asks the model to cite.
_MARKER = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
#: A marker is at most this long, so this much of the old text is rescanned.
_MARKER_TAIL = 12
_ERROR_CHARS = 300
SNIPPET_CHARS = 200
_CONFIGURATION_STATUSES = frozenset({401, 403, 404})


class _ConnectionLost(Exception):
    """The connection failed before any event was yielded: safe to try again."""


@dataclass
class _PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Attempt:
    """What one streamed call produced so far."""

    yielded: bool = False
    text: list[str] = field(default_factory=list)
    tool_calls: dict[int, _PartialToolCall] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage | None = None
    saw_choice: bool = False
    cited: set[int] = field(default_factory=set)
    done: bool = False  # ``[DONE]`` arrived: the rest of the body is only drained
    error: BackendError | None = None  # an error event: raised after the text before it


def _response_type() -> type[Any]:
    """The response class of the HTTP library this ``openai`` runs on (see the module doc)."""
    library = "httpx2" if int(openai.__version__.split(".", 1)[0]) >= 3 else "httpx"
    response: type[Any] = importlib.import_module(library).Response
    return response


def _transport_errors() -> tuple[type[BaseException], ...]:
    """``TransportError`` of whichever HTTP library this ``openai`` runs on."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx", "httpx2"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        error = getattr(module, "TransportError", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


def _timeout_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [openai.APITimeoutError, TimeoutError]
    for module_name in ("httpx", "httpx2"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        error = getattr(module, "TimeoutException", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


def sdk_http_client(choice: str) -> Any | None:
    """The SDK's aiohttp-backed client, or ``None`` for the SDK's default (httpx).

    ``auto`` takes aiohttp when openai's ``aiohttp`` extra is installed; asking for
    ``aiohttp`` without it is a configuration error, said at start-up.
    """
    if choice == "httpx":
        return None
    factory = getattr(openai, "DefaultAioHttpClient", None)
    if factory is None or importlib.util.find_spec("httpx_aiohttp") is None:
        if choice == "aiohttp":
            raise ConfigurationError(
                "SUPPORTAI_OPENAI_HTTP_CLIENT=aiohttp needs the openai SDK's aiohttp extra: "
                "pip install 'openai[aiohttp]'"
            )
        return None
    return factory()


class OpenAIBackend:
    """Streams chat completions; assembles tool calls; cites the context it was given."""

    name = "openai"

    def __init__(
        self,
        settings: OpenAISettings,
        *,
        idle_timeout_s: float,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        if settings.api_key is None or not settings.api_key.get_secret_value():
            raise ConfigurationError(
                "the openai backend needs SUPPORTAI_OPENAI_API_KEY "
                "(servers without authentication accept any non-empty value)"
            )
        self.settings = settings
        self.model = settings.model
        self.idle_timeout_s = idle_timeout_s
        self.client = client or openai.AsyncOpenAI(
            api_key=settings.api_key.get_secret_value(),
            base_url=settings.base_url,
            organization=settings.organization,
            project=settings.project,
            timeout=openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            max_retries=settings.max_retries,
            http_client=sdk_http_client(settings.http_client),
        )
        self._transport_errors = _transport_errors()
        self._timeout_errors = _timeout_errors()
        self._response_type = _response_type()

    async def aclose(self) -> None:
        """Close the connection pool (call at app shutdown)."""
        await self.client.close()

    # -- the call ----------------------------------------------------------------

    async def stream(self, request: BackendRequest) -> AsyncIterator[BackendEvent]:
        """Stream one completion, retrying a lost connection until the first event only.

        Once an event has been yielded the user may have seen it; retrying then
        would repeat or contradict it, so any later failure is a ``BackendError``.
        """
        messages = to_openai_messages(
            request.messages, request.context, self.settings.context_prompt
        )
        tools = [to_openai_tool(tool) for tool in request.tools]
        attempts = self.settings.connect_retries + 1
        for number in range(1, attempts + 1):
            state = _Attempt()
            try:
                async for event in self._attempt(request, messages, tools, state):
                    state.yielded = True
                    yield event
                return
            except _ConnectionLost as exc:
                if state.yielded or number == attempts:
                    raise BackendError(
                        f"connection to {self.settings.base_url} lost: {exc}"
                    ) from exc
                await asyncio.sleep(min(0.25 * 2 ** (number - 1), 2.0))

    async def _attempt(
        self,
        request: BackendRequest,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        state: _Attempt,
    ) -> AsyncIterator[BackendEvent]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            self.settings.max_tokens_param: request.max_output_tokens,
        }
        if tools:
            body["tools"] = tools
        if self.settings.temperature is not None:
            body["temperature"] = self.settings.temperature
        try:
            # The generic post sends the body as built (plain dicts; the server
            # validates them) and returns the response unread, after the client's
            # own retries and status errors.
            response: Any = await self.client.post(
                "/chat/completions",
                cast_to=self._response_type,
                body=body,
                stream=True,
                options={"headers": {"Accept": "text/event-stream"}},
            )
        except Exception as exc:
            # The client already retried this request MAX_RETRIES times.
            raise self._map_error(exc, started=False, retryable=False) from exc
        reads = response.aiter_bytes()
        try:
            async for event in self._read(reads, request.context, state):
                yield event
        finally:
            await reads.aclose()
            await response.aclose()
        if not state.saw_choice:
            raise BackendError(f"{self.settings.base_url} returned an empty stream")
        for event in self._closing_events(request, messages, state):
            yield event

    async def _read(
        self, reads: Any, context: Sequence[ContextDocument], state: _Attempt
    ) -> AsyncIterator[BackendEvent]:
        """The events of each network read, under one idle timer for the whole stream."""
        reader = SSEReader()
        with IdleDeadline() as deadline:
            while True:
                try:
                    with deadline.waiting(self.idle_timeout_s):
                        data = await anext(reads)
                except StopAsyncIteration:
                    break
                except TimeoutError as exc:
                    raise BackendError(
                        f"{self.settings.base_url} sent nothing for {self.idle_timeout_s:g} s "
                        "(stalled stream)"
                    ) from exc
                except Exception as exc:
                    raise self._map_error(
                        exc, started=state.yielded, retryable=not state.yielded
                    ) from exc
                for event in self._events_of(reader.feed(data), context, state):
                    yield event
                if state.error is not None:
                    raise state.error
        for event in self._events_of(reader.finish(), context, state):
            yield event
        if state.error is not None:
            raise state.error

    # -- chunks to events ------------------------------------------------------------

    def _events_of(
        self, datas: list[str], context: Sequence[ContextDocument], state: _Attempt
    ) -> list[BackendEvent]:
        """One read's SSE events -> at most one text delta (then its citations).

        Stops at an error event, leaving it in ``state.error`` so that the text
        before it is still delivered first.
        """
        pieces: list[str] = []
        for data in datas:
            if state.done:
                continue  # drained so the connection can be reused
            if data.startswith("[DONE]"):
                state.done = True
                continue
            try:
                chunk = json.loads(data)
                error = chunk.get("error")
                if error:
                    state.error = self._stream_error(error)
                    break
                self._apply(chunk, state, pieces)
            except (ValueError, AttributeError, TypeError, KeyError) as exc:
                state.error = BackendError(
                    f"{self.settings.base_url} sent a chunk that is not a chat-completions "
                    f"chunk ({type(exc).__name__}): {_short(data)}"
                )
                break
        if not pieces:
            return []
        text = "".join(pieces)
        state.text.append(text)
        events: list[BackendEvent] = [TextDelta(text)]
        if self.settings.citations == "marked" and context:
            events.extend(self._new_citations(state, context, len(text)))
        return events

    @staticmethod
    def _apply(chunk: dict[str, Any], state: _Attempt, pieces: list[str]) -> None:
        """Fold one chunk into the attempt: text into ``pieces``, the rest into ``state``."""
        usage = chunk.get("usage")
        if usage:
            state.usage = Usage(
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
            )
        for choice in chunk.get("choices") or ():
            if choice.get("index") not in (0, None):
                continue  # we never ask for n > 1
            state.saw_choice = True
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    pieces.append(content)
                for call in delta.get("tool_calls") or ():
                    partial = state.tool_calls.setdefault(call["index"], _PartialToolCall())
                    if call.get("id"):
                        partial.id = call["id"]
                    function = call.get("function")
                    if function:
                        if function.get("name") and not partial.name:
                            partial.name = function["name"]
                        if function.get("arguments"):
                            partial.arguments.append(function["arguments"])
            if choice.get("finish_reason"):
                state.finish_reason = choice["finish_reason"]

    def _stream_error(self, error: Any) -> BackendError:
        """An ``{"error": ...}`` event inside the stream (the server failed mid-answer)."""
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str) or not message:
            message = "an error occurred during streaming"
        return BackendError(f"{self.settings.base_url} reported an error: {_short(message)}")

    def _new_citations(
        self, state: _Attempt, context: Sequence[ContextDocument], added: int
    ) -> list[Citation]:
        """Citations for ``[n]`` markers that just appeared (markers may span deltas)."""
        text = "".join(state.text[-4:])  # enough to hold the new delta and the tail
        tail = text[-(added + _MARKER_TAIL) :]
        found: list[Citation] = []
        for match in _MARKER.finditer(tail):
            for number in match.group(1).split(","):
                position = int(number) - 1
                if 0 <= position < len(context) and position not in state.cited:
                    state.cited.add(position)
                    found.append(citation_of(context[position]))
        return found

    def _closing_events(
        self, request: BackendRequest, messages: list[dict[str, Any]], state: _Attempt
    ) -> list[BackendEvent]:
        events: list[BackendEvent] = []
        for index in sorted(state.tool_calls):
            partial = state.tool_calls[index]
            if not partial.name:
                raise BackendError(f"model {self.model} sent a tool call without a name")
            events.append(
                ToolCallRequest(
                    id=partial.id or f"call_{index}",
                    name=partial.name,
                    arguments=parse_arguments(partial.name, "".join(partial.arguments)),
                )
            )
        if self.settings.citations == "all" and state.text:
            events.extend(citation_of(document) for document in request.context)
        usage = state.usage
        if usage is None:  # a server that ignores stream_options: estimate (see tokens.py)
            usage = Usage(
                input_tokens=approx_tokens_all(str(m.get("content") or "") for m in messages),
                output_tokens=approx_tokens("".join(state.text))
                + approx_tokens_all("".join(p.arguments) for p in state.tool_calls.values()),
            )
        events.append(usage)
        if state.tool_calls:
            events.append(Finish("tool_calls"))
        elif state.finish_reason == "length":
            events.append(Finish("length"))
        else:
            events.append(Finish("stop"))
        return events

    # -- errors ----------------------------------------------------------------------

    def _map_error(self, exc: Exception, *, started: bool, retryable: bool) -> Exception:
        """Translate client and transport errors.

        A connection lost after the response began but before any event was
        yielded becomes :class:`_ConnectionLost` (retried by :meth:`stream`); the
        client cannot retry that case itself, since it already returned the response.
        """
        where = self.settings.base_url
        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = f"{where} answered HTTP {status}: {_short(exc.message)}"
            if status in _CONFIGURATION_STATUSES:
                hint = {
                    401: "check SUPPORTAI_OPENAI_API_KEY",
                    403: "the key may not use this model or project",
                    404: f"check SUPPORTAI_OPENAI_MODEL={self.model!r} and "
                    "SUPPORTAI_OPENAI_BASE_URL",
                }[status]
                return BackendError(f"{message} ({hint})", configuration=True)
            return BackendError(message)
        failed = _socket_failure(exc)
        if isinstance(exc, self._timeout_errors) and failed is None:
            return BackendError(f"{where} timed out: {_short(str(exc)) or type(exc).__name__}")
        if failed is not None or isinstance(
            exc, (openai.APIConnectionError, *self._transport_errors)
        ):
            detail = _short(str(failed or exc)) or type(exc).__name__
            if retryable:
                return _ConnectionLost(detail)
            if started:
                return BackendError(f"connection to {where} lost mid-answer: {detail}")
            return BackendError(f"could not connect to {where}: {detail}")
        if isinstance(exc, openai.APIError):
            return BackendError(f"{where} reported an error: {_short(str(exc))}")
        return BackendError(f"{where}: unexpected {type(exc).__name__}: {_short(str(exc))}")


def _socket_failure(exc: BaseException) -> OSError | None:
    """The socket error behind ``exc``, unless it was a timeout.

    httpx-aiohttp reports a refused connection as ``ConnectTimeout`` (its error map
    keeps the first match, and aiohttp's connector error is a connection error),
    with aiohttp's own error, an ``OSError``, as the cause. Read from the cause, a
    server that is down is said as such rather than as a slow one.
    """
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, OSError) and not isinstance(cause, TimeoutError):
            return cause
        cause = cause.__cause__
    return None


# -- conversions (pure functions, unit-tested on their own) ---------------------------


def to_openai_messages(
    messages: Sequence[ChatMessage], context: Sequence[ContextDocument], context_prompt: str
) -> list[dict[str, Any]]:
    """supportai chat messages -> OpenAI message dicts, with context as a system message.

    The context goes right after the leading system messages: it is instructions
    plus reference material, and models weigh the latest user turn most, so it
    should not come after it.
    """
    converted: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant" and message.tool_calls:
            converted.append(
                {
                    "role": "assistant",
                    "content": message.content or None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {
                                "name": call.name,
                                "arguments": json.dumps(call.arguments, ensure_ascii=False),
                            },
                        }
                        for call in message.tool_calls
                    ],
                }
            )
        elif message.role == "tool":
            converted.append(
                {
                    "role": "tool",
                    "tool_call_id": message.tool_call_id or "",
                    "content": message.content,
                }
            )
        else:
            converted.append({"role": message.role, "content": message.content})
    if context:
        position = 0
        while position < len(converted) and converted[position]["role"] == "system":
            position += 1
        grounding = {"role": "system", "content": context_message(context, context_prompt)}
        converted.insert(position, grounding)
    return converted


def context_message(context: Sequence[ContextDocument], context_prompt: str) -> str:
    """The grounding system message: the prompt, then numbered documents."""
    parts = [context_prompt]
    for number, document in enumerate(context, start=1):
        source = f" ({document.url})" if document.url else ""
        parts.append(f"[{number}] {document.title}{source}\n{document.text}")
    return "\n\n".join(parts)


def to_openai_tool(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def parse_arguments(name: str, raw: str) -> dict[str, Any]:
    """The JSON object a model streamed as a tool call's arguments ("" means no arguments)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BackendError(
            f"the model sent malformed JSON arguments for tool {name!r}: {exc.msg}"
        ) from exc
    if not isinstance(value, dict):
        raise BackendError(f"the model sent non-object arguments for tool {name!r}")
    return value


def citation_of(document: ContextDocument) -> Citation:
    snippet = truncate(document.text, SNIPPET_CHARS) if document.text else None
    return Citation(
        source_id=document.source_id, title=document.title, url=document.url, snippet=snippet
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"
