"""The ``supportai`` command: inspect plugins, migrate the database, export data.

Subcommands are small modules' ``register(subparsers)`` functions so that each
concern keeps its command next to its code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from supportai import __version__
from supportai.cli_database import choose_database
from supportai.errors import ConfigurationError

DESCRIPTION = (
    "Operate a supportai installation: list the installed plugins and their settings, "
    "migrate the database, export reviewed training data, print the OpenAPI document "
    "and start a new plugin. Settings come from SUPPORTAI_* environment variables "
    "(docs/configuration.md)."
)


def _settings(args: argparse.Namespace) -> Any:
    from supportai.settings import Settings

    overrides = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    return Settings(**overrides)


def cmd_plugins(args: argparse.Namespace) -> int:
    """List loaded plugins, their versions, hooks and (redacted) settings."""
    from supportai.plugins import (
        Hooks,
        create_plugin_manager,
        load_plugin_settings,
        plugin_info,
        redacted_settings,
    )

    settings = _settings(args)
    pm = create_plugin_manager(settings)
    hooks = Hooks(pm)
    plugin_settings = {
        model.__name__: redacted_settings(value)
        for model, value in load_plugin_settings(hooks, settings).items()
    }
    rows = plugin_info(pm)
    if args.json:
        print(json.dumps({"plugins": rows, "settings": plugin_settings}, indent=2))
        return 0
    for row in rows:
        version = f" {row['version']}" if row["version"] else " (built-in)"
        print(
            f"{row['name']}{version}"
            + (f"  [{row['distribution']}]" if row["distribution"] else "")
        )
        for hook in row["hooks"]:
            print(f"    {hook}")
    for name, values in plugin_settings.items():
        print(f"{name}: {json.dumps(values)}")
    return 0


def _migrate(work: Any) -> Any:
    """Run a migration coroutine; Alembic's own errors (an unknown revision) are ours."""
    from alembic.util import CommandError

    try:
        return asyncio.run(work)
    except CommandError as exc:
        raise ConfigurationError(str(exc)) from None


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from supportai.store.migrations import upgrade

    choice = choose_database(args)
    choice.announce()
    progress = _migrate(upgrade(choice.url, args.revision))
    if progress.adopted:
        print("adopted a database of the previous migration runner: stamped 0001")
    print("applied: " + (", ".join(progress.steps) or "nothing (up to date)"))
    return 0


def cmd_db_downgrade(args: argparse.Namespace) -> int:
    from supportai.store.migrations import downgrade

    choice = choose_database(args)
    choice.require_existing()
    choice.announce()
    progress = _migrate(downgrade(choice.url, args.revision))
    print("undone: " + (", ".join(progress.steps) or "nothing"))
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    from supportai.store.migrations import current, head

    choice = choose_database(args)
    choice.require_existing()
    choice.announce()
    revisions = asyncio.run(current(choice.url))
    print(f"current: {', '.join(revisions) or 'none (not migrated)'}, head: {head()}")
    return 0 if revisions == (head(),) else 1


def cmd_db_history(args: argparse.Namespace) -> int:
    """The revisions, newest first; needs no database."""
    from supportai.store.migrations import script_directory

    for script in script_directory().walk_revisions():
        print(f"{script.revision}  {script.doc}")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    """Print (or write) the OpenAPI document of the app as configured, without plugins."""
    from supportai.openapi import snapshot

    text = snapshot()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportai", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"supportai {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    plugins = sub.add_parser("plugins", help="list loaded plugins and their hooks")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=cmd_plugins)

    db = sub.add_parser("db", help="database migrations (Alembic revisions)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    for name, func, text in (
        ("upgrade", cmd_db_upgrade, "apply pending revisions"),
        ("downgrade", cmd_db_downgrade, "undo revisions down to REVISION"),
        ("current", cmd_db_current, "show the applied revision (exit 1 if not at head)"),
    ):
        command = db_sub.add_parser(name, help=text)
        command.add_argument("--database-url", help="default: SUPPORTAI_DATABASE_URL")
        if name == "upgrade":
            command.add_argument("revision", nargs="?", default="head", help="default: head")
        elif name == "downgrade":
            command.add_argument("revision", help="a revision id, -1 (one step) or base")
        command.set_defaults(func=func)
    history = db_sub.add_parser("history", help="list the revisions, newest first")
    history.set_defaults(func=cmd_db_history)

    openapi = sub.add_parser("openapi", help="print the OpenAPI document")
    openapi.add_argument("-o", "--output")
    openapi.set_defaults(func=cmd_openapi)

    from supportai import export, scaffold
    from supportai.knowledge import cli as kb_cli

    export.register(sub)
    scaffold.register(sub)
    kb_cli.register(sub)
    from supportai.evaluation import classifier as eval_classifier
    from supportai.evaluation import knowledge as eval_knowledge
    from supportai.evaluation import pii as eval_pii

    eval_classifier.register(sub)
    eval_knowledge.register(sub)
    eval_pii.register(sub)
    from supportai.quota import reconcile

    reconcile.register(sub)
    from supportai import plugin_commands

    plugin_commands.register(sub)  # last: a plugin cannot shadow a core command
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except ConfigurationError as exc:
        print(f"supportai: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
