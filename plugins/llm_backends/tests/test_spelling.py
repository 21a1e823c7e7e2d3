"""A question's typos are corrected to the help center's own words before it is searched."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_backends_testing import folder_service
from supportai_llm_backends.retrieval.service import RetrievalService
from supportai_llm_backends.retrieval.spelling import Speller, english_words, one_edit_variants

REFUNDS = """# Refund policy

You can ask for a refund within 14 days of your first payment. Refunds go back to the card
that paid.
"""
PASSWORDS = """# Resetting your password

Click **Forgot password** on the sign-in page and follow the link we e-mail you.
"""
INVOICES = """# Invoices

Every payment has an invoice: download it under **Settings → Billing → Invoices**.
"""


def speller(*texts: str) -> Speller:
    return Speller(texts, lambda word: False)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("refnud", "refund"),  # two neighbours swapped
        ("refud", "refund"),  # a letter dropped
        ("reffund", "refund"),  # a letter doubled
        ("refumd", "refund"),  # a letter changed
        ("pasword", "password"),
        ("invoces", "invoices"),
    ],
)
def test_one_slip_of_the_finger_becomes_the_help_centers_word(typed: str, meant: str) -> None:
    assert speller(REFUNDS, PASSWORDS, INVOICES).suggest(typed) == meant


@pytest.mark.parametrize(
    "word",
    [
        "refund",  # the help center's own word
        "cart",  # an English word one letter off the help center's "card": not a typo
        "bank",
        "rfnd",  # two letters off "refund": too far to tell what was meant
        "tken",  # nothing in the help center is one letter off it
    ],
)
def test_known_words_and_far_misses_are_left_alone(word: str) -> None:
    assert speller(REFUNDS, PASSWORDS, INVOICES).suggest(word) is None


def test_a_word_whose_stem_the_help_center_has_is_not_a_typo() -> None:
    # "invoiced" is not in the English list, and one letter off nothing; "refunder" is
    # one letter off "refunded" but shares its stem with "refund": BM25 matches it already.
    texts = ("refund refunded",)
    assert Speller(texts, lambda word: False).suggest("refunder") == "refunded"
    assert Speller(texts, lambda word: word.startswith("refund")).suggest("refunder") is None


def test_short_words_and_words_with_digits_are_never_touched() -> None:
    checker = speller("plan card code team", "h4ck")
    assert checker.suggest("pla") is None  # under four letters
    assert checker.suggest("cod3") is None
    assert checker.correct("my 2fa cod3 and the tem") == "my 2fa cod3 and the tem"


def test_the_word_more_sections_use_wins_and_ties_are_alphabetical() -> None:
    # "fxame" is one letter off both "frame" and "flame"
    assert speller("the frame", "a frame", "the flame").suggest("fxame") == "frame"
    assert speller("the frame", "the flame").suggest("fxame") == "flame"


def test_correct_replaces_only_the_typos_and_keeps_the_rest_of_the_text() -> None:
    checker = speller(REFUNDS, PASSWORDS)
    typed = "Hi! I was charged twice (order 1234), can I get a REFNUD? Or reset my pasword?"
    assert checker.correct(typed) == (
        "Hi! I was charged twice (order 1234), can I get a refund? Or reset my password?"
    )


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("refnud", True),  # swapped neighbours
        ("refud", True),  # dropped
        ("refunds", True),  # added
        ("rafund", True),  # changed
        ("refund", False),  # the word itself is not a typo of it
        ("rfeudn", False),
        ("refundss", False),
        ("frenud", False),
        ("refundé", False),  # a letter the help center never uses
    ],
)
def test_variants_are_the_words_one_edit_away(variant: str, expected: bool) -> None:
    assert (variant in one_edit_variants("refund", "abcdefghijklmnopqrstuvwxyz")) is expected


def test_a_help_centers_own_letters_can_be_added_or_changed() -> None:
    checker = speller("Die Rückerstattung dauert fünf Tage")
    assert "ü" in checker.alphabet
    assert checker.suggest("ruckerstattung") == "rückerstattung"


def test_a_help_center_in_ideographs_gets_no_corrections() -> None:
    # thousands of distinct characters: every unknown run would have ~10^5 variants
    ideographs = "".join(chr(0x4E00 + i) for i in range(400))
    checker = speller(*(ideographs[i : i + 8] for i in range(0, 400, 8)))
    assert len(checker.alphabet) > 100
    typed = ideographs[:3] + ideographs[4:8]  # one character dropped from a known word
    assert checker.suggest(typed) is None


def test_pasted_runs_longer_than_a_word_are_left_alone() -> None:
    checker = speller("authentication " * 3)
    assert checker.suggest("authenticatoin") == "authentication"
    assert checker.suggest("a" * 31) is None


def test_the_english_list_ships_with_the_plugin() -> None:
    words = english_words()
    assert len(words) > 20_000
    assert {"card", "cart", "bank", "colleague"} <= words
    assert not any(word.startswith("#") for word in words)


def help_center(folder: Path) -> Path:
    folder.mkdir()
    (folder / "refunds.md").write_text(REFUNDS, encoding="utf-8")
    (folder / "passwords.md").write_text(PASSWORDS, encoding="utf-8")
    (folder / "invoices.md").write_text(INVOICES, encoding="utf-8")
    return folder


def service(folder: Path, *, spelling: bool) -> RetrievalService:
    # no embedder, BM25 alone: the typo is the question's only clue
    return folder_service(folder, min_score=0.5, spelling=spelling)


async def test_a_misspelt_question_finds_the_article_it_means(tmp_path: Path) -> None:
    folder = help_center(tmp_path / "kb")
    found = await service(folder, spelling=True).search("acme", "how do i get a refnud")
    assert found.answered and found.hits[0].article_id == "refunds"
    assert found.query == "how do i get a refund"

    # switched off, the question is searched as typed, and the typo finds nothing
    missed = await service(folder, spelling=False).search("acme", "how do i get a refnud")
    assert not missed.answered and missed.score == 0
    assert missed.query == "how do i get a refnud"


async def test_the_correction_follows_the_help_center_as_it_changes(tmp_path: Path) -> None:
    folder = help_center(tmp_path / "kb")
    svc = service(folder, spelling=True)
    assert (await svc.search("acme", "wehbook retries")).query == "wehbook retries"
    (folder / "webhooks.md").write_text(
        "# Webhooks\n\nA webhook that fails is retried five times.\n", encoding="utf-8"
    )
    found = await svc.search("acme", "wehbook retries")
    assert found.query == "webhook retries"
    assert found.hits[0].article_id == "webhooks"
