"""The backends mounted in a real supportai app: settings from the environment, entry point
loading, a streamed turn over SSE with citations, and grounding of the openai backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_backends_fake_openai import FakeOpenAIServer, serve
from llm_backends_testing import LUMEN_ARTICLES
from supportai_llm_backends.settings import NOT_FOUND_MESSAGE

from supportai.settings import Settings
from supportai.testing import as_user, parse_sse, plugin

SSE = {**as_user(), "accept": "text/event-stream"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    yield from serve()


def env_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    """Settings the way a host deploys them: from SUPPORTAI_* environment variables."""
    monkeypatch.setenv("SUPPORTAI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SUPPORTAI_DISCLOSURE_REQUIRED", "false")
    monkeypatch.setenv("SUPPORTAI_PLUGINS", '["llm_backends"]')  # only this distribution
    monkeypatch.setenv("SUPPORTAI_KB_ARTICLES_DIR", str(LUMEN_ARTICLES))
    monkeypatch.setenv(
        "SUPPORTAI_PRICES",
        '{"knowledge-base": {"input_per_1k_micros": 0, "output_per_1k_micros": 0}}',
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


async def ask(client: Any, question: str) -> list[tuple[str, dict[str, Any]]]:
    r = await client.post("/conversations", json={"title": "Help"}, headers=as_user())
    assert r.status_code == 200, r.text
    cid = r.json()["conversation_id"]
    r = await client.post(f"/conversations/{cid}/messages", json={"content": question}, headers=SSE)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return parse_sse(r.text)


def answer_of(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(data["text"] for name, data in events if name == "delta")


async def test_knowledge_base_answers_with_a_citation(
    supportai_app: Any, supportai_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = env_settings(tmp_path, monkeypatch, SUPPORTAI_LLM_BACKEND="knowledge_base")
    app = supportai_app(settings, load_entry_points=True)
    events = await ask(supportai_client(app), "How do I reset my password?")
    names = [name for name, _ in events]
    assert names[0] == "turn.started" and names[-1] == "turn.completed"
    assert names.count("delta") > 3  # streamed in pieces, not one blob
    assert "Forgot password?" in answer_of(events)
    citations = [data for name, data in events if name == "citation"]
    assert citations[0]["source_id"] == "password-reset"
    assert citations[0]["title"] == "Resetting your password"
    completed = events[-1][1]
    assert completed["finish_reason"] == "stop" and completed["cost_micros"] == 0
    assert completed["usage"]["output_tokens"] > 0


async def test_knowledge_base_says_so_when_it_does_not_know(
    supportai_app: Any, supportai_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = env_settings(tmp_path, monkeypatch, SUPPORTAI_LLM_BACKEND="knowledge_base")
    app = supportai_app(settings, load_entry_points=True)
    events = await ask(supportai_client(app), "Who won the football game yesterday?")
    assert answer_of(events) == NOT_FOUND_MESSAGE
    assert not [name for name, _ in events if name == "citation"]


async def test_the_not_found_answer_is_in_the_user_s_words(
    supportai_app: Any, supportai_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``supportai_user_strings`` words it per locale; the setting stays everyone else's text."""
    settings = env_settings(
        tmp_path,
        monkeypatch,
        SUPPORTAI_LLM_BACKEND="knowledge_base",
        SUPPORTAI_KB_NOT_FOUND_MESSAGE="Not in our help center.",
    )

    def strings(locale: str | None) -> dict[str, str] | None:
        return {"answer.not_found": "Nicht im Hilfe-Center."} if locale == "de" else None

    app = supportai_app(
        settings, plugins=[plugin(supportai_user_strings=strings)], load_entry_points=True
    )
    client = supportai_client(app)
    question = "Who won the football game yesterday?"
    assert answer_of(await ask(client, question)) == "Not in our help center."
    r = await client.post("/conversations", json={}, headers=as_user())
    german = {**SSE, "accept-language": "de"}
    r = await client.post(
        f"/conversations/{r.json()['conversation_id']}/messages",
        json={"content": question},
        headers=german,
    )
    assert answer_of(parse_sse(r.text)) == "Nicht im Hilfe-Center."


async def test_openai_backend_is_grounded_by_the_help_center(
    supportai_app: Any,
    supportai_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeOpenAIServer,
) -> None:
    settings = env_settings(
        tmp_path,
        monkeypatch,
        SUPPORTAI_LLM_BACKEND="openai",
        SUPPORTAI_OPENAI_BASE_URL=fake.base_url,
        SUPPORTAI_OPENAI_API_KEY="sk-integration",
        SUPPORTAI_OPENAI_MODEL="text:grounded",
        SUPPORTAI_OPENAI_MAX_RETRIES="0",
    )
    app = supportai_app(settings, load_entry_points=True)
    events = await ask(supportai_client(app), "How do I reset my password?")
    assert answer_of(events).startswith("Reset it from the sign-in page [1].")
    (body,) = fake.requests_for("text:grounded")
    grounding = [m["content"] for m in body["messages"] if m["role"] == "system"]
    assert any("[1] Resetting your password" in text for text in grounding)
    citations = [data for name, data in events if name == "citation"]
    assert citations and citations[0]["source_id"] == "password-reset"
    assert events[-1][1]["usage"] == {"input_tokens": 42, "output_tokens": 17}


async def test_openai_outage_becomes_a_typed_error_event(
    supportai_app: Any,
    supportai_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeOpenAIServer,
) -> None:
    settings = env_settings(
        tmp_path,
        monkeypatch,
        SUPPORTAI_LLM_BACKEND="openai",
        SUPPORTAI_OPENAI_BASE_URL=fake.base_url,
        SUPPORTAI_OPENAI_API_KEY="sk-integration",
        SUPPORTAI_OPENAI_MODEL="error-503",
        SUPPORTAI_OPENAI_MAX_RETRIES="0",
    )
    app = supportai_app(settings, load_entry_points=True)
    events = await ask(supportai_client(app), "How do I reset my password?")
    errors = [data for name, data in events if name == "error"]
    assert errors and errors[0]["reason"] == "vendor_outage"
    assert "sk-integration" not in str(events)
