"""The openai backend against a real HTTP server speaking the chat-completions protocol."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest
from llm_backends_fake_openai import BURST_CHUNKS, FakeOpenAIServer, serve
from llm_backends_testing import collect, hide_installed_module, request_for
from supportai_llm_backends.openai_backend import (
    OpenAIBackend,
    parse_arguments,
    sdk_http_client,
    to_openai_messages,
)
from supportai_llm_backends.settings import OpenAISettings
from supportai_llm_backends.tokens import approx_tokens

from supportai.errors import ConfigurationError
from supportai.llm import (
    BackendError,
    BackendEvent,
    ChatMessage,
    Citation,
    ContextDocument,
    Finish,
    LLMBackend,
    TextDelta,
    ToolCallRequest,
    ToolSpec,
    Usage,
)

CONTEXT = (
    ContextDocument(
        "reset-password",
        "Resetting your password",
        "Use Forgot password.",
        6.1,
        "https://help.example/reset-password",
    ),
    ContextDocument("refunds", "Refund policy", "Refunds within 14 days.", 3.2),
)
INVOICE_TOOL = ToolSpec(
    "lookup_invoice",
    "Find an invoice of the caller's workspace",
    {"type": "object", "properties": {"invoice_id": {"type": "string"}}},
)

Make = Callable[..., OpenAIBackend]


@pytest.fixture(scope="module", params=["aiohttp", "httpx"])
def http_client(request: pytest.FixtureRequest) -> str:
    """The HTTP client under the SDK: every behaviour must hold for both."""
    return str(request.param)


@pytest.fixture(scope="module")
def fake(http_client: str) -> Iterator[FakeOpenAIServer]:
    """One server per HTTP client: tests count the requests each model name received."""
    yield from serve()


@pytest.fixture
async def make(fake: FakeOpenAIServer, http_client: str) -> AsyncIterator[Make]:
    built: list[OpenAIBackend] = []

    def factory(model: str, *, idle_timeout_s: float = 5.0, **settings: Any) -> OpenAIBackend:
        options: dict[str, Any] = {
            "base_url": fake.base_url,
            "api_key": "sk-test-secret",
            "max_retries": 0,
            "connect_retries": 0,
            "http_client": http_client,
        }
        options.update(settings)
        backend = OpenAIBackend(
            OpenAISettings(model=model, **options), idle_timeout_s=idle_timeout_s
        )
        built.append(backend)
        return backend

    yield factory
    for backend in built:
        await backend.aclose()


def texts(events: list[BackendEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def run_until_error(
    backend: OpenAIBackend, **request: Any
) -> tuple[list[BackendEvent], BackendError]:
    events: list[BackendEvent] = []
    with pytest.raises(BackendError) as raised:
        async for event in backend.stream(request_for("question", **request)):
            events.append(event)
    return events, raised.value


# -- streaming text, usage, citations ------------------------------------------------


async def test_streams_text_then_usage_and_stop(make: Make, fake: FakeOpenAIServer) -> None:
    backend = make("text:plain")
    assert isinstance(backend, LLMBackend)
    events = await collect(backend.stream(request_for("How do I reset my password?")))
    assert texts(events) == "Reset it from the sign-in page [1]. Refunds take 5 days [2][9]."
    assert not [e for e in events if isinstance(e, Citation)]  # no context, nothing to cite
    assert events[-2:] == [Usage(42, 17), Finish("stop")]

    (body,) = fake.requests_for("text:plain")
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 1024
    assert "tools" not in body and "temperature" not in body
    assert body["messages"] == [
        {"role": "system", "content": "You are a support assistant."},
        {"role": "user", "content": "How do I reset my password?"},
    ]
    assert fake.headers[fake.requests.index(body)]["authorization"] == "Bearer sk-test-secret"


async def test_context_is_sent_as_numbered_system_message_and_markers_become_citations(
    make: Make, fake: FakeOpenAIServer
) -> None:
    events = await collect(make("text:ctx").stream(request_for("reset?", context=CONTEXT)))
    kinds = [type(e).__name__ for e in events]
    citations = [e for e in events if isinstance(e, Citation)]
    assert [(c.source_id, c.url) for c in citations] == [
        ("reset-password", "https://help.example/reset-password"),
        ("refunds", None),  # [9] names no document and is ignored
    ]
    # Each citation comes right after the delta that carried its marker, before later
    # text (chunks that arrive in one read are one delta, so the split may vary).
    for position, event in enumerate(events):
        if isinstance(event, Citation):
            marker = "[1]" if event.source_id == "reset-password" else "[2]"
            assert isinstance(events[position - 1], TextDelta | Citation)
            last = next(e for e in reversed(events[:position]) if isinstance(e, TextDelta))
            assert marker in last.text
    assert kinds[-2:] == ["Usage", "Finish"]

    (body,) = fake.requests_for("text:ctx")
    system, grounding, user = body["messages"]
    assert system["role"] == grounding["role"] == "system" and user["role"] == "user"
    assert (
        "[1] Resetting your password (https://help.example/reset-password)"
        in (grounding["content"])
    )
    assert "[2] Refund policy\nRefunds within 14 days." in grounding["content"]


async def test_markers_split_across_deltas_are_cited_once(make: Make) -> None:
    events = await collect(make("split-marker").stream(request_for("q", context=CONTEXT)))
    assert [e.source_id for e in events if isinstance(e, Citation)] == [
        "reset-password",
        "refunds",
    ]


async def test_citations_all_cites_every_context_document(make: Make) -> None:
    events = await collect(
        make("no-usage:all", citations="all").stream(request_for("q", context=CONTEXT))
    )
    assert [type(e).__name__ for e in events] == [
        "TextDelta",
        "Citation",
        "Citation",
        "Usage",
        "Finish",
    ]


async def test_missing_usage_chunk_is_estimated(make: Make) -> None:
    events = await collect(make("no-usage").stream(request_for("Hi there")))
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.output_tokens == approx_tokens("Twelve characters.")
    expected_input = approx_tokens("You are a support assistant.") + approx_tokens("Hi there")
    assert usage.input_tokens == expected_input


async def test_finish_length_is_reported(make: Make) -> None:
    events = await collect(make("length").stream(request_for("q")))
    assert events[-1] == Finish("length")


async def test_settings_choose_token_parameter_and_temperature(
    make: Make, fake: FakeOpenAIServer
) -> None:
    backend = make("text:params", max_tokens_param="max_completion_tokens", temperature=0.2)
    await collect(backend.stream(request_for("q", max_output_tokens=77)))
    (body,) = fake.requests_for("text:params")
    assert body["max_completion_tokens"] == 77 and "max_tokens" not in body
    assert body["temperature"] == 0.2


# -- reading the stream ----------------------------------------------------------------


async def test_chunks_of_one_read_become_one_delta(make: Make) -> None:
    events = await collect(make("burst").stream(request_for("q", tools=[INVOICE_TOOL])))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert "".join(d.text for d in deltas) == "".join(f"w{i} " for i in range(BURST_CHUNKS))
    assert len(deltas) < BURST_CHUNKS // 2  # one write of ~60 chunks: a read or a few
    assert [e for e in events if isinstance(e, ToolCallRequest)] == [
        ToolCallRequest("call_a", "lookup_invoice", {"invoice_id": "INV-7"})
    ]
    assert events[-2:] == [Usage(9, BURST_CHUNKS), Finish("tool_calls")]


async def test_lines_and_characters_split_across_reads(make: Make) -> None:
    events = await collect(make("trickle").stream(request_for("q")))
    assert texts(events) == "Grüße, naïve café ✓"
    assert events[-1] == Finish("stop")


async def test_a_chunk_that_is_not_json_fails_after_the_text_before_it(make: Make) -> None:
    events, error = await run_until_error(make("not-json"))
    assert events == [TextDelta("Fine so far")]
    assert "not a chat-completions chunk" in str(error) and not error.configuration


async def test_finished_streams_reuse_the_connection(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected: list[Any] = []
    original = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> Any:
        connected.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    backend = make("text:reuse")
    for _ in range(3):
        assert (await collect(backend.stream(request_for("q"))))[-1] == Finish("stop")
    assert len(connected) == 1  # the body is read to its end, so the pool keeps it


# -- tool calls ----------------------------------------------------------------------


async def test_streamed_tool_call_deltas_are_assembled(make: Make, fake: FakeOpenAIServer) -> None:
    events = await collect(make("tools").stream(request_for("invoice 42?", tools=[INVOICE_TOOL])))
    calls = [e for e in events if isinstance(e, ToolCallRequest)]
    assert calls == [
        ToolCallRequest("call_a", "lookup_invoice", {"invoice_id": "INV-42", "pdf": True}),
        ToolCallRequest("call_b", "list_seats", {}),
    ]
    assert events[-2:] == [Usage(80, 25), Finish("tool_calls")]
    (body,) = fake.requests_for("tools")
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup_invoice",
                "description": "Find an invoice of the caller's workspace",
                "parameters": INVOICE_TOOL.parameters,
            },
        }
    ]


async def test_tool_round_history_is_sent_in_openai_shape(
    make: Make, fake: FakeOpenAIServer
) -> None:
    call = ToolCallRequest("call_a", "lookup_invoice", {"invoice_id": "INV-42"})
    history = (
        ChatMessage("user", "invoice 42?"),
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", '{"total": 10}', tool_call_id="call_a"),
    )
    await collect(make("text:history").stream(request_for(history=history)))
    (body,) = fake.requests_for("text:history")
    assert body["messages"][1:] == [
        {"role": "user", "content": "invoice 42?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "lookup_invoice", "arguments": '{"invoice_id": "INV-42"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": '{"total": 10}'},
    ]


async def test_malformed_tool_arguments_fail_the_call(make: Make) -> None:
    _, error = await run_until_error(make("bad-tool-args"))
    assert "malformed JSON" in str(error) and not error.configuration


# -- failures ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_are_vendor_outages(
    make: Make, fake: FakeOpenAIServer, status: int
) -> None:
    model = f"error-{status}"
    events, error = await run_until_error(make(model))
    assert events == []
    assert not error.configuration
    assert f"HTTP {status}" in str(error)
    assert len(fake.requests_for(model)) == 1  # max_retries=0: exactly one attempt


@pytest.mark.parametrize(
    ("status", "hint"),
    [(401, "SUPPORTAI_OPENAI_API_KEY"), (403, "may not use"), (404, "SUPPORTAI_OPENAI_MODEL")],
)
async def test_auth_and_model_errors_are_configuration_errors(
    make: Make, status: int, hint: str
) -> None:
    _, error = await run_until_error(make(f"error-{status}"))
    assert error.configuration
    assert hint in str(error)
    assert "sk-test-secret" not in str(error)


async def test_client_retries_server_errors_before_the_stream(
    make: Make, fake: FakeOpenAIServer
) -> None:
    await run_until_error(make("error-503:retried", max_retries=1))
    assert len(fake.requests_for("error-503:retried")) == 2


async def test_a_stalled_stream_fails_after_the_idle_timeout(make: Make) -> None:
    started = time.perf_counter()
    events, error = await run_until_error(make("stall", idle_timeout_s=0.3))
    elapsed = time.perf_counter() - started
    assert events == [TextDelta("Thinking")]
    assert "stalled" in str(error) and not error.configuration
    assert 0.25 <= elapsed < 2.5


async def test_a_stream_that_never_starts_fails_after_the_idle_timeout(make: Make) -> None:
    events, error = await run_until_error(make("stall-first", idle_timeout_s=0.3))
    assert events == [] and "stalled" in str(error)


async def test_connection_lost_before_first_event_is_retried(
    make: Make, fake: FakeOpenAIServer
) -> None:
    events = await collect(make("broken-once:a", connect_retries=1).stream(request_for("q")))
    assert texts(events).startswith("Reset it")
    assert events[-1] == Finish("stop")
    assert len(fake.requests_for("broken-once:a")) == 2


async def test_connection_lost_without_retries_left_is_an_outage(
    make: Make, fake: FakeOpenAIServer
) -> None:
    events, error = await run_until_error(make("broken-once:b", connect_retries=0))
    assert events == [] and "lost" in str(error) and not error.configuration
    assert len(fake.requests_for("broken-once:b")) == 1


async def test_connection_lost_after_text_is_never_retried(
    make: Make, fake: FakeOpenAIServer
) -> None:
    events, error = await run_until_error(make("broken-after-text", connect_retries=3))
    assert events == [TextDelta("Partial answer")]
    assert "mid-answer" in str(error)
    assert len(fake.requests_for("broken-after-text")) == 1


async def test_unreachable_server_is_an_outage(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempts: list[Any] = []
    original = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> Any:
        attempts.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    backend = make("text", base_url=f"http://127.0.0.1:{port}/v1", connect_retries=3)
    _, error = await run_until_error(backend)
    assert not error.configuration
    assert f"could not connect to http://127.0.0.1:{port}" in str(error)
    # Connecting is the client's job (MAX_RETRIES=0 here): CONNECT_RETRIES adds nothing.
    assert len(attempts) == 1


async def test_error_event_inside_the_stream_is_an_outage(make: Make) -> None:
    events, error = await run_until_error(make("midstream-error"))
    assert events == [TextDelta("Starting")]
    assert "model overloaded" in str(error)


async def test_an_empty_stream_is_an_outage(make: Make) -> None:
    _, error = await run_until_error(make("empty"))
    assert "empty stream" in str(error)


async def test_connects_only_to_the_configured_server(
    make: Make, fake: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected: list[Any] = []
    original = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> Any:
        connected.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    await collect(make("tools:egress").stream(request_for("q", context=CONTEXT)))
    port = int(fake.base_url.rsplit(":", 1)[1].split("/")[0])
    assert connected and {tuple(a[:2]) for a in connected} == {("127.0.0.1", port)}


# -- pure conversions ----------------------------------------------------------------


def test_context_goes_after_leading_system_messages_only() -> None:
    messages = [ChatMessage("user", "hi"), ChatMessage("system", "late system note")]
    converted = to_openai_messages(messages, CONTEXT[:1], "Use these.")
    assert [m["role"] for m in converted] == ["system", "user", "system"]
    assert converted[0]["content"].startswith("Use these.\n\n[1] Resetting your password")
    assert to_openai_messages(messages, (), "x") == [
        {"role": "user", "content": "hi"},
        {"role": "system", "content": "late system note"},
    ]


@pytest.mark.parametrize(("raw", "parsed"), [("", {}), ("  ", {}), ('{"a": [1]}', {"a": [1]})])
def test_parse_arguments(raw: str, parsed: dict[str, Any]) -> None:
    assert parse_arguments("t", raw) == parsed


@pytest.mark.parametrize("raw", ["[1, 2]", "{oops", '"text"'])
def test_parse_arguments_rejects_non_objects(raw: str) -> None:
    with pytest.raises(BackendError):
        parse_arguments("t", raw)


def test_the_sdk_runs_on_aiohttp_unless_httpx_is_asked_for() -> None:
    """auto: the SDK's aiohttp client when its extra is installed (a plugin dependency)."""
    assert isinstance(sdk_http_client("auto"), openai.DefaultAioHttpClient)
    assert isinstance(sdk_http_client("aiohttp"), openai.DefaultAioHttpClient)
    assert sdk_http_client("httpx") is None


def test_asking_for_aiohttp_without_the_extra_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hide_installed_module(monkeypatch, "httpx_aiohttp")
    assert sdk_http_client("auto") is None  # falls back to the SDK's httpx
    with pytest.raises(ConfigurationError, match=r"openai\[aiohttp\]"):
        sdk_http_client("aiohttp")
