"""``supportai eval ...``: measure parts of the assistant on the host's own data.

Each measurement is a module with a ``register(subparsers)`` function, like the
other commands (see :mod:`supportai.cli`). They share one ``eval`` command:
:func:`eval_commands` creates it the first time any of them registers and hands
the same sub-command group to the next, so ``eval pii``, ``eval retrieval`` and
``eval classifier`` can be added by separate modules in any order, each with
one line in ``cli.py``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from supportai.errors import ConfigurationError

_EVAL_GROUP = "_supportai_eval_commands"


def eval_commands(subparsers: Any) -> Any:
    """The sub-command group of ``supportai eval``, created on first use."""
    group = getattr(subparsers, _EVAL_GROUP, None)
    if group is None:
        parser = subparsers.add_parser(
            "eval",
            help="measure the assistant on your own data (JSON lines)",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        group = parser.add_subparsers(dest="eval_command", required=True)
        setattr(subparsers, _EVAL_GROUP, group)
    return group


class EvalInputError(ConfigurationError):
    """The evaluation file cannot be read: the command exits with status 2 and says where."""


def json_objects(
    lines: Iterable[str], location: Callable[[int], str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-blank line's object with its line number; ``location(n)`` prefixes errors."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{location(number)}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise EvalInputError(f"{location(number)}: expected a JSON object")
        yield number, row


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every object of a JSON-lines file; blank lines are skipped, anything else is an error."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"cannot read {path}: {exc}") from exc
    rows = [row for _, row in json_objects(lines, lambda number: f"{path}:{number}")]
    if not rows:
        raise EvalInputError(f"{path}: no rows")
    return rows


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
