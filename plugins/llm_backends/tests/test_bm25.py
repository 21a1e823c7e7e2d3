"""The tokeniser and the BM25 arithmetic, checked against hand-computed values."""

from __future__ import annotations

import math

import pytest
from supportai_llm_backends.bm25 import BM25Index, normalize, tokenize


def test_tokenize_lowercases_and_drops_stop_words_and_short_tokens() -> None:
    assert tokenize("How do I Reset my PASSWORD?") == ["reset", "password"]
    assert tokenize("I can't log in to the app") == ["log", "app"]
    assert tokenize("") == []
    assert tokenize("Réinitialiser le mot_de_passe, Passwort!") == [
        "réinitialiser",
        "le",
        "mot",
        "de",
        "pass",
        "passwort",
    ]


@pytest.mark.parametrize(
    ("words", "folded"),
    [
        (("invoice", "invoices"), "invoic"),
        (("change", "changes", "changing", "changed"), "chang"),
        (("delete", "deleted", "deleting"), "delet"),
        (("bill", "billing", "billed", "bills"), "bill"),
        (("policy", "policies"), "policy"),
        (("run", "running"), "run"),
        (("sync", "syncing", "synced"), "sync"),
    ],
)
def test_normalize_folds_inflections_consistently(words: tuple[str, ...], folded: str) -> None:
    assert {normalize(word) for word in words} == {folded}


@pytest.mark.parametrize("word", ["access", "status", "analysis", "need", "sso", "2fa", "csv"])
def test_normalize_leaves_words_that_only_look_inflected(word: str) -> None:
    assert normalize(word) == word


def test_score_matches_the_okapi_formula() -> None:
    docs = [["refund", "policy", "refund"], ["invoice", "pdf"], ["refund", "card"]]
    index = BM25Index(docs, k1=1.2, b=0.75)
    average = (3 + 2 + 2) / 3
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    expected = idf * 2 * 2.2 / (2 + 1.2 * (1 - 0.75 + 0.75 * 3 / average))
    assert index.scores(["refund"])[0] == pytest.approx(expected)
    assert 1 not in index.scores(["refund"])  # no shared term, no score


def test_rare_terms_weigh_more_and_repeated_query_words_count_once() -> None:
    docs = [["password", "reset"], ["password", "sso"], ["password", "token"]]
    index = BM25Index(docs)
    assert index.idf["reset"] > index.idf["password"]
    assert index.scores(["reset", "reset", "reset"]) == index.scores(["reset"])


def test_search_orders_by_score_and_breaks_ties_by_document_order() -> None:
    docs = [["a1", "b1"], ["a1", "b1"], ["b1", "c1", "c1"], ["d1"]]
    index = BM25Index(docs)
    results = index.search(["a1", "b1"], limit=3)
    assert [doc for doc, _ in results] == [0, 1, 2]
    assert index.search(["a1"], limit=0) == []
    assert index.search(["zz"], limit=5) == []


def test_length_normalisation_prefers_the_shorter_document_for_one_match() -> None:
    index = BM25Index([["webhook"] + ["filler"] * 30, ["webhook", "retry"]], b=0.75)
    scores = index.scores(["webhook"])
    assert scores[1] > scores[0]
    flat = BM25Index([["webhook"] + ["filler"] * 30, ["webhook", "retry"]], b=0.0)
    assert flat.scores(["webhook"])[0] == pytest.approx(flat.scores(["webhook"])[1])


def test_unknown_term_gets_the_maximum_idf() -> None:
    index = BM25Index([["one"], ["two"]])
    assert index.term_idf("missing") > index.term_idf("one")


def test_an_index_can_borrow_idf_and_average_length() -> None:
    articles = BM25Index([["refund", "card"], ["card"], ["card"]])
    passages = BM25Index([["refund"], ["card"]], idf_from=articles, average_length=1.0)
    assert passages.idf == {"refund": articles.idf["refund"], "card": articles.idf["card"]}
    assert passages.term_idf("missing") == articles.term_idf("missing")
    scores = passages.scores(["refund", "card"])
    assert scores[0] > scores[1] > 0  # the rare word wins, by the article-level IDF
    own = BM25Index([["refund"], ["card"]])
    assert own.idf["refund"] == own.idf["card"]  # on their own, both look equally rare
