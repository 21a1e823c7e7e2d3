"""A question that asks whether the product has something ("is there a dark mode?") is
answered only by an article that speaks of that thing (decision 0026), and one that asks
whether it works with another product ("does it integrate with Salesforce?") only by an
article that names that product (decision 0027)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from llm_backends_fake_embeddings import vector
from llm_backends_testing import folder_service
from supportai_llm_backends.retrieval.index import Weights
from supportai_llm_backends.retrieval.query import asked_feature, asked_tool
from supportai_llm_backends.retrieval.service import RetrievalService

from supportai.embeddings import Embedder


@pytest.mark.parametrize(
    ("question", "feature"),
    [
        ("is there a dark mode?", "a dark mode"),
        ("Are there hotkeys? I hate the mouse", "hotkeys"),
        (
            "Does Lumen have burndown charts or velocity reports?",
            "burndown charts or velocity reports",
        ),
        ("do you guys have an android app", "an android app"),
        ("We're an agency. Do you offer a discount for charities?", "a discount for charities"),
        ("does the app support Apple Watch", "Apple Watch"),
        ("have you got a referral program?", "a referral program"),
        (
            "Thanks. Any chrome extension to save a page as a task?",
            "chrome extension to save a page as a task",
        ),
    ],
)
def test_the_thing_a_question_asks_the_product_to_have(question: str, feature: str) -> None:
    assert asked_feature(question) == feature


@pytest.mark.parametrize(
    "question",
    [
        "how do I reset my password?",
        # an action in the reader's words, not the name of a feature
        "is there a way to get my deadlines into Outlook?",
        "Is there any way to undo this?",
        "is there anything I can do?",  # only stop words
        "can I export a project?",
        "company: any",  # "any" that starts no sentence
        "I tried a few things. Any help is appreciated, cheers!",  # asks nothing
        "Hi, is there anyone around today? I need help with an export.",  # a person
    ],
)
def test_other_questions_ask_for_no_feature(question: str) -> None:
    assert asked_feature(question) is None


@pytest.mark.parametrize(
    ("question", "tool"),
    [
        ("Does Lumen integrate with Salesforce?", "Salesforce"),
        ("can I connect Lumen to HubSpot", "HubSpot"),
        ("can lumen two-way sync with an airtable base", "airtable base"),
        ("does it work with calendly, like book a meeting", "calendly"),
        ("can we pay with PayPal?", "PayPal"),
        ("can Lumen post task updates to our Discord server", "Discord server"),
        ("Is there a Salesforce integration?", "Salesforce"),
        ("is there an integration with jira?", "jira"),
        ("HubSpot integration?", "HubSpot"),
        ("Thanks! Zoom plugin?", "Zoom"),
        # the product's own name stays: every article holds it, so it weighs nothing
        ("power bi connector for lumen, does that exist", "power bi lumen"),
    ],
)
def test_the_other_product_a_question_asks_to_work_with(question: str, tool: str) -> None:
    assert asked_tool(question) == tool


@pytest.mark.parametrize(
    "question",
    [
        "why can't the app connect to the server?",  # a fault, not a tool
        "can I not connect to the VPN?",
        "can I connect to a live agent?",  # a person
        "can you connect me to someone in billing?",
        "how do I remove an integration?",  # an integration, not a named one
        "how do I set up the integration with slack?",  # how, not whether
        "is there a dark mode?",  # a feature, not a tool (asked_feature's)
        "how do I reset my password?",
        "will your event callbacks post to it?",  # only stop words
    ],
)
def test_other_questions_ask_for_no_tool(question: str) -> None:
    assert asked_tool(question) is None


MOBILE = """# The Acme mobile app

The app for iOS and Android lets you check your tasks and comment on the go.

## Read-only mode

Without a connection the app opens in read-only mode until it syncs again.
"""
SHORTCUTS = """# Working faster

Press a key instead of reaching for the mouse.

## Shortcuts for tasks

Press N for a new task and / to search.
"""


class SynonymEmbedder:
    """Bag-of-words vectors in which "hotkeys" is the same word as "shortcuts": what a
    real embedder knows and the articles' words do not say."""

    name = "synonyms"
    model = "synonyms-v1"

    async def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        return [vector(text.lower().replace("hotkeys", "shortcuts")) for text in texts]


def service(
    folder: Path, *, feature_coverage: float = 0.2, phrase_weight: float = 0.25, **options: float
) -> RetrievalService:
    embedder: Embedder = SynonymEmbedder()
    return folder_service(
        folder,
        embedder,
        weights=Weights(dense_phrase=phrase_weight),
        feature_coverage=feature_coverage,
        feature_phrase=options.get("feature_phrase", 0.5),
        suggest_min_score=options.get("suggest_min_score"),
    )


@pytest.fixture
def help_center(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "mobile-app.md").write_text(MOBILE, encoding="utf-8")
    (folder / "shortcuts.md").write_text(SHORTCUTS, encoding="utf-8")
    return folder


async def test_a_feature_no_article_names_gets_the_honest_fallback(help_center: Path) -> None:
    """The closest article shares the question's other words ("app"), not the feature."""
    found = await service(help_center).search("acme", "is there a dark theme for the app?")
    assert found.hits[0].article_id == "mobile-app"
    assert not found.answered
    assert not found.suggested  # no suggestion band configured


async def test_what_it_would_have_quoted_stays_a_suggestion(help_center: Path) -> None:
    found = await service(help_center, suggest_min_score=0.0).search(
        "acme", "is there a dark theme for the app?"
    )
    assert not found.answered and found.suggested
    assert found.hits[0].article_id == "mobile-app"


async def test_a_feature_the_article_names_is_answered(help_center: Path) -> None:
    found = await service(help_center).search("acme", "is there a read-only mode in the app?")
    assert found.answered and found.hits[0].article_id == "mobile-app"


async def test_any_other_question_is_answered_as_before(help_center: Path) -> None:
    found = await service(help_center).search("acme", "what does the app do for dark themes?")
    assert found.answered and found.hits[0].article_id == "mobile-app"


async def test_switched_off_the_closest_article_answers(help_center: Path) -> None:
    found = await service(help_center, feature_coverage=0).search(
        "acme", "is there a dark theme for the app?"
    )
    assert found.answered


async def test_the_host_s_own_word_for_the_feature_lets_it_through(help_center: Path) -> None:
    """No article says "hotkeys", but the embedder reads it as "shortcuts", and a heading
    ("Shortcuts for tasks") is close enough to it, so the article answers."""
    found = await service(help_center).search("acme", "any hotkeys?")
    assert found.hits[0].article_id == "shortcuts"
    assert found.answered
    # the same question without the phrase vectors, or with a stricter phrase cut: refused
    without = await service(help_center, phrase_weight=0.0).search("acme", "any hotkeys?")
    assert without.hits[0].article_id == "shortcuts" and not without.answered
    strict = await service(help_center, feature_phrase=0.9).search("acme", "any hotkeys?")
    assert not strict.answered


async def test_the_question_around_the_feature_does_not_count(help_center: Path) -> None:
    """Only the feature is compared with the phrases: the product's name in the question
    ("does Acme have…") is in the title too, and would bring the question close to it."""
    question = "does Acme have a dark theme?"
    found = await service(help_center, feature_phrase=0.15).search("acme", question)
    assert found.hits[0].article_id == "mobile-app"
    assert not found.answered
    # the whole question is that close to the title; the feature is not
    title, asked, feature = (
        np.asarray(vector(text)) for text in ("The Acme mobile app", question, "a dark theme")
    )
    assert cosine(asked, title) >= 0.15 > cosine(feature, title)


def cosine(first: np.ndarray, second: np.ndarray) -> float:
    return float(first @ second / (np.linalg.norm(first) * np.linalg.norm(second)))


INTEGRATIONS = """# Connecting Acme to other tools

Acme works with the tools your team already uses.

## Slack

Post task updates into a Slack channel.

## Removing an integration

Open Settings and click Disconnect next to the tool.
"""


@pytest.fixture
def tools_center(help_center: Path) -> Path:
    (help_center / "integrations.md").write_text(INTEGRATIONS, encoding="utf-8")
    return help_center


@pytest.mark.parametrize(
    "question",
    ["does Acme integrate with Salesforce?", "is there a Salesforce integration?"],
)
async def test_a_tool_no_article_names_gets_the_honest_fallback(
    tools_center: Path, question: str
) -> None:
    """The integrations article shares "integrate" and "tools" with the question, not the
    product asked about."""
    found = await service(tools_center).search("acme", question)
    assert found.hits[0].article_id == "integrations"
    assert not found.answered


@pytest.mark.parametrize(
    "question",
    [
        "does Acme integrate with Slack?",
        "is there a Slack integration?",
        "how do I remove an integration?",
    ],
)
async def test_a_named_tool_and_any_other_integration_question_are_answered(
    tools_center: Path, question: str
) -> None:
    found = await service(tools_center).search("acme", question)
    assert found.answered and found.hits[0].article_id == "integrations"


async def test_a_tool_is_only_named_by_its_name(tools_center: Path) -> None:
    """A heading close to a feature lets the host's word for it through ("hotkeys" reads
    as "Shortcuts for tasks"), but a product asked about must be named: the same word as
    a tool is refused."""
    assert (await service(tools_center).search("acme", "any hotkeys?")).answered
    found = await service(tools_center).search("acme", "will it work with hotkeys?")
    assert found.hits[0].article_id == "shortcuts"
    assert not found.answered
