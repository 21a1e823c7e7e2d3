"""The typed hook facade: result types, wrappers supported, old-style wrappers rejected."""

from __future__ import annotations

import ast
from collections.abc import Generator
from pathlib import Path

import pytest
from hook_events import as_caller, completed_event

from supportai import hookimpl, hookspecs
from supportai.errors import ConfigurationError
from supportai.llm import ContextDocument
from supportai.plugins import (
    HookResultError,
    Hooks,
    PluginRegistrationError,
    create_plugin_manager,
)
from supportai.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def hooks_with(tmp_path: Path, *plugins: object, **values: object) -> Hooks:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", **values)
    return Hooks(create_plugin_manager(settings, plugins, load_entry_points=False))


def doc(source_id: str) -> ContextDocument:
    return ContextDocument(source_id=source_id, title=source_id, text="text")


async def test_a_wrapper_sees_and_replaces_the_winning_result(tmp_path: Path) -> None:
    """A wrapper=True generator wraps the first-result walk, as in pluggy."""
    order: list[str] = []

    class Suffix:
        @hookimpl(wrapper=True)
        def supportai_system_prompt(self, conversation_id: int) -> Generator[None, str, str]:
            order.append("before")
            prompt = yield
            order.append("after")
            return f"{prompt} Conversation {conversation_id}."

    class Prompt:
        @hookimpl
        async def supportai_system_prompt(self) -> str:
            order.append("impl")
            return "Be brief."

    hooks = hooks_with(tmp_path, Suffix(), Prompt())
    assert await hooks.system_prompt(as_caller(), 7) == "Be brief. Conversation 7."
    assert order == ["before", "impl", "after"]


async def test_a_wrapper_gets_the_exception_of_the_implementations(tmp_path: Path) -> None:
    class Fallback:
        @hookimpl(wrapper=True)
        def supportai_master_flag(self) -> Generator[None, bool | None, bool | None]:
            try:
                return (yield)
            except RuntimeError:
                return False  # the flag service is down: switch the assistant off

    class Broken:
        @hookimpl
        async def supportai_master_flag(self) -> bool:
            raise RuntimeError("flag service down")

    assert await hooks_with(tmp_path, Fallback(), Broken()).master_flag("t1") is False


async def test_a_wrapper_of_a_collecting_hook_sees_the_list(tmp_path: Path) -> None:
    class TopOne:
        @hookimpl(wrapper=True)
        def supportai_retrieve_context(
            self,
        ) -> Generator[None, list[list[ContextDocument]], list[list[ContextDocument]]]:
            found = yield
            return [found[0][:1]]

    class Retriever:
        @hookimpl
        async def supportai_retrieve_context(self) -> list[ContextDocument]:
            return [doc("a"), doc("b")]

    found = await hooks_with(tmp_path, TopOne(), Retriever()).retrieve_context("q", as_caller(), 3)
    assert [d.source_id for d in found] == ["a"]


async def test_a_wrapper_around_observers_cannot_break_the_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    class Timing:
        @hookimpl(wrapper=True)
        def supportai_turn_completed(self) -> Generator[None, None, None]:
            seen.append("wrapped")
            yield
            raise RuntimeError("wrapper broke")

    class Observer:
        @hookimpl
        def supportai_turn_completed(self, event: dict[str, object]) -> None:
            seen.append(str(event["status"]))

    await hooks_with(tmp_path, Timing(), Observer()).turn_completed(completed_event())
    assert seen == ["wrapped", "complete"]
    assert "wrapper broke" in caplog.text


def test_an_old_style_hookwrapper_is_rejected_at_registration(tmp_path: Path) -> None:
    class OldStyle:
        @hookimpl(hookwrapper=True)
        def supportai_system_prompt(self) -> Generator[None, object, None]:
            yield

    with pytest.raises(PluginRegistrationError, match=r"hookwrapper=True.*wrapper=True") as error:
        hooks_with(tmp_path, OldStyle())
    assert "supportai_system_prompt" in str(error.value)
    assert isinstance(error.value, ConfigurationError)  # start-up fails, as other plugin errors


def test_an_async_wrapper_is_rejected_at_registration(tmp_path: Path) -> None:
    """Before: the facade returned the generator object as the system prompt."""

    class AsyncWrapper:
        @hookimpl(wrapper=True)
        async def supportai_system_prompt(self) -> str:
            return "never awaited"

    with pytest.raises(PluginRegistrationError, match="generator function"):
        hooks_with(tmp_path, AsyncWrapper())


def test_registration_hooks_keep_pluggy_s_own_wrappers(tmp_path: Path) -> None:
    """pluggy calls registration hooks itself, so both wrapper styles work there."""
    calls: list[str] = []

    class Audit:
        @hookimpl(hookwrapper=True)
        def supportai_register_tools(self) -> Generator[None, object, None]:
            calls.append("before")
            yield
            calls.append("after")

    hooks_with(tmp_path, Audit()).register_tools(lambda tool: None)
    assert calls == ["before", "after"]


async def test_a_result_of_the_wrong_type_names_the_plugin(tmp_path: Path) -> None:
    class Stringly:
        @hookimpl
        def supportai_master_flag(self) -> str:
            return "false"

    with pytest.raises(HookResultError, match=r"supportai_master_flag of plugin .* returned str"):
        await hooks_with(tmp_path, Stringly()).master_flag("t1")


async def test_a_collecting_hook_must_return_a_sequence_of_its_items(tmp_path: Path) -> None:
    class OneDocument:
        @hookimpl
        def supportai_retrieve_context(self) -> ContextDocument:
            return doc("a")

    with pytest.raises(HookResultError, match="a sequence of ContextDocument"):
        await hooks_with(tmp_path, OneDocument()).retrieve_context("q", as_caller(), 3)


def test_every_hook_has_a_kind_and_a_typed_method() -> None:
    names = sorted(n for n in vars(hookspecs) if n.startswith("supportai_"))
    assert sorted(hookspecs.KINDS) == names
    for name in names:
        method = getattr(Hooks, name.removeprefix("supportai_"))
        assert method.__annotations__.get("return"), name


def _string_name_calls(path: Path) -> list[str]:
    """``hooks.first("supportai_x")``-style calls, and pluggy calls of facade hooks."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in hookspecs.KINDS
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "hook"
        ):
            found.append(f"{path.name}:{node.lineno} (pm.hook)")
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr == "has_impls":  # a question about plugins, not a call of the hook
            continue
        first_arg = node.args[0] if node.args else None
        if (
            isinstance(first_arg, ast.Constant)
            and isinstance(first_arg.value, str)
            and first_arg.value.startswith("supportai_")
            and first_arg.value in hookspecs.KINDS
        ):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_code_calls_a_hook_by_its_string_name() -> None:
    sources = [
        *(ROOT / "src" / "supportai").rglob("*.py"),
        *(ROOT / "plugins").glob("*/src/**/*.py"),
        *(ROOT / "examples").glob("*/src/**/*.py"),
    ]
    calls = [
        call
        for path in sources
        if path.name not in {"hookcalls.py", "hookspecs.py"}
        for call in _string_name_calls(path)
    ]
    assert calls == []


class NoYield:
    @hookimpl(wrapper=True)
    def supportai_system_prompt(self) -> Generator[None, str, str]:
        if False:  # a generator that returns before its yield
            yield
        return "never"


class TwoYields:
    @hookimpl(wrapper=True)
    def supportai_system_prompt(self) -> Generator[None, str, str]:
        yield
        yield
        return "never"


@pytest.mark.parametrize(
    ("wrapper", "message"), [(NoYield(), "did not yield"), (TwoYields(), "more than once")]
)
async def test_a_wrapper_must_yield_exactly_once(
    tmp_path: Path, wrapper: object, message: str
) -> None:
    with pytest.raises(HookResultError, match=message):
        await hooks_with(tmp_path, wrapper).system_prompt(as_caller(), 1)
