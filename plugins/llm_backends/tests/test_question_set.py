"""Floors on the example help center's question set (examples/host_app/eval/questions.jsonl).

The questions are written in users' words, not the articles'; the fusion weights and
the no-answer threshold were tuned on the ``dev`` half only, so the ``test`` half
measures what a new question gets. The ``holdout`` split was written later, from the
articles alone, by an author who never saw the other questions; nothing was chosen on
it, and it is meant to stay that way (docs/knowledge.md). The floors sit a little under
today's figures: a change that makes answers worse fails here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from llm_backends_testing import LUMEN_ARTICLES

from supportai.evaluation.questions import Question, load_questions
from supportai.evaluation.runner import evaluate_answers, evaluate_retrieval
from supportai.knowledge.markdown import parse_article
from supportai.runtime import Runtime
from supportai.settings import Settings

QUESTIONS = LUMEN_ARTICLES.parent / "eval" / "questions.jsonl"

#: Every split of the question set, each held to its floors below (a new split is added
#: here once: the set's own check and the floors test both read it).
SPLITS = ("dev", "test", "holdout", "features", "tools", "holdout2", "dev2", "holdout3", "dev3")

#: (embedder, split) -> (hit@1, hit@3, fact in answer, out-of-scope honest)
#: Since the articles carry past questions (decision 0032), right article first with
#: minilm: dev 94, test 104, holdout 68, holdout2 45, dev2 56, features 35, tools 23 (93,
#: 102, 65, 45, 53, 34, 23 in the "today" of the comments below, before it); wordllama 90,
#: 95, 57, 35, 47, 35, 21 (86, 91, 55, 35, 44, 34, 22). Fact in the answer with minilm:
#: 94, 112, 67, 48, 57, 38, 23. Top 3 and out-of-scope figures moved by at most one.
#: With the second batch (375 past questions, decision 0032's addendum): minilm 94, 105,
#: 67, 47, 57, 35, 23 and holdout3 67; wordllama 90, 97, 59, 38, 49, 36, 22 and 63. Fact
#: with minilm 94, 112, 67, 49, 57, 38, 23 and 75.
FLOORS = {
    # wordllama (the framework's default): today 85, 97, 84 / 104 and 14 / 19 on dev; 91,
    # 105, 86 / 114 and 14 / 21 on test (85, 98, 84, 13 and 90, 105, 85, 14 before the
    # product's name was left out of the embedded question, decision 0028; 12 and 13 out
    # of scope honest before the feature check, decision 0026). Before the articles' tags
    # and coverage (decisions 0018, 0019): 80, 92, 79 and 13 on dev; 83, 102, 83 and 12 on
    # test.
    ("wordllama", "dev"): (0.82, 0.9, 0.78, 0.62),
    ("wordllama", "test"): (0.8, 0.89, 0.72, 0.6),
    # holdout (78 in scope, 26 out): today 54, 63, 51 and 12 (52, 63, 49 and 12 before
    # decision 0028); 53, 64, 50 and 10 before the feature check (52, 63, 49 and 10 before
    # the spelling correction, decision 0022)
    ("wordllama", "holdout"): (0.62, 0.77, 0.58, 0.34),
    # features (40 capability questions in scope, 40 out; decision 0026): today 34, 37, 34
    # and 26 (24 before the tool check, decision 0027); 34, 37, 34 and 17 without the
    # feature check
    ("wordllama", "features"): (0.8, 0.88, 0.8, 0.55),
    # holdout2 (60 in scope, 20 out, written blind for the closing measure of 6 December
    # and measured once): today 35, 42, 34 and 8; 33, 43, 33 and 6 at the session's start
    ("wordllama", "holdout2"): (0.55, 0.66, 0.53, 0.35),
    # dev2 (60 in scope, 20 out, written blind in holdout2's style, for tuning from now
    # on): first measured at 44, 53, 40 and 9; 44, 53, 39 and 6 at the session's start
    ("wordllama", "dev2"): (0.68, 0.82, 0.62, 0.4),
    # tools (25 questions about other products the articles name, 25 about ones they do
    # not; decision 0027): today 22, 24, 22 and 12 (21, 24, 23 and 11 before decision
    # 0028); 3 honest before the tool check
    ("wordllama", "tools"): (0.8, 0.92, 0.84, 0.4),
    # holdout3 (79 in scope, 18 out, written blind on 7 December from the articles without
    # their tags and past questions, measured once): 62, 69, 60 and 10 (61, 69, 60 and 10
    # without the past questions)
    ("wordllama", "holdout3"): (0.72, 0.82, 0.7, 0.5),
    # dev3 (75 in scope, 15 out, written blind on 7 December like holdout3, for tuning):
    # first measured at 57, 61, 53 and 7
    ("wordllama", "dev3"): (0.72, 0.78, 0.66, 0.4),
    # minilm (the example app's embedder), fine-tuned on thirty-two written help centers
    # (decision 0031): today 93, 98, 94 / 104 and 17 / 19 on dev; 102, 109, 111 / 114 and
    # 17 / 21 on test; 65, 70, 66 / 78 and 23 / 26 on holdout (the fact counts include the
    # suggestions shown below min_score, which are never cited). On sixteen (decision
    # 0030): 93, 100, 94 and 16; 103, 109, 110 and 17; 64, 69, 67 and 22. With the original
    # weights: 93, 101, 95 and 14; 100, 110, 104 and 18; 65, 70, 66 and 12.
    # Before the product's name was left out of the embedded question (decision 0028):
    # 92, 101, 94 and 13; 99, 110, 102 and 17; 64, 69, 62 and 11 (the out-of-scope floors
    # of dev and test and the fact floor of holdout sit above those).
    # Before the feature check (decision 0026): 16 honest on test; 65, 71 and 9 on holdout.
    # Before the word-piece alignment chose the first article and its sections (decision
    # 0025): 89, 101, 91 and 13; 94, 110, 102 and 16; 62, 71, 59 and 9 (the right-first
    # floors, and the dev and holdout fact floors, sit above those). Before the spelling
    # correction (decision 0022): 61, 70, 59 and 9 on holdout.
    # With 7-bit weights every x86 CPU computes the same integer products (decision 0020).
    # Before the closest phrase replaced the title-and-tags vector (decision 0021): 87,
    # 97, 88, 13 on dev; 89, 110, 100, 16 on test; 60, 69, 58, 11 on holdout.
    # The 8-bit weights before gave, on dev and on test: 88, 97, 91, 13 and 90, 106, 100,
    # 16 on a CPU with VNNI; 87, 97, 88, 13 and 92, 109, 102, 16 on an AVX2-only one.
    # Before the articles' tags and coverage: 82, 93, 89 and 13 on dev; 83, 99, 100 and 16
    # on test.
    ("minilm", "dev"): (0.86, 0.9, 0.88, 0.78),
    ("minilm", "test"): (0.88, 0.9, 0.9, 0.76),
    ("minilm", "holdout"): (0.82, 0.85, 0.82, 0.75),
    # features: today 34, 36, 37 and 37 of 40 (decision 0031; 35, 36, 38 and 36 on sixteen
    # help centers, decision 0030); with the original weights 36, 38, 39 and 31 (27 before
    # decision 0028, 26 before the tool check); 36, 38, 38 and 17 without the feature check
    ("minilm", "features"): (0.82, 0.85, 0.9, 0.82),
    # holdout2: today 45, 51, 47 and 17 (decision 0031; 47, 52, 47 and 15 on sixteen help
    # centers, decision 0030); 42, 49, 46 and 11 with the original weights; 40, 49, 43 and 8
    # before decisions 0027 and 0028. The out-of-scope floor holds 15 of 20 since 0031 (13
    # before): the honesty the fine-tuning bought
    ("minilm", "holdout2"): (0.72, 0.82, 0.72, 0.75),
    # dev2: today 53, 59, 55 and 12 (decision 0031; 54, 56, 53 and 12 on sixteen help
    # centers, decision 0030); first measured at 51, 57, 54 and 8; 50, 57, 53 and 5 before
    # decisions 0027 and 0028
    ("minilm", "dev2"): (0.85, 0.88, 0.82, 0.5),
    # tools: today 23, 24, 23 and 18 of 25 (decision 0031; 19 honest on sixteen help
    # centers, decision 0030); 23, 24, 23 and 17 with the original weights (23, 25, 24 and
    # 14 before decision 0028); 5 honest before the tool check
    ("minilm", "tools"): (0.88, 0.92, 0.88, 0.66),
    # holdout3: 67, 71, 75 and 18 (65, 71, 73 and 18 without the past questions)
    ("minilm", "holdout3"): (0.8, 0.85, 0.88, 0.85),
    # dev3: first measured at 66, 68, 70 and 11
    ("minilm", "dev3"): (0.84, 0.86, 0.88, 0.66),
    # BM25 alone (embedder none, or any embedder failing), SUPPORTAI_KB_LEXICAL_MIN_SCORE
    # 2.85: today 73, 82, 68 / 104 and 15 / 19 on dev; 77, 93, 75 / 114 and 16 / 21 on test
    # (without the articles' tags 61, 67, 61 and 17; 65, 75, 65 and 19; at the 4.0 of
    # earlier releases the right article came first for 35 and 39).
    ("none", "dev"): (0.66, 0.75, 0.62, 0.78),
    ("none", "test"): (0.63, 0.77, 0.62, 0.75),
    # holdout: today 48, 62, 42 and 13 (12 before the feature check)
    ("none", "holdout"): (0.57, 0.75, 0.5, 0.42),
    # features: today 27, 32, 23 and 24 (22 before the tool check); 27, 32, 23 and 21
    # without the feature check
    ("none", "features"): (0.62, 0.75, 0.52, 0.5),
    # holdout2: today 35, 44, 34 and 7, as before decisions 0027 and 0028
    ("none", "holdout2"): (0.55, 0.7, 0.53, 0.3),
    # dev2: first measured at 42, 48, 40 and 9, as before decisions 0027 and 0028
    ("none", "dev2"): (0.65, 0.75, 0.62, 0.4),
    # tools: today 21, 23, 18 and 18; 16 honest before the tool check
    ("none", "tools"): (0.8, 0.88, 0.68, 0.66),
    # holdout3: 51, 63, 48 and 12
    ("none", "holdout3"): (0.6, 0.75, 0.56, 0.55),
    # dev3: first measured at 49, 55, 46 and 8
    ("none", "dev3"): (0.6, 0.7, 0.56, 0.46),
}


@pytest.fixture(scope="module", params=["wordllama", "minilm", "none"])
def runtime(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    cache = tmp_path_factory.mktemp("question-set-embeddings")
    kb = {
        "articles_dir": str(LUMEN_ARTICLES),
        "embeddings_cache_dir": str(cache),
        "embedder": request.param,
    }
    settings = Settings(
        database_url="sqlite:///:memory:",
        llm_backend="knowledge_base",
        plugin_options={"kb": kb},
    )
    return Runtime.build(settings)


def test_the_question_set_is_big_enough_and_in_users_words() -> None:
    questions = load_questions(QUESTIONS)
    in_scope = [q for q in questions if q.in_scope]
    assert len(in_scope) >= 80 and len(questions) - len(in_scope) >= 20
    assert {q.split for q in questions} == set(SPLITS)
    articles = {path.stem for path in LUMEN_ARTICLES.glob("*.md")}
    assert {q.article for q in in_scope} == articles  # every article is asked about
    for question in in_scope:
        path = LUMEN_ARTICLES / f"{question.article}.md"
        article, _ = parse_article(path, path.read_text(encoding="utf-8"))
        # the fact is in what the article says (its title or body), never only in its tags
        said = f"{article.title}\n{article.body}".replace("**", "").lower()
        assert question.fact and question.fact.lower() in said
        # Not the article's own words: no question repeats the article's title.
        assert article.title.lower() not in question.question.lower()


_WORD = re.compile(r"\w+")


def overlap(first: str, second: str) -> float:
    """The share of two texts' distinct words that both use (Jaccard)."""
    a, b = set(_WORD.findall(first.lower())), set(_WORD.findall(second.lower()))
    return len(a & b) / len(a | b) if a | b else 0.0


#: Splits written after the articles' past questions, by sessions that saw neither the
#: past questions nor the other splits. A question there that shares words with a past
#: question is two blind authors wording one subject alike (what past questions rely on),
#: not a past question copied from the set, so the rule below does not read them.
WRITTEN_AFTER_THE_PAST_QUESTIONS = frozenset({"holdout3", "dev3"})


def test_the_articles_past_questions_are_not_the_question_sets() -> None:
    """The articles' ``questions`` (what readers asked before, decision 0032) were written
    from the articles alone, and none is the same question as one of the set in other
    words: the floors measure questions retrieval has never seen."""
    asked = [
        q.question
        for q in load_questions(QUESTIONS)
        if q.split not in WRITTEN_AFTER_THE_PAST_QUESTIONS
    ]
    past = []
    for path in sorted(LUMEN_ARTICLES.glob("*.md")):
        article, _ = parse_article(path, path.read_text(encoding="utf-8"))
        assert len(article.questions) >= 6, path.name
        past.extend(article.questions)
    closest = max((overlap(p, q), p, q) for p in past for q in asked)
    assert closest[0] < 0.5, closest


@pytest.mark.parametrize("split", SPLITS)
async def test_retrieval_and_answers_hold_their_floors(runtime: Runtime, split: str) -> None:
    questions = load_questions(QUESTIONS, split)
    retrieval = (await evaluate_retrieval(runtime, questions, "lumen")).summary()
    answers = (await evaluate_answers(runtime, questions, "lumen", ["human"])).summary()
    embedder = runtime.settings.plugin_options["kb"]["embedder"]
    hit1, hit3, fact, honest = FLOORS[(embedder, split)]
    figures: dict[str, Any] = {**retrieval, **answers}
    assert retrieval["hit@1"] >= hit1, figures
    assert retrieval["hit@3"] >= hit3, figures
    assert answers["fact_in_answer"] >= fact, figures
    assert answers["out_of_scope_honest"] >= honest, figures
    assert retrieval["mrr"] >= hit1


#: embedder -> hit@1 floor on the dev questions with one typo each (:func:`misspelt`).
#: Today 80, 90 and 71 of 104 (without the typos 85, 93 and 73); minilm 90 on sixteen
#: help centers too (decision 0030), 89 with its original weights; with the spelling
#: correction switched off, 61, 76 and 54 (decision 0022).
TYPO_FLOORS = {"wordllama": 0.74, "minilm": 0.82, "none": 0.65}

_LONG_WORD = re.compile(r"[A-Za-z]{5,}")


def misspelt(question: Question, n: int) -> Question:
    """``question`` with one slip of the finger in its longest word: two neighbouring letters
    swapped, one dropped, one doubled or one changed (in turn, by ``n``), mid-word."""
    words = list(_LONG_WORD.finditer(question.question))
    if not words:
        return question
    word = max(words, key=lambda match: len(match.group()))
    text, i = word.group(), len(word.group()) // 2
    slips = (
        text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :],
        text[:i] + text[i + 1 :],
        text[:i] + text[i] + text[i:],
        text[:i] + chr((ord(text[i].lower()) - 97 + 1) % 26 + 97) + text[i + 1 :],
    )
    typed = question.question[: word.start()] + slips[n % 4] + question.question[word.end() :]
    return replace(question, question=typed)


async def test_a_typo_in_each_question_costs_little(runtime: Runtime) -> None:
    """Users type fast: with one typo in every question's longest word, the right article
    still comes first about as often as without (spelling correction, decision 0022)."""
    asked = load_questions(QUESTIONS, "dev")
    questions = [misspelt(question, n) for n, question in enumerate(asked)]
    assert sum(a.question != b.question for a, b in zip(asked, questions, strict=True)) > 100
    retrieval = (await evaluate_retrieval(runtime, questions, "lumen")).summary()
    embedder = runtime.settings.plugin_options["kb"]["embedder"]
    assert retrieval["hit@1"] >= TYPO_FLOORS[embedder], retrieval


#: embedder -> hit@1 floor on the dev questions inside a longer message (:func:`wrapped`).
#: Today 66, 84 and 68 of 104 (minilm 82 fine-tuned on sixteen help centers, decision 0030,
#: and 81 with its original weights); 47, 79 and 45 when BM25 and coverage read the whole
#: message.
LONG_MESSAGE_FLOORS = {"wordllama": 0.6, "minilm": 0.75, "none": 0.62}

#: What users put around a question in a chat: greetings, their story, thanks. Written for
#: this test, about no product in particular.
BEFORE = (
    "Hi there, hope you are doing well today. I have been using your product with my whole "
    "team for a couple of years now and it mostly works great for us, but this morning I ran "
    "into something I could not figure out on my own.",
    "Hello! Sorry to bother you again, I already looked through a few pages and searched "
    "around for a while without luck, and my manager is waiting on me to sort this out before "
    "the end of the day.",
    "Good morning. We are a small agency of about twelve people and we moved over from "
    "another tool last spring. Most things have been smooth so far.",
    "Quick question from a long time user, thanks in advance for any help you can give me, I "
    "really appreciate how fast you usually answer.",
)
AFTER = (
    "Thanks a lot in advance, this is kind of urgent for us because we have a big client "
    "meeting on Monday and I want everything ready.",
    "I tried a couple of things already but nothing worked so far. Any help is appreciated, "
    "cheers!",
)


def wrapped(question: Question, n: int) -> Question:
    """``question`` inside a chat message: after a greeting and a story, or before thanks
    (in turn, by ``n``)."""
    text = question.question.rstrip()
    kind = n % (len(BEFORE) + len(AFTER))
    if kind < len(BEFORE):
        return replace(question, question=f"{BEFORE[kind]} {text}")
    ended = text if text[-1:] in ".?!" else f"{text}."
    return replace(question, question=f"{ended} {AFTER[kind - len(BEFORE)]}")


async def test_a_question_inside_a_long_message_is_still_found(runtime: Runtime) -> None:
    """A question after a greeting and a story, or before the thanks, finds its article about
    as often as alone: the word-based signals read what a long message asks (decision 0022)."""
    questions = [wrapped(q, n) for n, q in enumerate(load_questions(QUESTIONS, "dev"))]
    retrieval = (await evaluate_retrieval(runtime, questions, "lumen")).summary()
    embedder = runtime.settings.plugin_options["kb"]["embedder"]
    assert retrieval["hit@1"] >= LONG_MESSAGE_FLOORS[embedder], retrieval


#: hit@1 and hit@3 floors on the dev questions when the articles carry no tags (what a host
#: that writes none gets), with minilm. Today 86 and 94 of 104 (decision 0031, at the
#: threshold 1.24 that the tagged and untagged tuning splits chose together; with the tags
#: 93 and 98); 89 and 94 on sixteen help centers at 1.2 (decision 0030); with the original
#: weights 83 and 96 (78 and 91 before each section's heading was one of its article's
#: phrases).
UNTAGGED_FLOORS = (0.82, 0.88)

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


async def test_a_help_center_without_tags_still_finds_most_articles(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The same articles with their tags stripped: section headings stand in for the
    phrases the tags gave (``service.article_phrases``)."""
    folder = tmp_path_factory.mktemp("untagged-articles")
    for path in LUMEN_ARTICLES.glob("*.md"):
        text = _FRONT_MATTER.sub("", path.read_text(encoding="utf-8"))
        assert "tags:" not in text
        (folder / path.name).write_text(text, encoding="utf-8")
    kb = {
        "articles_dir": str(folder),
        "embeddings_cache_dir": str(tmp_path_factory.mktemp("untagged-embeddings")),
        "embedder": "minilm",
    }
    settings = Settings(
        database_url="sqlite:///:memory:", llm_backend="knowledge_base", plugin_options={"kb": kb}
    )
    questions = load_questions(QUESTIONS, "dev")
    retrieval = (await evaluate_retrieval(Runtime.build(settings), questions, "lumen")).summary()
    assert retrieval["hit@1"] >= UNTAGGED_FLOORS[0], retrieval
    assert retrieval["hit@3"] >= UNTAGGED_FLOORS[1], retrieval
