"""``supportai new-plugin NAME``: a new plugin distribution that works as generated.

The folder it writes installs (``pip install -e ".[test]"``), registers through the
``supportai`` entry point and passes its own tests: a classifier with a settings
model, which shows the three things every plugin does (declare settings, register a
provider by name, test it through a real app). The files are templates shipped in
``supportai/plugin_template``; ``{{name}}`` placeholders are replaced, nothing else,
so the templates stay plain Python, TOML and Markdown.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from supportai import __version__
from supportai.errors import ConfigurationError

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class PluginNames:
    """Every spelling of one plugin name, derived once so that they agree."""

    provider: str  # entry point and provider name: acme_tools
    distribution: str  # supportai-acme-tools
    package: str  # supportai_acme_tools
    class_name: str  # AcmeTools
    env: str  # ACME_TOOLS, as in SUPPORTAI_ACME_TOOLS_*

    @classmethod
    def parse(cls, name: str) -> PluginNames:
        raw = name.strip().lower().removeprefix("supportai-").removeprefix("supportai_")
        if not _NAME.match(raw):
            raise ConfigurationError(
                f"{name!r} is not a plugin name: use lower-case letters, digits, '-' or '_', "
                "starting with a letter (e.g. acme or acme-tools)"
            )
        provider = raw.replace("-", "_")
        return cls(
            provider=provider,
            distribution=f"supportai-{provider.replace('_', '-')}",
            package=f"supportai_{provider}",
            class_name="".join(part.capitalize() for part in provider.split("_")),
            env=provider.upper(),
        )

    def values(self) -> dict[str, str]:
        return {
            "provider": self.provider,
            "distribution": self.distribution,
            "package": self.package,
            "class_name": self.class_name,
            "env": self.env,
            "settings_key": self.provider,
            "supportai_version": __version__,
        }


def _layout(names: PluginNames) -> dict[str, str]:
    """Generated path -> template file."""
    return {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"src/{names.package}/__init__.py": "plugin.py.tmpl",
        f"src/{names.package}/py.typed": "",
        "tests/test_plugin.py": "test_plugin.py.tmpl",
    }


def render(template: str, values: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"the plugin template uses an unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(substitute, template)


def generate(name: str, directory: Path, *, force: bool = False) -> Path:
    """Write the plugin's folder under ``directory``; return it.

    An existing folder is refused unless ``force``: a second run must not
    overwrite a plugin someone already changed.
    """
    names = PluginNames.parse(name)
    target = directory / names.distribution
    if target.exists() and not force:
        raise ConfigurationError(f"{target} exists: choose another name or pass --force")
    templates = files("supportai") / "plugin_template"
    values = names.values()
    for relative, template in _layout(names).items():
        text = render(templates.joinpath(template).read_text("utf-8"), values) if template else ""
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


def register(subparsers: Any) -> None:
    """Add ``new-plugin`` to the ``supportai`` command."""
    parser = subparsers.add_parser(
        "new-plugin",
        help="create a new plugin distribution from the template",
        description="Create supportai-NAME/: a plugin distribution with the supportai entry "
        "point, a sample classifier with its settings, tests and a README. It installs "
        "(pip install -e '.[test]') and passes its tests (pytest) as generated.",
    )
    parser.add_argument("name", help="the plugin's name, e.g. acme or acme-tools")
    parser.add_argument(
        "--directory", default=".", help="where to create the folder (default: here)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing folder")
    parser.set_defaults(func=cmd_new_plugin)


def cmd_new_plugin(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise ConfigurationError(f"{directory} is not a directory")
    target = generate(args.name, directory, force=args.force)
    names = PluginNames.parse(args.name)
    print(
        f"created {target}\n"
        f"  cd {target}\n"
        '  pip install -e ".[test]"\n'
        "  pytest\n"
        f"then switch it on with SUPPORTAI_CLASSIFIERS='[\"{names.provider}\"]'.",
        file=sys.stdout,
    )
    return 0
