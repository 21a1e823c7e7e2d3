"""``supportai kb-calibrate QUESTIONS.jsonl``: the no-answer threshold, chosen on your questions.

Registered through ``supportai_register_commands``. It builds the app from the
environment as ``supportai eval`` does, searches each question once through the
same retrieval service a turn uses (``calibration`` explains why once is enough),
and prints the trade-off table and the threshold it recommends. It changes
nothing: set the printed value yourself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from supportai.errors import ConfigurationError
from supportai_llm_backends.calibration import (
    Observation,
    Outcome,
    Suggestions,
    best,
    near_best,
    outcome,
    spread,
    suggestions,
    sweep,
)

COMMAND = "kb-calibrate"
MIN_SCORE = "SUPPORTAI_KB_MIN_SCORE"
LEXICAL_MIN_SCORE = "SUPPORTAI_KB_LEXICAL_MIN_SCORE"


@dataclass(frozen=True, slots=True)
class Observed:
    """The question set searched once, and the thresholds the service has now."""

    observations: list[Observation]
    setting: str
    current: float
    #: ``SUPPORTAI_KB_SUGGEST_MIN_SCORE`` when set (fused scores only; BM25 has no band).
    suggest_min_score: float | None
    embedder: str


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    command = subparsers.add_parser(
        COMMAND,
        help="choose SUPPORTAI_KB_MIN_SCORE on a labelled question set",
        description=(
            "Search every question once with the help center and embedder of the "
            "environment, then show what each no-answer threshold would have done and "
            "recommend the one with the most right answers plus honest refusals."
        ),
    )
    command.add_argument("questions", type=Path, help="JSONL question set (as for supportai eval)")
    command.add_argument("--tenant", default="default", help="tenant to ask as")
    command.add_argument("--split", help="only questions of this split (calibrate on dev)")
    command.add_argument(
        "--honesty",
        type=float,
        default=1.0,
        help="how many right answers one honest refusal of an out-of-scope question is worth",
    )
    command.add_argument("--rows", type=int, default=12, help="rows of the table (about)")
    command.add_argument("--json", action="store_true", help="print JSON (every threshold)")
    command.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from supportai.evaluation.questions import load_questions

    if not args.honesty >= 0:
        raise ConfigurationError("--honesty must be 0 or more")
    questions = load_questions(args.questions, args.split)  # never empty: an error instead
    report = _report(asyncio.run(_observe(questions, args.tenant)), args.honesty)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        _print(report, args.rows)
    return 0


async def _observe(questions: Sequence[Any], tenant: str) -> Observed:
    """Each question's decisive score and whether its best article is the expected one."""
    from supportai.runtime import Runtime
    from supportai.settings import Settings
    from supportai_llm_backends.knowledge import has_help_center, service_for

    runtime = Runtime.build(Settings())
    await runtime.start()
    try:
        if not has_help_center(runtime.context):
            raise ConfigurationError(
                f"supportai {COMMAND} needs a help center: SUPPORTAI_KB_ARTICLES_DIR, or "
                "articles in the database (supportai kb import)"
            )
        service = service_for(runtime.context)
        if not (await service.index_for(tenant)).chunks:
            raise ConfigurationError(
                f"tenant {tenant!r} has no articles to search: import them (supportai kb "
                "import --tenant), set SUPPORTAI_KB_ARTICLES_DIR, or name the tenant that has them "
                "(--tenant)"
            )
        observations: list[Observation] = []
        lexical: set[bool] = set()
        for question in questions:
            result = await service.search(tenant, question.question, limit=1)
            if result.hits:  # a question with no words left after cleaning has no scale
                lexical.add(result.lexical)
            right = bool(result.hits) and result.hits[0].article_id == question.article
            observations.append(
                Observation(question.in_scope, question.in_scope and right, result.score)
            )
        model = service.embedder.model if service.embedder is not None else "none"
    finally:
        await runtime.stop()
    if len(lexical) > 1:
        raise ConfigurationError(
            "the embedder failed for some questions (see the log): their BM25 scores are "
            "not comparable with the others' fused scores; fix the embedder and run again"
        )
    if lexical == {True}:
        name = "none" if model == "none" else f"none ({model} did not run: see the log)"
        return Observed(observations, LEXICAL_MIN_SCORE, service.lexical_min_score, None, name)
    return Observed(observations, MIN_SCORE, service.min_score, service.suggest_min_score, model)


@dataclass(frozen=True, slots=True)
class Report:
    """What the command prints (``--json``: this, through ``asdict``)."""

    setting: str
    embedder: str
    questions: int
    in_scope: int
    out_of_scope: int
    honesty: float
    current: Outcome
    recommended: Outcome
    near_best: tuple[float, float]
    sweep: list[Outcome]
    suggestions: Suggestions | None
    notes: list[str]


def _report(observed: Observed, honesty: float) -> Report:
    observations = observed.observations
    outcomes = sweep(observations)
    chosen = best(outcomes, honesty)
    assert chosen is not None  # load_questions never returns an empty set
    in_scope = sum(o.in_scope for o in observations)
    notes = []
    if in_scope == len(observations):
        notes.append(
            "no out-of-scope questions: nothing tells how many unanswerable questions a "
            "threshold lets through; add some (a fifth of the set)"
        )
    if in_scope == 0:
        notes.append("no in-scope questions: nothing tells what a threshold turns away")
    band = None
    if observed.suggest_min_score is not None:
        band = suggestions(observations, observed.suggest_min_score, observed.current)
    return Report(
        setting=observed.setting,
        embedder=observed.embedder,
        questions=len(observations),
        in_scope=in_scope,
        out_of_scope=len(observations) - in_scope,
        honesty=honesty,
        current=outcome(observations, observed.current),
        recommended=chosen,
        near_best=near_best(outcomes, chosen, honesty),
        sweep=outcomes,
        suggestions=band,
        notes=notes,
    )


_HEADER = (
    "threshold",
    "answered right",
    "answered wrong",
    "in scope refused",
    "out of scope refused",
)


def _print(report: Report, rows: int) -> None:
    current, recommended = report.current, report.recommended
    out = sys.stdout
    print(
        f"{report.setting} on {report.questions} questions ({report.in_scope} in "
        f"scope, {report.out_of_scope} out of scope), embedder {report.embedder}\n",
        file=out,
    )
    widths = [max(len(title), 10) for title in _HEADER]
    print(
        "  ".join(title.rjust(width) for title, width in zip(_HEADER, widths, strict=True)),
        file=out,
    )
    for row in spread(report.sweep, [current, recommended], rows):
        cells = (
            f"{row.threshold:.4f}",
            str(row.answered_right),
            str(row.answered_wrong),
            str(row.refused_in_scope),
            f"{row.refused_out_of_scope} / {report.out_of_scope}",
        )
        mark = " current" if row == current else ""
        mark += " recommended" if row == recommended else ""
        line = "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))
        print(line + mark, file=out)
    print(
        f"\nrecommended: {report.setting}={recommended.threshold:.4f} "
        f"({recommended.answered_right} right answers, {recommended.refused_out_of_scope} honest "
        f"refusals; now {current.answered_right} and {current.refused_out_of_scope})",
        file=out,
    )
    low, high = report.near_best
    print(
        f"within one right outcome of it: any threshold from {low:.4f} to {high:.4f}",
        file=out,
    )
    band = report.suggestions
    if band is not None:
        shown = band.right + band.wrong + band.out_of_scope
        print(
            f"suggestions from SUPPORTAI_KB_SUGGEST_MIN_SCORE={band.low:.4f} up to the "
            f"current threshold: {shown} questions, {band.right} with the right article, "
            f"{band.wrong} with another, {band.out_of_scope} out of scope (these still "
            "get the fallback first)",
            file=out,
        )
    for note in report.notes:
        print(f"note: {note}", file=out)
