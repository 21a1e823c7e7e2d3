"""``supportai eval``: measure a configured app's components on the host's own data.

Each evaluation lives in its own module of this package with an
``add_subcommand(eval_subparsers)`` function; :data:`SUBCOMMANDS` lists them, so a
new evaluation is one module and one line here, and ``cli.py`` registers the
whole group with one call to :func:`register`.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

#: Modules adding a ``supportai eval <name>`` subcommand.
SUBCOMMANDS = ("supportai.evaluation.classifier",)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``eval`` group and every module's subcommand to the ``supportai`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval", help="measure classifiers (and other components) on your own labelled data"
    )
    eval_subparsers = parser.add_subparsers(dest="eval_command", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(name).add_subcommand(eval_subparsers)
    return parser
