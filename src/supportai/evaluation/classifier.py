"""``supportai eval classifier FILE.jsonl``: recall, false refusals and latency.

The classifiers measured are the ones the app is configured with
(``SUPPORTAI_CLASSIFIERS``, their plugin settings, core ``refused_intents``),
built through the plugin runtime exactly as at start-up and combined with the
same :func:`supportai.classifiers.combine` as a turn; ``--classifiers`` tries
another list without touching the environment. Core never imports a plugin here.

Input: one JSON object per line, ``{"text": ..., "label": "attack" | "benign",
"kind": optional}``; blank lines are skipped. A malformed line stops the run with
its line number (exit 2) before anything is measured.

Output: attack recall (overall, per ``kind``, and for attacks under 100
characters), the false-refusal rate on benign lines (overall and per ``kind``),
latency p50/p99/max per message, and, when a classifier reports a model score
(``details["score"]``: ``injection_model``, ``rules_model``), a threshold sweep:
what recall and false refusals each threshold would give, to choose one on your
own traffic (docs/plugins/injection-model.md). ``--min-recall`` and
``--max-false-refusals`` turn the run into a gate (exit 1 when missed).

Latency is wall time around the classifiers of one message, on one core,
sequentially: the same work a turn does before calling the model. One unmeasured
message goes first, so lazy set-up (compiling rules, reading model weights) is
not counted as a message's cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportai.errors import ConfigurationError
from supportai.evaluation import EvalInputError, eval_commands, json_objects

LABELS = ("attack", "benign")
SHORT_CHARS = 100
SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """One example's verdict: refused, the model score if any, and what refused it anyway."""

    example: Example
    refused: bool
    intent: str
    seconds: float
    score: float | None = None
    refused_without_score: bool = False


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        attacks = [o for o in self.outcomes if o.example.label == "attack"]
        benign = [o for o in self.outcomes if o.example.label == "benign"]
        short = [o for o in attacks if len(o.example.text) < SHORT_CHARS]
        times = sorted(o.seconds for o in self.outcomes)
        result: dict[str, Any] = {
            "examples": len(self.outcomes),
            "attacks": len(attacks),
            "benign": len(benign),
            "recall": _rate(attacks),
            "recall_under_100_chars": _rate(short),
            "attacks_under_100_chars": len(short),
            "recall_by_kind": _by_kind(attacks),
            "false_refusal_rate": _rate(benign),
            "false_refusals": sum(o.refused for o in benign),
            "false_refusal_rate_by_kind": _by_kind(benign),
            "latency_ms": {
                "p50": _ms(_percentile(times, 0.50)),
                "p99": _ms(_percentile(times, 0.99)),
                "max": _ms(times[-1] if times else 0.0),
            },
        }
        scored = [o for o in self.outcomes if o.score is not None]
        if scored:
            result["threshold_sweep"] = [{"threshold": t, **self._at_threshold(t)} for t in SWEEP]
        return result

    def _at_threshold(self, threshold: float) -> dict[str, float | None]:
        def refused(o: Outcome) -> bool:
            return o.refused_without_score or (o.score is not None and o.score >= threshold)

        attacks = [refused(o) for o in self.outcomes if o.example.label == "attack"]
        benign = [refused(o) for o in self.outcomes if o.example.label == "benign"]
        return {
            "recall": sum(attacks) / len(attacks) if attacks else None,
            "false_refusal_rate": sum(benign) / len(benign) if benign else None,
        }


def read_examples(lines: Iterable[str]) -> list[Example]:
    """Parse and check every line first, so a typo at line 9,000 wastes no measurement."""
    examples: list[Example] = []
    for number, row in json_objects(lines, lambda number: f"line {number}"):
        text, label, kind = row.get("text"), row.get("label"), row.get("kind")
        if not isinstance(text, str) or not text:
            raise EvalInputError(f"line {number}: 'text' must be a non-empty string")
        if label not in LABELS:
            raise EvalInputError(f"line {number}: 'label' must be 'attack' or 'benign'")
        if kind is not None and not isinstance(kind, str):
            raise EvalInputError(f"line {number}: 'kind' must be a string when given")
        examples.append(Example(text, label, kind or "(none)"))
    if not examples:
        raise EvalInputError("the file holds no examples")
    return examples


async def evaluate(runtime: Any, examples: Sequence[Example]) -> Report:
    """Classify every example as a turn would (concurrent classifiers, core ``combine``)."""
    from supportai.caller import Caller
    from supportai.classifiers import ClassifierInput, combine

    caller = Caller(tenant_id="eval", user_id="eval")
    policy = runtime.settings.refused_intents
    report = Report()
    # One unmeasured call first: lazy set-up (rule compilation, model weights) is a
    # start-up cost, not a per-message one.
    warm_up = ClassifierInput(text=examples[0].text, caller=caller, conversation_id=0)
    await asyncio.gather(*(c.classify(warm_up) for c in runtime.classifiers))
    for example in examples:
        message = ClassifierInput(text=example.text, caller=caller, conversation_id=0)
        started = time.perf_counter()
        results = await asyncio.gather(*(c.classify(message) for c in runtime.classifiers))
        verdict = combine(results, policy)
        seconds = time.perf_counter() - started
        scores = [float(r.details["score"]) for r in results if "score" in r.details]
        report.outcomes.append(
            Outcome(
                example=example,
                refused=verdict.refused,
                intent=verdict.intent,
                seconds=seconds,
                score=max(scores) if scores else None,
                refused_without_score=any(
                    r.refused or r.intent in policy for r in results if "score" not in r.details
                ),
            )
        )
    return report


def _build_runtime(settings: Any) -> Any:
    """The app's providers as at start-up (nothing connects: no database is opened)."""
    from supportai.runtime import Runtime

    return Runtime.build(settings)


def cmd_eval_classifier(args: argparse.Namespace) -> int:
    from supportai.settings import Settings

    try:
        with Path(args.file).open(encoding="utf-8") as handle:
            examples = read_examples(handle)
    except OSError as exc:
        print(
            f"supportai eval classifier: cannot read {args.file}: {exc.strerror}", file=sys.stderr
        )
        return 2
    except (EvalInputError, UnicodeDecodeError) as exc:
        print(f"supportai eval classifier: {args.file}: {exc}", file=sys.stderr)
        return 2
    settings = Settings()
    if args.classifiers is not None:
        names = [name.strip() for name in args.classifiers.split(",") if name.strip()]
        settings = settings.model_copy(update={"classifiers": names})
    if not settings.classifiers:
        raise ConfigurationError(
            "no classifier to evaluate: set SUPPORTAI_CLASSIFIERS or pass --classifiers"
        )
    report = asyncio.run(evaluate(_build_runtime(settings), examples))
    figures = report.as_dict()
    figures["classifiers"] = list(settings.classifiers)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(render(figures))
        if args.errors:
            print(render_errors(report, args.errors))
    return _gate(figures, args.min_recall, args.max_false_refusals)


def render(figures: dict[str, Any]) -> str:
    """The report as a few aligned lines (``--json`` gives every number)."""
    lines = [
        f"classifiers: {', '.join(figures['classifiers'])}",
        f"attacks: {figures['attacks']}  recall {_pct(figures['recall'])}"
        f"  under {SHORT_CHARS} characters {_pct(figures['recall_under_100_chars'])}"
        f" (of {figures['attacks_under_100_chars']})",
    ]
    lines += [f"  {kind:24} {_pct(rate)}" for kind, rate in figures["recall_by_kind"].items()]
    lines.append(
        f"benign: {figures['benign']}  false refusals {_pct(figures['false_refusal_rate'], 2)}"
        f" ({figures['false_refusals']})"
    )
    lines += [
        f"  {kind:24} {_pct(rate, 2)}"
        for kind, rate in figures["false_refusal_rate_by_kind"].items()
    ]
    latency = figures["latency_ms"]
    lines.append(
        f"latency per message: p50 {latency['p50']} ms  p99 {latency['p99']} ms"
        f"  max {latency['max']} ms"
    )
    if "threshold_sweep" in figures:
        lines.append("model score threshold -> recall / false refusals:")
        for row in figures["threshold_sweep"]:
            recall, false_rate = _pct(row["recall"]), _pct(row["false_refusal_rate"], 2)
            lines.append(f"  {row['threshold']:.2f}  {recall} / {false_rate}")
    return "\n".join(lines)


def render_errors(report: Report, limit: int) -> str:
    """Up to ``limit`` missed attacks and false refusals, cut to 100 characters."""
    missed = [o for o in report.outcomes if o.example.label == "attack" and not o.refused]
    wrong = [o for o in report.outcomes if o.example.label == "benign" and o.refused]
    lines = []
    for title, rows in (("missed attacks", missed), ("false refusals", wrong)):
        lines.append(f"{title} ({len(rows)}):")
        for o in rows[:limit]:
            score = "" if o.score is None else f" score {o.score:.2f}"
            lines.append(f"  [{o.example.kind}{score}] {o.example.text[:100]!r}")
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    """Add ``supportai eval classifier`` (see :func:`supportai.evaluation.eval_commands`)."""
    parser = eval_commands(subparsers).add_parser(
        "classifier",
        help="recall, false refusals and latency of the configured classifiers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="JSONL: {text, label: attack|benign, kind?} per line")
    parser.add_argument(
        "--classifiers", help="comma-separated names instead of SUPPORTAI_CLASSIFIERS"
    )
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    parser.add_argument(
        "--errors", type=int, default=0, metavar="N", help="list up to N errors of each kind"
    )
    parser.add_argument("--min-recall", type=float, help="exit 1 if recall is lower (0-1)")
    parser.add_argument(
        "--max-false-refusals", type=float, help="exit 1 if the false-refusal rate is higher"
    )
    parser.set_defaults(func=cmd_eval_classifier)


def _gate(figures: dict[str, Any], min_recall: float | None, max_false: float | None) -> int:
    failed = []
    recall, false_rate = figures["recall"], figures["false_refusal_rate"]
    if min_recall is not None and recall is not None and recall < min_recall:
        failed.append(f"recall {_pct(recall)} < {_pct(min_recall)}")
    if max_false is not None and false_rate is not None and false_rate > max_false:
        failed.append(f"false refusals {_pct(false_rate, 2)} > {_pct(max_false, 2)}")
    for reason in failed:
        print(f"supportai eval classifier: {reason}", file=sys.stderr)
    return 1 if failed else 0


def _rate(outcomes: Sequence[Outcome]) -> float | None:
    return sum(o.refused for o in outcomes) / len(outcomes) if outcomes else None


def _by_kind(outcomes: Sequence[Outcome]) -> dict[str, float | None]:
    kinds: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        kinds[outcome.example.kind].append(outcome)
    return {kind: _rate(rows) for kind, rows in sorted(kinds.items())}


def _percentile(ordered: Sequence[float], share: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"
