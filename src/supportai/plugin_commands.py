"""Subcommands of installed plugins (``supportai_register_commands``).

The command line loads plugins like an app does (entry points, filtered by
``SUPPORTAI_PLUGINS`` and ``SUPPORTAI_DISABLE_PLUGINS``) so an operator runs a
plugin's maintenance task as ``supportai <command>``, as datasette's
``register_commands`` allows. A plugin that fails to load, or settings that do
not validate, must not take the core commands down with it (``supportai
plugins`` is how one diagnoses exactly that), so they only cost the plugin
commands, with a warning.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pydantic import ValidationError

from supportai.errors import ConfigurationError
from supportai.hookcalls import Hooks
from supportai.plugins import create_plugin_manager
from supportai.settings import Settings


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Let every installed plugin add its subcommands; a name already taken fails."""
    try:
        hooks = Hooks(create_plugin_manager(Settings()))
    except (ConfigurationError, ValidationError) as exc:
        reason = str(exc).splitlines()[0]
        print(f"supportai: plugin commands are unavailable: {reason}", file=sys.stderr)
        return
    try:
        hooks.register_commands(subparsers)
    except argparse.ArgumentError as exc:
        raise ConfigurationError(
            f"a plugin's supportai_register_commands failed: {exc} (a core or another "
            "plugin's command has that name)"
        ) from exc
