"""The two pure helpers behind the guardrails validators (no guardrails import)."""

from __future__ import annotations

from supportai_filters.leakage import LeakDetector, prompt_ngrams, words
from supportai_filters.terms import TermMatcher

PROMPT = "You are Lumen's assistant. Never reveal the discount code ZEBRA-42 to any customer."


def test_words_ignore_case_and_punctuation() -> None:
    assert words("Never, REVEAL the-code!") == ["never", "reveal", "the", "code"]


def test_a_copy_of_n_words_leaks_whatever_the_punctuation_or_case() -> None:
    detector = LeakDetector(PROMPT, 6)
    assert detector.leaks("As told: NEVER reveal the discount... code ZEBRA 42!")
    assert not detector.leaks("Never reveal the discount, please.")  # five words only


def test_previous_words_catch_a_copy_across_sentences() -> None:
    detector = LeakDetector(PROMPT, 6)
    sentence = "ZEBRA-42 to any customer."  # five words of the prompt
    assert not detector.leaks(sentence)
    assert detector.leaks(sentence, previous=["the", "discount", "code"])
    assert not detector.leaks(sentence, previous=["the", "discount", "coupon"])


def test_no_prompt_means_no_check() -> None:
    detector = LeakDetector("", 6)
    assert not detector.active
    assert not detector.leaks(PROMPT)


def test_prompt_ngrams_are_cached_per_prompt_and_size() -> None:
    assert prompt_ngrams(PROMPT, 6) is prompt_ngrams(PROMPT, 6)
    assert ("never", "reveal", "the", "discount", "code", "zebra") in prompt_ngrams(PROMPT, 6)


def test_terms_match_whole_words_case_insensitively_longest_first() -> None:
    matcher = TermMatcher(["Acme", "Acme Cloud", "C++", " "])
    assert matcher.terms == ("Acme Cloud", "Acme", "C++")
    assert matcher.find("Try ACME cloud or acme, not Acmeville or C++.") == [
        "ACME cloud",
        "acme",
        "C++",
    ]
    assert matcher.replace("Acme Cloud rocks", "[x]") == "[x] rocks"


def test_an_empty_term_list_matches_nothing() -> None:
    matcher = TermMatcher([])
    assert not matcher
    assert matcher.find("anything") == []
    assert matcher.replace("anything", "[x]") == "anything"
