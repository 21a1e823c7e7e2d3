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

from supportai.errors import ConfigurationError


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


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from supportai.store.database import Database
    from supportai.store.migrations import upgrade

    async def run() -> list[int]:
        database = Database(_settings(args).database_url)
        await database.connect()
        try:
            return await upgrade(database)
        finally:
            await database.disconnect()

    applied = asyncio.run(run())
    print("applied: " + (", ".join(map(str, applied)) if applied else "nothing (up to date)"))
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    from supportai.store.database import Database
    from supportai.store.migrations import HEAD, current_version

    async def run() -> int:
        database = Database(_settings(args).database_url)
        await database.connect()
        try:
            return await current_version(database)
        finally:
            await database.disconnect()

    version = asyncio.run(run())
    print(f"current: {version}, head: {HEAD}")
    return 0 if version == HEAD else 1


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
    parser = argparse.ArgumentParser(prog="supportai", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    plugins = sub.add_parser("plugins", help="list loaded plugins and their hooks")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=cmd_plugins)

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    for name, func, text in (
        ("upgrade", cmd_db_upgrade, "apply pending migrations"),
        ("current", cmd_db_current, "show the applied version (exit 1 if behind)"),
    ):
        command = db_sub.add_parser(name, help=text)
        command.add_argument("--database-url", help="default: SUPPORTAI_DATABASE_URL")
        command.set_defaults(func=func)

    openapi = sub.add_parser("openapi", help="print the OpenAPI document")
    openapi.add_argument("-o", "--output")
    openapi.set_defaults(func=cmd_openapi)

    from supportai import export

    export.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigurationError as exc:
        print(f"supportai: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
