"""``supportai eval retrieval|answers QUESTIONS.jsonl``: the help center, on a question set.

Everything runs through the app's own hooks and backend, built from the same
settings as the app, so hosts measure *their* help center with *their* plugins.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``supportai eval retrieval`` and ``supportai eval answers``."""
    from supportai.evaluation import eval_commands

    sub = eval_commands(subparsers)
    for name, text in (
        ("retrieval", "hit@1, hit@3, MRR, no-answer precision/recall, latency p50/p99"),
        ("answers", "expected fact in the answer; honest fallback out of scope"),
    ):
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("questions", type=Path, help="JSONL question set")
        command.add_argument("--tenant", default="default", help="tenant to ask as")
        command.add_argument("--split", help="only questions of this split (dev, test)")
        command.add_argument("--json", action="store_true", help="print JSON")
        command.add_argument("--show-misses", action="store_true", help="list what went wrong")
        if name == "answers":
            command.add_argument(
                "--fallback-marker",
                action="append",
                default=None,
                help="text an honest out-of-scope answer contains (repeatable; default: human)",
            )
        command.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from supportai.evaluation.questions import load_questions
    from supportai.evaluation.runner import evaluate_answers, evaluate_retrieval
    from supportai.runtime import Runtime
    from supportai.settings import Settings

    questions = load_questions(args.questions, args.split)
    runtime = Runtime.build(Settings())

    async def run() -> dict[str, Any]:
        await runtime.start()
        try:
            if args.eval_command == "retrieval":
                report: Any = await evaluate_retrieval(runtime, questions, args.tenant)
            else:
                markers = args.fallback_marker or ["human"]
                report = await evaluate_answers(runtime, questions, args.tenant, markers)
        finally:
            await runtime.stop()
        return {"summary": report.summary(), "misses": report.misses}

    result = asyncio.run(run())
    if args.json:
        print(json.dumps(result if args.show_misses else result["summary"], indent=2))
        return 0
    for key, value in result["summary"].items():
        if key != "counts":
            print(f"{key:>22}: {value}")
    if args.show_misses:
        for miss in result["misses"]:
            print(json.dumps(miss, ensure_ascii=False), file=sys.stdout)
    return 0
