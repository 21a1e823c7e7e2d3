"""The ``knowledge_base`` backend: grounded, extractive answers that cite at paragraph ends."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from llm_backends_testing import CALLER, FIXTURE_ARTICLES, LUMEN_ARTICLES, collect, request_for
from supportai_llm_backends.knowledge import service_for, truncate
from supportai_llm_backends.knowledge_base import (
    KnowledgeBaseBackend,
    chunk_words,
    context_documents,
    reads_as_follow_up,
)
from supportai_llm_backends.settings import NOT_FOUND_MESSAGE, KnowledgeBaseSettings

from supportai.errors import ConfigurationError
from supportai.llm import Citation, Finish, LLMBackend, TextDelta, Usage
from supportai.runtime import Runtime
from supportai.settings import Settings
from supportai.testing import plugin
from supportai.user_strings import DEFAULTS


def backend_for(
    folder: Path = FIXTURE_ARTICLES, plugins: Sequence[object] = (), **options: Any
) -> KnowledgeBaseBackend:
    settings = Settings(
        database_url="sqlite:///:memory:",
        llm_backend="knowledge_base",
        plugin_options={"kb": {"articles_dir": str(folder), **options}},
    )
    backend = Runtime.build(settings, plugins).backend
    assert isinstance(backend, KnowledgeBaseBackend)
    return backend


@pytest.fixture(scope="module")
def lumen(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBaseBackend:
    cache = tmp_path_factory.mktemp("lumen-embeddings")
    return backend_for(LUMEN_ARTICLES, embeddings_cache_dir=str(cache))


def text_of(events: list[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_backend_satisfies_the_protocol() -> None:
    backend = backend_for()
    assert isinstance(backend, LLMBackend)
    assert (backend.name, backend.model) == ("knowledge_base", "knowledge-base")


async def test_answer_quotes_the_section_with_its_heading_and_whole_list() -> None:
    events = await collect(backend_for().stream(request_for("how do I reset my password?")))
    text = text_of(events)
    assert "**Steps**" in text
    assert "1. Click **Forgot password?**" in text and "3. Choose a new password" in text
    citations = [e for e in events if isinstance(e, Citation)]
    assert [c.source_id for c in citations] == ["reset-password"]
    assert citations[0].title == "Resetting your password"
    assert isinstance(events[-2], Usage) and events[-1] == Finish("stop")


async def test_a_fact_in_a_heading_is_in_the_answer(lumen: KnowledgeBaseBackend) -> None:
    text = text_of(await collect(lumen.stream(request_for("How much is Business per seat?"))))
    assert "$16 per seat per month" in text


async def test_each_citation_follows_its_article_at_a_paragraph_boundary(
    lumen: KnowledgeBaseBackend,
) -> None:
    events = await collect(lumen.stream(request_for("how do I download an invoice as a PDF?")))
    text = ""
    for event in events:
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, Citation):
            # After the article's text, before the next one: never inside a paragraph.
            assert text and (text.endswith("\n\n") or event is events[-3])
    assert any(isinstance(e, Citation) and e.source_id == "invoices" for e in events)


async def test_deltas_are_a_few_words_and_rebuild_the_answer() -> None:
    backend = backend_for(words_per_delta=3)
    events = await collect(backend.stream(request_for("refund policy")))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert all(len(d.split()) <= 3 for d in deltas)
    composed = await backend.compose(request_for("refund policy"))
    assert "".join(deltas) == composed.text


async def test_nothing_relevant_gives_the_honest_answer_without_citations(
    lumen: KnowledgeBaseBackend,
) -> None:
    events = await collect(lumen.stream(request_for("tell me a joke about penguins")))
    assert text_of(events) == NOT_FOUND_MESSAGE
    assert not any(isinstance(e, Citation) for e in events)
    # the analytics count it (docs/analytics.md); an answer with quotes says False
    assert events[-1] == Finish("stop", not_found=True)


async def score_of(question: str, **options: Any) -> float:
    """The fused score of ``question``'s best article (the scale ``min_score`` is on)."""
    result = await backend_for(**options).service.search(CALLER.tenant_id, question)
    return result.hits[0].score


SUGGESTED = "my money was taken for a renewal I forgot to cancel"


async def test_a_close_miss_gets_the_fallback_then_the_closest_section_uncited() -> None:
    """Below ``min_score`` but above ``suggest_min_score``: honest first, then the closest
    section as a suggestion, never a citation (a citation claims the article answers)."""
    score = await score_of(SUGGESTED)
    backend = backend_for(
        min_score=score + 0.05,
        suggest_min_score=score - 0.05,
        url_template="https://help.example/{source_id}",
    )
    events = await collect(backend.stream(request_for(SUGGESTED)))
    text = text_of(events)
    fallback, lead, quote = text.split("\n\n", 2)
    assert fallback == NOT_FOUND_MESSAGE
    assert lead == f"{DEFAULTS['answer.suggestion']} [Refund policy](https://help.example/refunds)"
    assert "Monthly renewals are not refunded" in quote
    assert not any(isinstance(e, Citation) for e in events)
    assert events[-1] == Finish("stop", not_found=True)


async def test_a_suggestion_is_in_the_user_s_words() -> None:
    score = await score_of(SUGGESTED)

    def strings(locale: str | None) -> dict[str, str] | None:
        german = {"answer.not_found": "Nicht gefunden.", "answer.suggestion": "Vielleicht hilft:"}
        return german if locale == "de" else None

    backend = backend_for(
        plugins=[plugin(supportai_user_strings=strings)],
        min_score=score + 0.05,
        suggest_min_score=score - 0.05,
    )
    request = replace(request_for(SUGGESTED), locale="de")
    text = text_of(await collect(backend.stream(request)))
    assert text.startswith("Nicht gefunden.\n\nVielleicht hilft: **Refund policy**\n\n")


@pytest.mark.parametrize("offset", [0.01, None])
async def test_no_suggestion_below_its_threshold_or_when_unset(offset: float | None) -> None:
    score = await score_of(SUGGESTED)
    options: dict[str, Any] = {"min_score": score + 0.05}
    if offset is not None:
        options["suggest_min_score"] = score + offset
    composed = await backend_for(**options).compose(request_for(SUGGESTED))
    assert composed.text == NOT_FOUND_MESSAGE and composed.suggestion is None


async def test_a_suggestion_fits_the_output_budget_or_is_left_out() -> None:
    score = await score_of(SUGGESTED)
    options = {"min_score": score + 0.05, "suggest_min_score": score - 0.05}
    roomy = await backend_for(**options, max_answer_chars=600).compose(request_for(SUGGESTED))
    assert roomy.suggestion is not None and len(roomy.text) <= 600
    tight = await backend_for(**options).compose(request_for(SUGGESTED, max_output_tokens=40))
    assert tight.text == NOT_FOUND_MESSAGE


async def test_a_vague_follow_up_is_read_with_the_previous_question() -> None:
    backend = backend_for(min_score=0.9)
    composed = await backend.compose(
        request_for("how do I get a refund for my subscription?", "ok, and then?")
    )
    assert composed.quotes and composed.quotes[0].hit.article_id == "refunds"


async def test_a_new_question_out_of_scope_is_not_answered_from_the_previous_one() -> None:
    """Only a message that leans on the one before is read with it: a standalone question
    the help center does not cover gets the honest fallback, whatever was asked before."""
    backend = backend_for()
    for question in ("what is the weather in Paris tomorrow?", "can you write me a poem?"):
        composed = await backend.compose(
            request_for("how do I get a refund for my subscription?", question)
        )
        assert composed.text == NOT_FOUND_MESSAGE, question


@pytest.mark.parametrize(
    ("text", "follow_up"),
    [
        ("and on mobile?", True),
        ("what about guests?", True),
        ("is that refunded?", True),
        ("how much does it cost?", True),
        ("ok, and then?", True),
        ("What if I cancel?", True),
        ("what is the weather in Paris tomorrow?", False),
        ("do you sell hardware?", False),
        ("how do I reset my password", False),
        ("tell me a joke", False),
    ],
)
def test_what_reads_as_a_follow_up(text: str, follow_up: bool) -> None:
    assert reads_as_follow_up(text) is follow_up


async def test_no_user_message_is_not_found() -> None:
    composed = await backend_for().compose(request_for())
    assert composed.text == NOT_FOUND_MESSAGE


async def test_url_template_and_custom_not_found_message() -> None:
    backend = backend_for(
        url_template="https://help.example/{source_id}", not_found_message="Ask a human."
    )
    events = await collect(backend.stream(request_for("refund")))
    (citation,) = [e for e in events if isinstance(e, Citation)]
    assert citation.url == "https://help.example/refunds"
    assert (await backend.compose(request_for("quantum chromodynamics"))).text == "Ask a human."


async def test_the_answer_fits_max_answer_chars_in_whole_blocks(
    lumen: KnowledgeBaseBackend,
) -> None:
    small = backend_for(LUMEN_ARTICLES, max_answer_chars=200)
    composed = await small.compose(request_for("what keyboard shortcuts are there for a task?"))
    assert 0 < len(composed.text) <= 200


async def test_delta_delay_paces_the_stream() -> None:
    backend = backend_for(delta_delay_s=0.01)
    started = time.perf_counter()
    events = await collect(backend.stream(request_for("refund")))
    deltas = sum(isinstance(e, TextDelta) for e in events)
    assert time.perf_counter() - started >= 0.01 * deltas


async def test_context_documents_carry_headings_for_other_backends() -> None:
    backend = backend_for()
    documents = await context_documents(
        backend.service, backend.settings, "tenant-1", "reset my password steps", 2
    )
    assert documents[0].source_id == "reset-password"
    assert "**Steps**" in documents[0].text and documents[0].score > 0
    assert (
        await context_documents(
            backend.service, backend.settings, "tenant-1", "quantum chromodynamics", 2
        )
        == []
    )


@pytest.mark.parametrize("suggesting", [True, False])
async def test_a_suggestion_reaches_the_hook_only_as_a_suggestion(suggesting: bool) -> None:
    """The turn's filters must know the suggested article (the answer shows it), but no
    backend may cite it: the hook marks it, and gives nothing without a suggestion band."""
    score = await score_of(SUGGESTED)
    options: dict[str, Any] = {"min_score": score + 0.05}
    if suggesting:
        options["suggest_min_score"] = score - 0.05
    backend = backend_for(**options)
    documents = await context_documents(
        backend.service, backend.settings, CALLER.tenant_id, SUGGESTED, 3
    )
    if not suggesting:
        assert documents == []
        return
    (document,) = documents
    assert (document.source_id, document.suggestion) == ("refunds", True)
    composed = await backend.compose(request_for(SUGGESTED))
    assert composed.suggestion is not None
    assert composed.suggestion.text in (document.grounding or "")


def test_configuration_errors_name_the_setting(tmp_path: Path) -> None:
    def build(**kb: Any) -> Any:
        settings = Settings(
            database_url="sqlite:///:memory:",
            llm_backend="knowledge_base",
            plugin_options={"kb": kb},
        )
        return Runtime.build(settings)

    # Articles live in the app's database: a folder is only the optional fallback.
    assert build().backend.name == "knowledge_base"
    with pytest.raises(ConfigurationError, match="is not a folder"):
        build(articles_dir="/nonexistent/articles")
    with pytest.raises(ConfigurationError, match=r"no \*\.md"):
        build(articles_dir=str(tmp_path))


def test_bad_url_template_fails_validation() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="url_template"):
        KnowledgeBaseSettings(url_template="https://help.example/{slug}")


def test_one_service_per_app() -> None:
    backend = backend_for()
    assert backend.service is backend.service
    assert service_for is not None


def test_chunk_words_and_truncate() -> None:
    text = "One two  three\nfour five."
    assert "".join(chunk_words(text, 2)) == text
    assert chunk_words(text, 2)[0] == "One two  "
    assert truncate("Short.", 100) == "Short."
    cut = truncate("First sentence here. Second sentence is much longer than that.", 40)
    assert cut == "First sentence here."
    assert truncate("word " * 30, 20).endswith("…")


def test_unasked_paragraphs_are_dropped_but_a_section_s_steps_and_code_stay() -> None:
    """The relevance cutoff drops paragraphs that barely touch the question; the first
    block stays, and so do lists, tables and code blocks, whose words rarely repeat the
    question's even when they are the answer."""
    from supportai_llm_backends.retrieval.answer import relevant_blocks
    from supportai_llm_backends.retrieval.chunking import chunk_article, parse_markdown
    from supportai_llm_backends.retrieval.index import TenantIndex, Weights
    from supportai_llm_backends.retrieval.lexical import tokenize

    body = """# API limits

## When the API refuses a request

The API answers 429 Too Many Requests when a token sends too many requests.

```bash
sleep 30
```

1. Read the waiting time.
2. Sleep with some jitter.
3. Send it once more.

| Plan | Per minute |
| --- | --- |
| Free | 60 |

Invoices are emailed to the billing contacts every month.

## Plans

Each plan has its own price.
"""
    chunks = chunk_article(parse_markdown("api-limits", body))
    index = TenantIndex(chunks, None, Weights(), "v1", None)
    section = next(c for c in chunks if c.headings[-1:] == ("When the API refuses a request",))
    kinds = [block.kind for block in section.blocks]
    assert kinds == ["paragraph", "code", "list", "table", "paragraph"]
    tokens = tokenize("the API keeps answering 429 too many requests, what do I do?")
    kept = relevant_blocks(section, tokens, index, cutoff=0.35)
    assert [block.kind for block in kept] == ["paragraph", "code", "list", "table"]
    assert not any("Invoices" in block.text for block in kept)
    # a cutoff of 0 drops nothing
    assert relevant_blocks(section, tokens, index, cutoff=0.0) == list(section.blocks)
