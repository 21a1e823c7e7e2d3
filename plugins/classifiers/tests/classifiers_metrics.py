"""Precision/recall over the labelled sets (shared by the tests and bench/evaluate.py)."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from supportai_classifiers import INTENTS, RulesClassifier

DATA = Path(__file__).parent / "data"

#: Tables computed by test_classifiers_metrics.py, printed in pytest's terminal summary.
REPORTS: list[str] = []


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    style: str
    split: str


@dataclass(frozen=True)
class Score:
    intent: str
    support: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.support if self.support else 1.0


def load(name: str) -> list[Example]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return [Example(**json.loads(line)) for line in handle if line.strip()]


def score(
    examples: Iterable[Example], predict: Callable[[str], str], intents: Iterable[str]
) -> tuple[dict[str, Score], list[tuple[Example, str]]]:
    """Per-intent scores and the misclassified examples with their prediction."""
    pairs = [(ex, predict(ex.text)) for ex in examples]
    table = {
        intent: Score(
            intent=intent,
            support=sum(1 for ex, _ in pairs if ex.intent == intent),
            predicted=sum(1 for _, got in pairs if got == intent),
            correct=sum(1 for ex, got in pairs if ex.intent == intent and got == intent),
        )
        for intent in intents
    }
    errors = [(ex, got) for ex, got in pairs if got != ex.intent]
    return table, errors


def binary(
    examples: Iterable[Example], refused: Callable[[str], bool], refused_intents: set[str]
) -> Score:
    """Refused-or-not as one decision: what matters most for safety."""
    pairs = [(ex.intent in refused_intents, refused(ex.text)) for ex in examples]
    return Score(
        intent="refused (any)",
        support=sum(1 for truth, _ in pairs if truth),
        predicted=sum(1 for _, got in pairs if got),
        correct=sum(1 for truth, got in pairs if truth and got),
    )


def markdown(table: dict[str, Score], extra: Iterable[Score] = ()) -> str:
    lines = ["| intent | support | precision | recall |", "|---|---:|---:|---:|"]
    for row in [*table.values(), *extra]:
        lines.append(f"| {row.intent} | {row.support} | {row.precision:.2f} | {row.recall:.2f} |")
    return "\n".join(lines)


def table_for(name: str, classifier: RulesClassifier) -> str:
    """The Markdown table of one data set: a row per intent plus the refused-or-not row."""
    examples = load(name)
    table, _ = score(examples, lambda t: classifier.classify_text(t).intent, INTENTS)
    overall = binary(
        examples, lambda t: classifier.classify_text(t).refused, set(classifier.refused)
    )
    return markdown(table, [overall])


_STDLIB = [
    "json",
    "re",
    "asyncio",
    "pathlib",
    "subprocess",
    "os",
    "shutil",
    "logging",
    "argparse",
    "unittest",
    "email",
    "http.client",
    "urllib.request",
    "collections",
    "itertools",
    "functools",
    "dataclasses",
    "string",
    "textwrap",
    "threading",
    "socket",
    "ssl",
    "sqlite3",
    "csv",
    "datetime",
    "random",
    "statistics",
    "tempfile",
    "zipfile",
    "tarfile",
    "inspect",
    "ast",
    "pdb",
    "difflib",
    "base64",
    "hashlib",
    "hmac",
    "secrets",
    "signal",
    "smtplib",
    "imaplib",
    "ftplib",
    "http.server",
    "configparser",
    "getpass",
    "locale",
    "gettext",
    "pickle",
    "copy",
    "pprint",
    "enum",
    "decimal",
    "fractions",
    "heapq",
    "bisect",
    "queue",
    "sched",
    "contextlib",
    "abc",
    "io",
    "codecs",
    "glob",
    "fnmatch",
]


def stdlib_paragraphs() -> list[str]:
    """Paragraphs of Python's own docstrings: benign prose nobody wrote for these tests."""
    docs: list[str] = []
    for name in _STDLIB:
        module = importlib.import_module(name)
        docs.append(inspect.getdoc(module) or "")
        for attr, obj in vars(module).items():
            if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            docs.append(inspect.getdoc(obj) or "")
            if inspect.isclass(obj):
                docs.extend(
                    inspect.getdoc(member) or ""
                    for key, member in vars(obj).items()
                    if not key.startswith("_") and inspect.isfunction(member)
                )
    paragraphs = (" ".join(p.split()) for doc in docs for p in re.split(r"\n\s*\n", doc))
    return list(dict.fromkeys(p for p in paragraphs if len(p) >= 40))
