"""The knowledge_base backend: retrieval, extractive answers, honest not-found, streaming."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_backends_testing import FIXTURE_ARTICLES, collect, kb_settings, request_for
from supportai_llm_backends.knowledge import (
    KnowledgeBase,
    knowledge_base_for,
    query_terms,
    truncate,
)
from supportai_llm_backends.knowledge_base import KnowledgeBaseBackend, chunk_words
from supportai_llm_backends.settings import NOT_FOUND_MESSAGE
from supportai_llm_backends.tokens import approx_tokens

from supportai.errors import ConfigurationError
from supportai.llm import Citation, Finish, LLMBackend, TextDelta, Usage


def text_of(events: list[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_backend_satisfies_the_protocol(fixture_kb: KnowledgeBase) -> None:
    backend = KnowledgeBaseBackend(fixture_kb)
    assert isinstance(backend, LLMBackend)
    assert (backend.name, backend.model) == ("knowledge_base", "knowledge-base")


async def test_answer_quotes_the_best_article_and_cites_it(fixture_kb: KnowledgeBase) -> None:
    events = await collect(KnowledgeBaseBackend(fixture_kb).stream(request_for("forgot password")))
    text = text_of(events)
    assert "Forgot password?" in text
    assert "Refund" not in text
    citations = [e for e in events if isinstance(e, Citation)]
    assert [(c.source_id, c.title, c.url) for c in citations] == [
        ("reset-password", "Resetting your password", None)
    ]
    assert citations[0].snippet and citations[0].snippet in text
    # Events come in protocol order: text, citations, usage, finish.
    kinds = [type(e).__name__ for e in events]
    assert kinds[-3:] == ["Citation", "Usage", "Finish"]
    assert set(kinds[:-3]) == {"TextDelta"}
    assert events[-1] == Finish("stop")


async def test_deltas_are_a_few_words_and_rebuild_the_text_exactly(
    fixture_kb: KnowledgeBase,
) -> None:
    backend = KnowledgeBaseBackend(KnowledgeBase.from_settings(kb_settings(words_per_delta=3)))
    events = await collect(backend.stream(request_for("how do I reset my password")))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 5
    assert all(1 <= len(d.split()) <= 3 for d in deltas)
    composed = backend.compose(request_for("how do I reset my password"))
    assert "".join(deltas) == composed.text


async def test_usage_is_approximated_as_chars_over_four(fixture_kb: KnowledgeBase) -> None:
    events = await collect(KnowledgeBaseBackend(fixture_kb).stream(request_for("refund policy")))
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage == Usage(approx_tokens("refund policy"), approx_tokens(text_of(events)))
    assert approx_tokens("") == 0 and approx_tokens("abcde") == 2


@pytest.mark.parametrize(
    "question", ["what is the weather in Paris", "tell me a joke", "??", "the and of"]
)
async def test_nothing_relevant_gives_the_honest_answer_without_citations(
    fixture_kb: KnowledgeBase, question: str
) -> None:
    events = await collect(KnowledgeBaseBackend(fixture_kb).stream(request_for(question)))
    assert text_of(events) == NOT_FOUND_MESSAGE
    assert not [e for e in events if isinstance(e, Citation)]
    assert events[-1] == Finish("stop")


async def test_an_article_with_nothing_to_quote_is_not_an_answer(tmp_path: Path) -> None:
    (tmp_path / "sso.md").write_text("# Single sign-on with Okta\n", encoding="utf-8")
    (tmp_path / "other.md").write_text("# Other\n\nUnrelated text.\n", encoding="utf-8")
    kb = KnowledgeBase.from_settings(kb_settings(tmp_path))
    assert [h.article.source_id for h in kb.search("okta sign-on", 3)] == ["sso"]
    events = await collect(KnowledgeBaseBackend(kb).stream(request_for("okta sign-on")))
    assert text_of(events) == NOT_FOUND_MESSAGE
    assert not [e for e in events if isinstance(e, Citation)]
    assert kb.context_documents("okta sign-on", 3) == []


async def test_min_score_is_the_threshold_for_an_answer() -> None:
    strict = KnowledgeBase.from_settings(kb_settings(min_score=50.0))
    events = await collect(KnowledgeBaseBackend(strict).stream(request_for("forgot password")))
    assert text_of(events) == NOT_FOUND_MESSAGE


async def test_coverage_rejects_an_article_matching_only_a_minor_word(
    fixture_kb: KnowledgeBase,
) -> None:
    # "android" is in one article, but "kubernetes" and "helm" carry most of the weight.
    question = "deploy kubernetes helm chart on android"
    assert fixture_kb.search(question, 3) == []
    lenient = KnowledgeBase.from_settings(kb_settings(min_coverage=0.0))
    assert [h.article.source_id for h in lenient.search(question, 3)] == ["mobile-app"]


async def test_a_short_follow_up_is_read_with_the_previous_question(
    fixture_kb: KnowledgeBase,
) -> None:
    backend = KnowledgeBaseBackend(fixture_kb)
    alone = await collect(backend.stream(request_for("and within 14 days?")))
    assert text_of(alone) != NOT_FOUND_MESSAGE  # "days" alone is enough here
    events = await collect(backend.stream(request_for("Can I get a refund?", "and after that?")))
    assert [e.source_id for e in events if isinstance(e, Citation)] == ["refunds"]


async def test_no_user_message_is_not_found(fixture_kb: KnowledgeBase) -> None:
    events = await collect(KnowledgeBaseBackend(fixture_kb).stream(request_for()))
    assert text_of(events) == NOT_FOUND_MESSAGE


async def test_url_template_and_custom_not_found_message() -> None:
    kb = KnowledgeBase.from_settings(
        kb_settings(url_template="https://help.example/a/{source_id}", not_found_message="Nope.")
    )
    events = await collect(KnowledgeBaseBackend(kb).stream(request_for("refund")))
    citation = next(e for e in events if isinstance(e, Citation))
    assert citation.url == "https://help.example/a/refunds"
    missing = await collect(KnowledgeBaseBackend(kb).stream(request_for("quantum physics")))
    assert text_of(missing) == "Nope."


async def test_small_max_output_tokens_cuts_cleanly_and_reports_length() -> None:
    backend = KnowledgeBaseBackend(KnowledgeBase.from_settings(kb_settings()))
    events = await collect(backend.stream(request_for("reset password", max_output_tokens=10)))
    text = text_of(events)
    assert 0 < len(text) <= 40
    assert events[-1] == Finish("length")
    assert [e.source_id for e in events if isinstance(e, Citation)] == ["reset-password"]


async def test_max_answer_chars_bounds_the_quote_without_length_finish() -> None:
    kb = KnowledgeBase.from_settings(kb_settings(max_answer_chars=80))
    events = await collect(KnowledgeBaseBackend(kb).stream(request_for("refund")))
    assert len(text_of(events)) <= 80
    assert events[-1] == Finish("stop")


async def test_delta_delay_paces_the_stream() -> None:
    import time

    kb = KnowledgeBase.from_settings(kb_settings(delta_delay_s=0.01, words_per_delta=50))
    started = time.perf_counter()
    events = await collect(KnowledgeBaseBackend(kb).stream(request_for("refund")))
    deltas = sum(isinstance(e, TextDelta) for e in events)
    assert time.perf_counter() - started >= 0.01 * deltas


async def test_knowledge_base_opens_no_connection(
    fixture_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def refuse(*args: object) -> None:
        raise AssertionError(f"the knowledge base tried to connect: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    events = await collect(KnowledgeBaseBackend(fixture_kb).stream(request_for("refund")))
    assert events[-1] == Finish("stop")


def test_title_only_match_quotes_the_first_passage(fixture_kb: KnowledgeBase) -> None:
    article = next(a for a in fixture_kb.articles if a.source_id == "untitled_note")
    texts, cut = fixture_kb.passages_for(article, query_terms("untitled"), 500)
    assert texts == [article.passages[0].text] and not cut


def test_configuration_errors_name_the_setting(tmp_path: object) -> None:
    from supportai_llm_backends.settings import KnowledgeBaseSettings

    with pytest.raises(ConfigurationError, match="SUPPORTAI_KB_ARTICLES_DIR"):
        KnowledgeBase.from_settings(KnowledgeBaseSettings())
    with pytest.raises(ConfigurationError, match="is not a folder"):
        KnowledgeBase.from_settings(kb_settings(Path("/nonexistent/articles")))
    assert isinstance(tmp_path, Path)
    with pytest.raises(ConfigurationError, match=r"no \*\.md"):
        KnowledgeBase.from_settings(kb_settings(tmp_path))


def test_bad_url_template_fails_validation() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="url_template"):
        kb_settings(url_template="https://help.example/{slug}")


def test_knowledge_base_for_builds_each_configuration_once() -> None:
    first = knowledge_base_for(kb_settings())
    assert knowledge_base_for(kb_settings()) is first
    assert knowledge_base_for(kb_settings(k1=1.5)) is not first


def test_chunk_words_and_truncate() -> None:
    assert chunk_words("one two  three\nfour five", 2) == ["one two  ", "three\nfour ", "five"]
    assert chunk_words("", 3) == []
    assert truncate("short", 10) == "short"
    assert truncate("First sentence here. Second sentence is long.", 30) == "First sentence here."
    assert truncate("abcdefghij klmnopqrstu vwxyz", 20) == "abcdefghij…"


# -- the Lumen help center (examples/host_app/articles) -----------------------------

LUMEN_QUESTIONS = [
    ("how do I reset my password", "password-reset"),
    ("I forgot my password and the email never came", "password-reset"),
    ("can I get a refund for my yearly renewal?", "refunds"),
    ("where can I download an invoice as PDF", "invoices"),
    ("set up SAML single sign-on with Okta", "single-sign-on"),
    ("I lost my phone and can't get my 2FA code", "two-factor-authentication"),
    ("how do I create an API token", "api-tokens"),
    ("verify the webhook signature", "webhooks"),
    ("my card was declined", "payment-methods"),
    ("keyboard shortcut to create a task", "keyboard-shortcuts"),
    ("import my boards from Trello", "importing-data"),
    ("how long do you keep deleted tasks", "data-retention"),
    ("how do I delete my account", "deleting-your-account"),
    ("how much is the Business plan per seat", "plans-and-pricing"),
    ("change my email address", "changing-your-email"),
    ("connect Slack to Lumen", "integrations"),
    ("is there an Android app", "mobile-app"),
    ("changes are not syncing, orange dot", "troubleshooting-sync"),
    ("who can see the audit log", "audit-log"),
    ("invite a client as a guest", "guest-access"),
    ("I want to talk to a person", "contacting-support"),
    ("downgrade from Business to Team", "changing-your-plan"),
    ("add a new user to my team", "seats-and-members"),
    ("how do I stop getting so many emails", "notifications"),
    ("make someone an admin", "roles-and-permissions"),
]


@pytest.mark.parametrize(("question", "expected"), LUMEN_QUESTIONS)
def test_lumen_questions_rank_the_right_article_first(
    lumen_kb: KnowledgeBase, question: str, expected: str
) -> None:
    hits = lumen_kb.search(question, 3)
    assert hits, question
    assert hits[0].article.source_id == expected


@pytest.mark.parametrize(
    "question",
    ["what's the weather in Paris tomorrow", "tell me a joke", "who won the football game"],
)
def test_lumen_off_topic_questions_find_nothing(lumen_kb: KnowledgeBase, question: str) -> None:
    assert lumen_kb.search(question, 3) == []


async def test_lumen_password_answer_streams_the_steps(lumen_kb: KnowledgeBase) -> None:
    events = await collect(
        KnowledgeBaseBackend(lumen_kb).stream(request_for("how do I reset my password"))
    )
    text = text_of(events)
    assert "Forgot password?" in text and "Send reset link" in text
    assert next(e.source_id for e in events if isinstance(e, Citation)) == "password-reset"


def test_fixture_folder_is_what_the_tests_assume() -> None:
    assert FIXTURE_ARTICLES.is_dir()
