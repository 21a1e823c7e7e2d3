"""The product's own name is left out of a question before it is embedded (decision 0028):
said in every article, it brings any question that holds it close to all of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from llm_backends_fake_embeddings import vector
from llm_backends_testing import folder_service
from supportai_llm_backends.retrieval.names import (
    SAMPLE,
    configured_names,
    product_names,
    without_names,
)
from supportai_llm_backends.retrieval.service import RetrievalService

from supportai.embeddings import Embedder

ARTICLES = {
    "password": "Forgot your Acme password? Open the sign-in page of your workspace and click "
    "Reset. Acme emails you a link from no-reply@acme.example.",
    "invoices": "Acme sends an invoice after every payment. Settings lists them all; "
    "download one as a PDF from your workspace.",
    "export": "Export a project from your workspace. Acme writes a CSV file; open "
    "Settings and click Export to start it.",
    "mobile": "The Acme app runs on iOS and Android. Settings on the phone show your "
    "workspace. Read more at https://acme.example/mobile.",
}


def test_the_name_is_a_word_most_articles_write_with_a_capital() -> None:
    """ "Acme" is in every article and always capitalised past a sentence's start (its
    lower-case uses in addresses and links do not count); "workspace" is in every one
    too, in lower case; "Settings" starts sentences, and is lower case elsewhere."""
    texts = [*ARTICLES.values()]
    texts[1] += " Adjust these settings any time."
    assert product_names(texts) == {"acme"}


def test_a_language_that_capitalises_its_nouns_names_nothing() -> None:
    """In German every noun has a capital: "Arbeitsbereich", "Einstellungen" and "Konto"
    qualify alongside the name, so the case tells nothing and no word is taken."""
    texts = [
        f"Öffne im Arbeitsbereich die Einstellungen von Acme. Dein Konto zeigt die Rechnung {i}."
        for i in range(6)
    ]
    assert product_names(texts) == frozenset()


def test_a_small_help_center_names_nothing() -> None:
    assert product_names(list(ARTICLES.values())[:3]) == frozenset()


def test_a_word_in_too_few_articles_is_no_name() -> None:
    texts = [text.replace("Acme", "the product") for text in ARTICLES.values()]
    texts[0] += " Acme."
    assert product_names(texts) == frozenset()


def test_a_large_help_center_is_read_from_a_sample() -> None:
    """Past ``SAMPLE`` articles only a sample is read (a 100k-section help center spent
    7.5 s of its build here), and it still tells the name from a word half of them use."""
    texts = [
        f"Article {i}. Open the Acme app and the Beta page" + (" in Zeta." if i % 2 else ".")
        for i in range(5 * SAMPLE)
    ]
    read = Reads(texts)
    assert product_names(read) == {"acme", "beta"}
    assert len(read.indices) == SAMPLE


class Reads(list[str]):
    """A list that remembers which of its items were read."""

    def __init__(self, items: list[str]) -> None:
        super().__init__(items)
        self.indices: set[int] = set()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int):
            self.indices.add(index)
        return super().__getitem__(index)


@pytest.mark.parametrize(
    ("question", "without"),
    [
        ("Who is the CEO of Acme?", "Who is the CEO of?"),
        ("can Acme's staff see my projects", "can staff see my projects"),
        ("does acme integrate with slack", "does integrate with slack"),
        ("Acme?", "Acme?"),  # nothing left to search: the question as it is
        ("is Acmeplex down?", "is Acmeplex down?"),  # another word
    ],
)
def test_the_name_is_left_out_of_a_question(question: str, without: str) -> None:
    assert without_names(question, frozenset({"acme"})) == without


def test_the_setting_lists_names_or_none() -> None:
    assert configured_names(None) is None  # found in the articles
    assert configured_names("") == frozenset()  # none
    assert configured_names("Acme, Acme Cloud") == frozenset({"acme", "acme cloud"})


class Recorder:
    """Bag-of-words vectors (texts sharing words are close); records what is embedded."""

    name = "recorder"
    model = "recorder-v1"

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        self.texts.extend(texts)
        return [vector(text) for text in texts]


def service(folder: Path, embedder: Recorder, names: frozenset[str] | None) -> RetrievalService:
    recorder: Embedder = embedder
    return folder_service(folder, recorder, product_names=names)


@pytest.fixture
def help_center(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for slug, body in ARTICLES.items():
        title = slug.capitalize()
        (folder / f"{slug}.md").write_text(f"# {title}\n\n{body}\n", encoding="utf-8")
    return folder


async def test_a_question_is_embedded_without_the_name(help_center: Path) -> None:
    embedder = Recorder()
    found = await service(help_center, embedder, None).search("t", "Who is the CEO of Acme?")
    assert embedder.texts[-1] == "Who is the CEO of?"
    # the name brought the question closer to every article than what it asks does
    kept = await service(help_center, Recorder(), frozenset()).search(
        "t", "Who is the CEO of Acme?"
    )
    assert found.score < kept.score


async def test_the_setting_replaces_the_names_found(help_center: Path) -> None:
    embedder = Recorder()
    await service(help_center, embedder, frozenset()).search("t", "Who is the CEO of Acme?")
    assert embedder.texts[-1] == "Who is the CEO of Acme?"  # empty: none left out
    await service(help_center, embedder, frozenset({"ceo"})).search("t", "Who is the CEO of Acme?")
    assert embedder.texts[-1] == "Who is the of Acme?"


async def test_what_the_question_asks_still_finds_its_article(help_center: Path) -> None:
    found = await service(help_center, Recorder(), None).search(
        "t", "how do I reset my Acme password?"
    )
    assert found.answered and found.hits[0].article_id == "password"
