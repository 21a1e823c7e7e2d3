"""docs/hooks.md is generated from the hookspecs, with exact signatures, and every hook is tested.

The page is rendered by ``scripts/docs/generate_hooks_reference.py``; the tests
below read the *committed* page back on their own (they do not trust the
generator) and compare each section's signature, parameter by parameter, with
the hookspec and with the facade method core calls it through.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import typing
from pathlib import Path

import pytest

from supportai import events, hookspecs
from supportai.hookcalls import Hooks

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "hooks.md"
HOOKS = sorted(hookspecs.KINDS)


def generator() -> typing.Any:
    spec = importlib.util.spec_from_file_location(
        "generate_hooks_reference", ROOT / "scripts" / "docs" / "generate_hooks_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections() -> dict[str, str]:
    parts = re.split(r"^## ", PAGE.read_text(), flags=re.MULTILINE)
    return {part.split("\n", 1)[0]: part for part in parts[1:]}


def documented_signature(hook: str) -> ast.FunctionDef:
    """The section's first code span, parsed as a Python ``def``."""
    match = re.search(r"^`(supportai_\w+\(.*\) -> .*)`$", sections()[hook], re.MULTILINE)
    assert match, f"no signature line in the section of {hook}"
    function = ast.parse(f"def {match.group(1)}: ...").body[0]
    assert isinstance(function, ast.FunctionDef)
    return function


def test_the_page_is_what_the_generator_renders() -> None:
    assert PAGE.read_text() == generator().render(), (
        "docs/hooks.md is stale: run python scripts/docs/generate_hooks_reference.py"
    )


def test_every_hookspec_is_a_section_and_nothing_else_is() -> None:
    hook_sections = sorted(name for name in sections() if name.startswith("supportai_"))
    assert hook_sections == HOOKS
    assert len(HOOKS) >= 24


@pytest.mark.parametrize("hook", HOOKS)
def test_the_documented_signature_is_the_hookspec_s(hook: str) -> None:
    documented = documented_signature(hook)
    spec = inspect.signature(getattr(hookspecs, hook))
    assert documented.name == hook
    assert [
        (a.arg, ast.unparse(a.annotation) if a.annotation else None) for a in documented.args.args
    ] == [(p.name, p.annotation) for p in spec.parameters.values()]
    assert documented.returns is not None
    assert ast.unparse(documented.returns) == spec.return_annotation


@pytest.mark.parametrize("hook", HOOKS)
def test_the_facade_method_takes_the_hook_s_parameters(hook: str) -> None:
    """One typed method per hook; ``context`` is the app's, supplied by the facade."""
    method = getattr(Hooks, hook.removeprefix("supportai_"))
    spec = inspect.signature(getattr(hookspecs, hook))
    method_params = [p for p in inspect.signature(method).parameters.values() if p.name != "self"]
    expected = [p for p in spec.parameters.values() if p.name != "context"]
    assert [p.name for p in method_params] == [p.name for p in expected]
    assert [p.annotation for p in method_params] == [p.annotation for p in expected]
    assert f"hooks.{method.__name__}(" in sections()[hook]
    is_async = inspect.iscoroutinefunction(method)
    assert is_async == (hookspecs.KINDS[hook] != "registration")


@pytest.mark.parametrize("hook", [name for name in HOOKS if hookspecs.KINDS[name] == "observer"])
def test_an_observer_section_lists_exactly_its_event_s_keys(hook: str) -> None:
    event_type = getattr(
        events, inspect.signature(getattr(hookspecs, hook)).parameters["event"].annotation
    )
    table = sections()[hook].split(f"`{event_type.__name__}`, with the keys:", 1)[1]
    table = table.split("\n\n", 2)[1]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", table, re.MULTILINE)
    assert [key for key, _ in rows] == list(typing.get_type_hints(event_type))
    assert [annotation.replace("\\|", "|") for _, annotation in rows] == [
        generator()._written(a) for a in event_type.__annotations__.values()
    ]


def _test_sources() -> str:
    folders = [ROOT / "tests", *(ROOT / "plugins").glob("*/tests"), ROOT / "examples"]
    return "\n".join(
        path.read_text(errors="replace")
        for folder in folders
        for path in folder.rglob("test_*.py")
        if path.name != "test_hook_docs.py"
    )


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_exercised_by_a_test(hook: str) -> None:
    """A test implements the hook (its name) or calls it (its facade method)."""
    sources = _test_sources()
    method = f".{hook.removeprefix('supportai_')}("
    assert hook in sources or method in sources, f"no test mentions {hook}"
