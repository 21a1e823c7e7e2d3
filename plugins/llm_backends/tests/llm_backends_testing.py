"""Helpers shared by the tests of supportai-llm-backends (a unique module name, so the
tests of several plugin distributions can run in one pytest session)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from supportai_llm_backends.settings import KnowledgeBaseSettings

from supportai.caller import Caller
from supportai.llm import BackendEvent, BackendRequest, ChatMessage, ContextDocument, ToolSpec

FIXTURE_ARTICLES = Path(__file__).parent / "articles"
LUMEN_ARTICLES = Path(__file__).resolve().parents[3] / "examples" / "host_app" / "articles"
CALLER = Caller("tenant-1", "user-1")


def kb_settings(folder: Path = FIXTURE_ARTICLES, **overrides: Any) -> KnowledgeBaseSettings:
    return KnowledgeBaseSettings(articles_dir=folder, **overrides)


def request_for(
    *user_messages: str,
    max_output_tokens: int = 1024,
    tools: Sequence[ToolSpec] = (),
    context: Sequence[ContextDocument] = (),
    history: Sequence[ChatMessage] = (),
) -> BackendRequest:
    messages = [ChatMessage("system", "You are a support assistant."), *history]
    messages.extend(ChatMessage("user", text) for text in user_messages)
    return BackendRequest(
        messages=tuple(messages),
        caller=CALLER,
        conversation_id=7,
        max_output_tokens=max_output_tokens,
        tools=tuple(tools),
        context=tuple(context),
    )


async def collect(stream: AsyncIterator[BackendEvent]) -> list[BackendEvent]:
    return [event async for event in stream]
