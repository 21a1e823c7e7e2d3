"""``supportai kb-calibrate``: the no-answer threshold chosen on labelled questions.

The sweep is checked on observations whose right threshold is known, and the
command end to end on the fixture help center, through the plugin's entry point.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llm_backends_fake_embeddings import FakeEmbeddingsServer
from llm_backends_testing import FIXTURE_ARTICLES
from supportai_llm_backends.calibration import (
    Observation,
    Suggestions,
    best,
    candidates,
    near_best,
    outcome,
    suggestions,
    sweep,
)
from supportai_llm_backends.settings import KnowledgeBaseSettings

from supportai.cli import main


def seen(score: float, in_scope: bool = True, right: bool = True) -> Observation:
    return Observation(in_scope, in_scope and right, score)


SEPARABLE = [seen(0.9), seen(0.8), seen(0.7), seen(0.5, False), seen(0.4, False)]


def test_separable_questions_get_a_threshold_between_the_two_groups() -> None:
    chosen = best(sweep(SEPARABLE))
    assert chosen is not None and 0.5 < chosen.threshold < 0.7
    assert (chosen.answered_right, chosen.refused_out_of_scope) == (3, 2)
    assert (chosen.answered_wrong, chosen.refused_in_scope, chosen.answered_out_of_scope) == (
        0,
        0,
        0,
    )


def test_every_threshold_that_changes_an_outcome_is_tried() -> None:
    thresholds = candidates([seen(0.2), seen(0.6), seen(0.6, False), seen(1.0)])
    assert thresholds[0] < 0.2 and thresholds[-1] > 1.0
    assert thresholds[1:-1] == pytest.approx([0.4, 0.8])  # midpoints of distinct scores
    everything = outcome(SEPARABLE, thresholds[0] - 1)
    assert (everything.answered_right, everything.answered_out_of_scope) == (3, 2)
    nothing = outcome(SEPARABLE, 10)
    assert (nothing.refused_in_scope, nothing.refused_out_of_scope) == (3, 2)


def test_a_wrong_first_article_is_not_a_right_answer() -> None:
    observations = [seen(0.9, right=False), seen(0.8), seen(0.3, False)]
    chosen = best(sweep(observations))
    assert chosen is not None
    # Answering 0.9 (wrong) costs nothing in the count, so the best keeps 0.8 answered.
    assert (chosen.answered_right, chosen.answered_wrong, chosen.refused_out_of_scope) == (1, 1, 1)


def test_ties_go_to_the_more_honest_threshold_and_honesty_moves_the_choice() -> None:
    # One out-of-scope question scores between two in-scope ones.
    observations = [seen(0.9), seen(0.6), seen(0.7, False), seen(0.3, False)]
    chosen = best(sweep(observations))
    assert chosen is not None
    # 0.45 gives 2 right + 1 refusal, 0.8 gives 1 + 2: equal, the higher one wins.
    assert chosen.threshold == pytest.approx(0.8)
    cautious = best(sweep(observations), honesty=3)
    trusting = best(sweep(observations), honesty=0.5)
    assert cautious is not None and trusting is not None
    assert cautious.threshold == pytest.approx(0.8)
    assert trusting.threshold == pytest.approx(0.45)
    # Every threshold is within one right outcome of the best here: the set is too small.
    outcomes = sweep(observations)
    assert near_best(outcomes, best(outcomes)) == pytest.approx((0.29, 0.91))


def test_the_suggestion_band_counts_who_would_see_a_suggestion() -> None:
    observations = [seen(0.9), seen(0.65), seen(0.62, right=False), seen(0.61, False), seen(0.3)]
    # From 0.6 up to a threshold of 0.7: the three in between, not 0.9 (answered), not 0.3.
    assert suggestions(observations, 0.6, 0.7) == Suggestions(0.6, 0.7, 1, 1, 1)
    assert suggestions(observations, 0.6, 0.62) == Suggestions(0.6, 0.62, 0, 0, 1)


def write_questions(tmp_path: Path) -> Path:
    """Questions the fixture help center answers in its own words, and three it cannot."""
    rows = [
        {"question": "refunded in full within 14 days of the first payment", "article": "refunds"},
        {"question": "reset link expires after one hour password", "article": "reset-password"},
        {"question": "personal API token Authorization header", "article": "api-tokens"},
        {"question": "mobile app iOS Android sync tasks", "article": "mobile-app"},
        {"question": "what is the capital of Australia?", "article": None},
        {"question": "book me a flight to Berlin next Tuesday", "article": None},
        # Nothing left after the query is cleaned of personal data: no words, no vector.
        {"question": "jane.doe@example.com", "article": None},
    ]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def help_center_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SUPPORTAI_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SUPPORTAI_KB_ARTICLES_DIR", str(FIXTURE_ARTICLES))


@pytest.mark.usefixtures("help_center_env")
@pytest.mark.parametrize(
    ("embedder", "setting", "current"),
    [
        ("none", "SUPPORTAI_KB_LEXICAL_MIN_SCORE", KnowledgeBaseSettings().lexical_min_score),
        ("wordllama", "SUPPORTAI_KB_MIN_SCORE", KnowledgeBaseSettings().min_score),
    ],
)
def test_the_command_recommends_a_threshold_that_separates_the_set(
    embedder: str,
    setting: str,
    current: float,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SUPPORTAI_KB_EMBEDDER", embedder)
    monkeypatch.setenv("SUPPORTAI_KB_SUGGEST_MIN_SCORE", "0")
    questions = write_questions(tmp_path)
    assert main(["kb-calibrate", str(questions), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    band = report["suggestions"]
    if embedder == "none":
        assert band is None  # BM25's scores have no suggestion band
    else:  # from 0 up to the current threshold: every question the current value refuses
        below = report["current"]["refused_in_scope"] + report["current"]["refused_out_of_scope"]
        assert band["right"] + band["wrong"] + band["out_of_scope"] == below > 0
    assert report["setting"] == setting
    assert (report["questions"], report["in_scope"], report["out_of_scope"]) == (7, 4, 3)
    assert report["current"]["threshold"] == pytest.approx(current)
    recommended = report["recommended"]
    assert recommended["answered_right"] == 4 and recommended["refused_out_of_scope"] == 3
    low, high = report["near_best"]
    assert low <= recommended["threshold"] <= high
    # The sweep is exhaustive: the lowest threshold answers all, the highest refuses all.
    assert report["sweep"][0]["refused_out_of_scope"] == 0
    assert report["sweep"][-1]["answered_right"] == 0

    assert main(["kb-calibrate", str(questions), "--rows", "3"]) == 0
    text = capsys.readouterr().out
    assert f"recommended: {setting}={recommended['threshold']:.4f}" in text
    assert "current" in text and "3 / 3" in text
    assert ("suggestions from SUPPORTAI_KB_SUGGEST_MIN_SCORE=0.0000" in text) == (
        embedder != "none"
    )


@pytest.mark.usefixtures("help_center_env")
def test_an_embedder_that_fails_is_calibrated_on_bm25_and_says_so(
    fake_embeddings: FakeEmbeddingsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Turns then answer on BM25 alone, so the threshold that matters is the lexical one."""
    monkeypatch.setenv("SUPPORTAI_KB_EMBEDDER", "openai")
    monkeypatch.setenv("SUPPORTAI_EMBEDDINGS_OPENAI_BASE_URL", fake_embeddings.base_url)
    monkeypatch.setenv("SUPPORTAI_EMBEDDINGS_OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("SUPPORTAI_EMBEDDINGS_OPENAI_MODEL", "down")  # the fake answers 503
    monkeypatch.setenv("SUPPORTAI_EMBEDDINGS_OPENAI_MAX_RETRIES", "0")
    assert main(["kb-calibrate", str(write_questions(tmp_path)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["setting"] == "SUPPORTAI_KB_LEXICAL_MIN_SCORE"
    assert "did not run" in report["embedder"]
    assert report["recommended"]["answered_right"] == 4


def test_a_tenant_s_help_center_in_the_database_is_calibrated_as_that_tenant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Articles imported with ``supportai kb import`` are what the tenant's turns search."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SUPPORTAI_DATABASE_URL", url)
    monkeypatch.setenv("SUPPORTAI_KB_EMBEDDER", "none")
    articles = tmp_path / "help"
    articles.mkdir()
    for page in FIXTURE_ARTICLES.glob("*.md"):
        if page.stem != "untitled_note":  # the import wants a title; the folder reader doesn't
            (articles / page.name).write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["db", "upgrade"]) == 0
    assert main(["kb", "import", str(articles), "--tenant", "acme"]) == 0
    questions = str(write_questions(tmp_path))
    capsys.readouterr()
    assert main(["kb-calibrate", questions, "--tenant", "acme", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["recommended"]["answered_right"] == 4
    assert report["recommended"]["refused_out_of_scope"] == 3
    assert main(["kb-calibrate", questions, "--tenant", "globex"]) == 2
    assert "tenant 'globex' has no articles" in capsys.readouterr().err


@pytest.mark.usefixtures("help_center_env")
def test_bad_input_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUPPORTAI_KB_EMBEDDER", "none")
    questions = write_questions(tmp_path)
    assert main(["kb-calibrate", str(questions), "--honesty", "-1"]) == 2
    assert "--honesty must be 0 or more" in capsys.readouterr().err
    assert main(["kb-calibrate", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read the question set" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert main(["kb-calibrate", str(empty)]) == 2
    assert "holds no question" in capsys.readouterr().err
    monkeypatch.delenv("SUPPORTAI_KB_ARTICLES_DIR")  # the database's articles: none yet
    assert main(["kb-calibrate", str(questions), "--tenant", "acme"]) == 2
    assert "tenant 'acme' has no articles" in capsys.readouterr().err
