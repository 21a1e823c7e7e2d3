"""Every hook is documented in docs/hooks.md and exercised by a test (datasette's rule)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from supportai import hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("supportai_"))


def _test_sources() -> str:
    folders = [ROOT / "tests", *(ROOT / "plugins").glob("*/tests"), ROOT / "examples"]
    return "\n".join(
        path.read_text(errors="replace")
        for folder in folders
        for path in folder.rglob("test_*.py")
        if path.name != "test_hook_docs.py"
    )


def test_hookspecs_exist() -> None:
    assert len(HOOKS) >= 19


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_docs_section(hook: str) -> None:
    sections = re.findall(r"^## (\w+)$", (ROOT / "docs" / "hooks.md").read_text(), re.MULTILINE)
    assert hook in sections


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_exercised_by_a_test(hook: str) -> None:
    assert hook in _test_sources(), f"no test mentions {hook}"
