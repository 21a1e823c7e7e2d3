"""``supportai eval pii FILE.jsonl``: how much personal data the output filters remove.

Each line of the file is a text an answer could contain, with the personal
values in it (the gold)::

    {"text": "Call me on +44 20 7946 0958", "pii": [{"kind": "phone", "value": "+44 20 7946 0958"}]}
    {"text": "Order #48213 shipped on 2024-03-14", "pii": []}
    {"text": "Email support@lumen.example", "pii": [], "grounding": ["...article text..."]}

Each text runs through the app's configured output filters
(``SUPPORTAI_OUTPUT_FILTERS``, or ``--filters``), the way an answer streams
through them in a turn, with the optional ``grounding`` as the turn's retrieved
documents; with no output filter configured it goes through the
``supportai_redact`` hook (what core keeps for review and training). Reported:

* **recall per kind**: the share of gold values no longer in the output;
* **false redactions**: texts with no gold value (``"pii": []``) that came out
  changed, which is what a benign corpus of order numbers, versions, dates,
  amounts and tracking numbers should show as 0;
* **latency** per text (p50, p99) and per 1 000 characters.

Core never imports a filter plugin: filters are built through the plugin
registry, as the app builds them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from supportai.evaluation import EvalInputError, eval_commands, percentile, read_jsonl

EVAL_TENANT = "supportai-eval"


@dataclass(frozen=True, slots=True)
class Case:
    """One line of the file."""

    text: str
    gold: tuple[tuple[str, str], ...]  # (kind, value)
    grounding: tuple[str, ...] = ()


@dataclass
class KindScore:
    total: int = 0
    removed: int = 0

    @property
    def recall(self) -> float:
        return self.removed / self.total if self.total else 1.0


@dataclass
class Miss:
    kind: str
    value: str
    output: str


@dataclass
class PiiReport:
    """What ``eval pii`` measured; :meth:`as_dict` is the ``--json`` output."""

    redactor: str
    kinds: dict[str, KindScore] = field(default_factory=dict)
    benign: int = 0
    altered: list[tuple[str, str]] = field(default_factory=list)  # (text, output)
    misses: list[Miss] = field(default_factory=list)
    blocked: int = 0
    seconds: list[float] = field(default_factory=list)
    characters: int = 0

    @property
    def recall(self) -> float:
        total = sum(s.total for s in self.kinds.values())
        return sum(s.removed for s in self.kinds.values()) / total if total else 1.0

    @property
    def false_redaction_rate(self) -> float:
        return len(self.altered) / self.benign if self.benign else 0.0

    def as_dict(self) -> dict[str, Any]:
        total_s = sum(self.seconds)
        return {
            "redactor": self.redactor,
            "texts": len(self.seconds),
            "recall": round(self.recall, 4),
            "recall_by_kind": {
                kind: {"values": s.total, "removed": s.removed, "recall": round(s.recall, 4)}
                for kind, s in sorted(self.kinds.items())
            },
            "benign_texts": self.benign,
            "benign_altered": len(self.altered),
            "false_redaction_rate": round(self.false_redaction_rate, 4),
            "blocked": self.blocked,
            "latency_ms": {
                "p50": round(percentile(self.seconds, 0.5) * 1000, 3),
                "p99": round(percentile(self.seconds, 0.99) * 1000, 3),
                "per_1000_chars": round(total_s / self.characters * 1e6, 3)
                if self.characters
                else 0.0,
            },
        }


def parse_cases(rows: Sequence[dict[str, Any]], source: str) -> list[Case]:
    """Validate the rows: a gold value must be a piece of its text (else the file is wrong)."""
    cases: list[Case] = []
    for number, row in enumerate(rows, start=1):
        where = f"{source}: row {number}"
        text = row.get("text")
        if not isinstance(text, str):
            raise EvalInputError(f"{where}: 'text' must be a string")
        gold_rows = row.get("pii", [])
        if not isinstance(gold_rows, list):
            raise EvalInputError(f"{where}: 'pii' must be a list")
        gold: list[tuple[str, str]] = []
        for item in gold_rows:
            if not (
                isinstance(item, dict)
                and isinstance(item.get("kind"), str)
                and isinstance(item.get("value"), str)
                and item["value"]
            ):
                raise EvalInputError(f"{where}: each 'pii' item needs a 'kind' and a 'value'")
            if item["value"] not in text:
                raise EvalInputError(f"{where}: the value {item['value']!r} is not in the text")
            gold.append((item["kind"], item["value"]))
        grounding = row.get("grounding", [])
        if not isinstance(grounding, list) or not all(isinstance(g, str) for g in grounding):
            raise EvalInputError(f"{where}: 'grounding' must be a list of strings")
        cases.append(Case(text, tuple(gold), tuple(grounding)))
    return cases


Redactor = Callable[[Case], Awaitable[tuple[str, bool]]]
"""Run one case: (the output text, whether a filter blocked the rest)."""


async def evaluate(
    cases: Sequence[Case], redactor: Redactor, name: str, *, warm_up: bool = True
) -> PiiReport:
    """Run every case through ``redactor`` and score it.

    With ``warm_up`` every case runs once untimed first: parsers load data on
    first use (phonenumbers reads one country's metadata the first time it sees
    that country), a one-off cost per process that would otherwise fill the p99.
    """
    report = PiiReport(redactor=name)
    if warm_up:
        for case in cases:
            await redactor(case)
    for case in cases:
        started = time.perf_counter()
        output, blocked = await redactor(case)
        report.seconds.append(time.perf_counter() - started)
        report.characters += len(case.text)
        report.blocked += blocked
        if not case.gold:
            report.benign += 1
            if output != case.text:
                report.altered.append((case.text, output))
            continue
        for kind, value in case.gold:
            score = report.kinds.setdefault(kind, KindScore())
            score.total += 1
            if value in output:
                report.misses.append(Miss(kind, value, output))
            else:
                score.removed += 1
    return report


def filter_redactor(filters: Sequence[Any], chunk_size: int) -> Redactor:
    """Through the output filters, as a turn streams: whole, or in ``chunk_size`` pieces."""
    from supportai.caller import Caller
    from supportai.filters import FilterContext
    from supportai.pipeline.filtering import FilterChain

    caller = Caller(EVAL_TENANT, "eval")

    async def run(case: Case) -> tuple[str, bool]:
        chain = FilterChain(filters, FilterContext(caller, 0, "", grounding=case.grounding))
        size = chunk_size or len(case.text) or 1
        parts = [await chain.push(case.text[i : i + size]) for i in range(0, len(case.text), size)]
        parts.append(await chain.close())
        return "".join(parts), chain.blocked is not None

    return run


def hook_redactor(hooks: Any) -> Redactor:
    """Through the ``supportai_redact`` hook (plus host-marked terms), as core stores texts."""
    from supportai.redaction import redact

    async def run(case: Case) -> tuple[str, bool]:
        return await redact(hooks, EVAL_TENANT, case.text), False

    return run


def build_redactor(filter_names: Sequence[str] | None, chunk_size: int) -> tuple[Redactor, str]:
    """The app's output filters (or those named), built as at start-up (no database opened)."""
    from supportai.plugins import Hooks, create_plugin_manager
    from supportai.runtime import Runtime
    from supportai.settings import Settings

    settings = Settings()
    names = list(settings.output_filters if filter_names is None else filter_names)
    if not names:
        return hook_redactor(Hooks(create_plugin_manager(settings))), "supportai_redact hook"
    runtime = Runtime.build(settings.model_copy(update={"output_filters": names}))
    return filter_redactor(runtime.filters, chunk_size), "output filters: " + ", ".join(names)


def format_report(report: PiiReport, show: int) -> str:
    """The human-readable summary (``--json`` prints :meth:`PiiReport.as_dict`)."""
    data = report.as_dict()
    lines = [f"redactor: {report.redactor}; {data['texts']} texts", "recall by kind:"]
    width = max([len(k) for k in report.kinds] + [3])
    for kind, score in sorted(report.kinds.items()):
        lines.append(f"  {kind:<{width}}  {score.removed:>6}/{score.total:<6} {score.recall:7.1%}")
    removed = sum(s.removed for s in report.kinds.values())
    total = sum(s.total for s in report.kinds.values())
    lines.append(f"  {'all':<{width}}  {removed:>6}/{total:<6} {report.recall:7.1%}")
    lines.append(
        f"false redactions: {len(report.altered)} of {report.benign} benign texts altered "
        f"({report.false_redaction_rate:.2%})"
    )
    if report.blocked:
        lines.append(f"blocked by a filter: {report.blocked} texts")
    latency = data["latency_ms"]
    lines.append(
        f"latency per text: p50 {latency['p50']:.3f} ms, p99 {latency['p99']:.3f} ms; "
        f"{latency['per_1000_chars']:.3f} ms per 1000 characters"
    )
    for miss in report.misses[:show]:
        lines.append(f"missed {miss.kind}: {miss.value!r} in {miss.output!r}")
    for text, output in report.altered[:show]:
        lines.append(f"altered: {text!r} -> {output!r}")
    return "\n".join(lines)


def cmd_eval_pii(args: argparse.Namespace) -> int:
    cases = parse_cases(read_jsonl(args.file), args.file)
    names = None if args.filters is None else [n.strip() for n in args.filters.split(",") if n]
    redactor, name = build_redactor(names, args.chunk_size)
    report = asyncio.run(evaluate(cases, redactor, name, warm_up=not args.cold))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(format_report(report, args.show))
    failed = []
    if args.min_recall is not None and report.recall < args.min_recall:
        failed.append(f"recall {report.recall:.2%} is below {args.min_recall:.2%}")
    if args.max_altered is not None and len(report.altered) > args.max_altered:
        failed.append(f"{len(report.altered)} benign texts altered (at most {args.max_altered})")
    for reason in failed:
        print(f"supportai eval pii: {reason}", file=sys.stderr)
    return 1 if failed else 0


def register(subparsers: Any) -> None:
    """Add ``supportai eval pii`` (see :func:`supportai.evaluation.eval_commands`)."""
    parser = eval_commands(subparsers).add_parser(
        "pii",
        help="recall per kind, false redactions and latency of the output filters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="JSON lines: {text, pii: [{kind, value}], grounding?}")
    parser.add_argument(
        "--filters",
        help="comma-separated output filters (default: SUPPORTAI_OUTPUT_FILTERS; "
        "none configured: the supportai_redact hook)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=0,
        metavar="N",
        help="stream each text in pieces of N characters (default: whole)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="time the first pass (default: one untimed pass first, so one-off loads "
        "of parser data do not count)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--show", type=int, default=10, metavar="N", help="print N misses and false redactions"
    )
    parser.add_argument(
        "--min-recall", type=float, metavar="R", help="exit 1 when overall recall is below R"
    )
    parser.add_argument(
        "--max-altered", type=int, metavar="N", help="exit 1 when more benign texts are altered"
    )
    parser.set_defaults(func=cmd_eval_pii)
