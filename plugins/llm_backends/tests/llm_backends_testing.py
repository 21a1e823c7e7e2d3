"""Helpers shared by the tests of supportai-llm-backends (a unique module name, so the
tests of several plugin distributions can run in one pytest session)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from supportai_llm_backends.retrieval.index import Weights
from supportai_llm_backends.retrieval.service import RetrievalService
from supportai_llm_backends.retrieval.source import FileArticleSource
from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore
from supportai_llm_backends.settings import KnowledgeBaseSettings

from supportai.caller import Caller
from supportai.embeddings import Embedder
from supportai.llm import BackendEvent, BackendRequest, ChatMessage, ContextDocument, ToolSpec

FIXTURE_ARTICLES = Path(__file__).parent / "articles"
LUMEN_ARTICLES = Path(__file__).resolve().parents[3] / "examples" / "host_app" / "articles"
CALLER = Caller("tenant-1", "user-1")
EGRESS_GUARD = Path(__file__).resolve().parents[3] / "tests" / "egress_guard.py"

OFFLINE_SCRIPT = """
import importlib.util, json, logging, sys
spec = importlib.util.spec_from_file_location("egress_guard", sys.argv[1])
guard_module = importlib.util.module_from_spec(spec)
sys.modules["egress_guard"] = guard_module
spec.loader.exec_module(guard_module)
guard = guard_module.install()
import asyncio
from pathlib import Path
from supportai_llm_backends.retrieval import embedders
from supportai_llm_backends.retrieval.index import Weights
from supportai_llm_backends.retrieval.service import RetrievalService
from supportai_llm_backends.retrieval.source import FileArticleSource
from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore

async def main():
    service = RetrievalService(
        FileArticleSource(Path(sys.argv[2])), getattr(embedders, sys.argv[3]),
        MemoryEmbeddingStore(), weights=Weights(), min_score=0.0, lexical_min_score=1.0,
    )
    result = await service.search("t", "how do I get my money back?")
    return result.hits[0].article_id, result.index.model

top, model = asyncio.run(main())
print(json.dumps({"blocked": guard.blocked, "top": top, "model": model,
                  "root_handlers": len(logging.getLogger().handlers)}))
"""


def search_offline(embedder_class: str) -> dict[str, Any]:
    """One search of the fixture help center in a fresh interpreter (no model loaded yet),
    under the socket guard: what it found, and every connection it tried."""
    guard, articles = str(EGRESS_GUARD), str(FIXTURE_ARTICLES)
    run = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, guard, articles, embedder_class],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return report


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


def hide_installed_module(monkeypatch: Any, module: str) -> None:
    """Make ``importlib.util.find_spec(module)`` say it is not installed, as on a host
    without an optional extra (the plugin checks installs that way before importing)."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == module else real(name, *args),
    )


def folder_service(
    folder: Path,
    embedder: Embedder | None = None,
    *,
    weights: Weights | None = None,
    min_score: float = 0.0,
    lexical_min_score: float = 0.1,
    **options: Any,
) -> RetrievalService:
    """A retrieval service over a folder of Markdown articles, its vectors in memory, that
    notices an edited article at once (no version check interval): what the retrieval
    tests build, with their own embedder and whichever other options they vary."""
    return RetrievalService(
        FileArticleSource(folder),
        lambda: embedder,
        MemoryEmbeddingStore(),
        weights=weights or Weights(),
        min_score=min_score,
        lexical_min_score=lexical_min_score,
        version_check_s=0.0,
        **options,
    )
