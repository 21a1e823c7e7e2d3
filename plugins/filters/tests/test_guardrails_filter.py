"""The ``guardrails`` filter: validators, host guards, per-answer state, and no egress.

guardrails-ai takes seconds to import, so every test that needs it lives in
this module and shares one import (the module-scoped ``gf`` fixture).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import egress_guard
import pytest
from supportai_filters.settings import GuardrailsSettings

from supportai.caller import Caller
from supportai.errors import ConfigurationError
from supportai.filters import Block, FilterContext, FilterStream

HERE = Path(__file__).parent
PROMPT = (
    "You are the support assistant of Lumen. Never reveal the internal discount code "
    "ZEBRA-42 to anyone, and never promise delivery dates for back-ordered items."
)
CONTEXT = FilterContext(caller=Caller("t1", "u1"), conversation_id=7, system_prompt=PROMPT)


@pytest.fixture(scope="module")
def gf() -> ModuleType:
    import supportai_filters.guardrails_filter as module

    return module


def build(gf: ModuleType, **settings: Any) -> Any:
    return gf.GuardrailsFilter(GuardrailsSettings(**settings))


async def run(stream: FilterStream, chunks: Sequence[str]) -> tuple[str, Block | None, list[str]]:
    out: list[str] = []
    notes: list[str] = []
    for chunk in chunks:
        step = await stream.push(chunk)
        out.append(step.text)
        notes += step.redactions
        if step.blocked:
            return "".join(out), step.blocked, notes
    last = await stream.close()
    out.append(last.text)
    notes += last.redactions
    return "".join(out), last.blocked, notes


def pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


# -- behaviour --------------------------------------------------------------------------


async def test_clean_text_passes_unchanged_with_every_space_kept(gf: ModuleType) -> None:
    text = "Hello there!  Your order shipped.\nIt arrives Monday?  Thanks, bye"
    out, blocked, notes = await run(build(gf).open(CONTEXT), pieces(text, 3))
    assert (out, blocked, notes) == (text, None, [])


async def test_each_character_is_validated_once_even_without_sentence_ends(
    gf: ModuleType,
) -> None:
    # 20 000 characters: sentences, then a long run with no sentence end at all
    # (checked in forced cuts of at most 400 characters).
    text = "Your order shipped on Monday. " * 300 + "and then it goes on " * 550
    stream = build(gf).open(CONTEXT)
    out, blocked, _ = await run(stream, pieces(text, 4))
    assert (out, blocked) == (text, None)
    assert stream.examined_chars == len(text)


async def test_personal_data_is_redacted_per_sentence(gf: ModuleType) -> None:
    text = "Sure. Write to ann@example.com today. Card 4111 1111 1111 1111 is on file. Bye"
    out, blocked, notes = await run(build(gf).open(CONTEXT), pieces(text))
    assert blocked is None
    assert out == (
        "Sure. Write to [redacted email] today. Card [redacted card number] is on file. Bye"
    )
    assert notes == ["rewritten", "rewritten"]


async def test_values_published_in_the_grounding_or_the_allow_list_are_kept(
    gf: ModuleType,
) -> None:
    grounded = FilterContext(
        caller=Caller("t1", "u1"),
        conversation_id=7,
        grounding=("Email support@lumen.example from the address you use.",),
    )
    text = "Sure. Write to support@lumen.example or sales@lumen.example, not ann@example.com. Bye"
    flt = build(gf, pii_public_values=["SALES@lumen.example"])
    out, blocked, notes = await run(flt.open(grounded), pieces(text))
    assert blocked is None
    assert out == (
        "Sure. Write to support@lumen.example or sales@lumen.example, not [redacted email]. Bye"
    )
    assert notes == ["rewritten"]
    out, _, _ = await run(build(gf, pii_keep_grounded=False).open(grounded), pieces(text))
    assert "support@lumen.example" not in out


async def test_a_verbatim_copy_of_the_system_prompt_is_blocked(gf: ModuleType) -> None:
    leak = (
        "Happy to help. My instructions say: never reveal the internal discount code "
        "ZEBRA-42 to anyone. Anything else?"
    )
    out, blocked, _ = await run(build(gf).open(CONTEXT), pieces(leak))
    assert out == "Happy to help. "
    assert blocked is not None and blocked.reason == "system_prompt_leak"
    assert "ZEBRA" not in out


async def test_a_copy_straddling_two_sentences_is_blocked(gf: ModuleType) -> None:
    # Neither sentence alone holds ten consecutive prompt words.
    leak = "I will never reveal the internal discount. Code ZEBRA-42 to anyone, ok."
    out, blocked, _ = await run(build(gf).open(CONTEXT), pieces(leak))
    assert blocked is not None and blocked.reason == "system_prompt_leak"
    assert out == "I will never reveal the internal discount. "


async def test_short_overlaps_with_the_prompt_pass(gf: ModuleType) -> None:
    text = "You are the customer, and Lumen is glad to help. Delivery dates vary."
    out, blocked, _ = await run(build(gf).open(CONTEXT), pieces(text))
    assert (out, blocked) == (text, None)


async def test_prompt_leak_check_can_be_switched_off(gf: ModuleType) -> None:
    leak = "never reveal the internal discount code ZEBRA-42 to anyone, and never promise."
    out, blocked, _ = await run(build(gf, prompt_leak=False).open(CONTEXT), [leak])
    assert (out, blocked) == (leak, None)


async def test_banned_terms_block_by_default(gf: ModuleType) -> None:
    flt = build(gf, banned_terms=["Globex", "Acme Cloud"])
    out, blocked, _ = await run(flt.open(CONTEXT), pieces("Fine. Try acme cloud instead. Bye."))
    assert out == "Fine. "
    assert blocked is not None and blocked.reason == "banned_term"
    # Whole words only: "Globexian" is not "Globex".
    out, blocked, _ = await run(flt.open(CONTEXT), ["The Globexian empire. Ok."])
    assert blocked is None


async def test_banned_terms_can_be_redacted_alongside_personal_data(gf: ModuleType) -> None:
    flt = build(gf, banned_terms=["Globex"], banned_terms_action="redact")
    text = "Ask Globex at sales@globex.com or GLOBEX support on +44 20 7946 0958. Done."
    out, blocked, _ = await run(flt.open(CONTEXT), pieces(text))
    assert blocked is None
    assert out == (
        "Ask [removed] at [redacted email] or [removed] support on [redacted phone number]. Done."
    )


async def test_a_host_guard_runs_after_the_builtin_validators(gf: ModuleType) -> None:
    flt = build(gf, guard_factory="host_guards:async_guard")
    text = "Mail ann@example.com for a voucher. You get a guaranteed refund. Bye."
    out, blocked, _ = await run(flt.open(CONTEXT), pieces(text))
    assert out == "Mail [redacted email] for a credit. "
    assert blocked is not None and blocked.reason == "guardrails"


async def test_a_synchronous_host_guard_is_run_off_the_event_loop(gf: ModuleType) -> None:
    flt = build(gf, guard_factory="host_guards:sync_guard")
    text = "Here is a voucher. A guaranteed refund! Never mind."
    out, blocked, _ = await run(flt.open(CONTEXT), pieces(text))
    assert out == "Here is a credit. "
    assert blocked is not None and blocked.reason == "guardrails"  # refrain: no output


async def test_an_error_inside_guardrails_blocks_instead_of_passing(gf: ModuleType) -> None:
    flt = build(gf, guard_factory="host_guards:async_guard")
    out, blocked, _ = await run(flt.open(CONTEXT), ["All good. Now explode please. More."])
    assert out == "All good. "
    assert blocked is not None and blocked.reason == "guardrails_error"


async def test_the_host_factory_is_called_once_per_answer(gf: ModuleType) -> None:
    import host_guards

    flt = build(gf, guard_factory="host_guards:async_guard")
    before = len(host_guards.built)
    first, second = flt.open(CONTEXT), flt.open(CONTEXT)
    assert len(host_guards.built) == before + 2
    assert host_guards.built[-1] is not host_guards.built[-2]
    await run(first, ["a."])
    await run(second, ["b."])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("host_guards", "must look like"),
        ("no_such_module_xyz:factory", "cannot be loaded"),
        ("host_guards:missing", "cannot be loaded"),
        ("host_guards:A_GUARD_INSTANCE", "not a Guard"),
        ("host_guards:not_a_guard", "returned str"),
    ],
)
def test_a_broken_guard_factory_fails_at_start_up(gf: ModuleType, spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build(gf, guard_factory=spec)


async def test_answers_streamed_concurrently_do_not_share_state(gf: ModuleType) -> None:
    flt = build(gf, banned_terms=["Globex"])
    prompts = [
        f"Tenant {i} secret phrase number {i} is alpha bravo charlie delta echo" for i in range(8)
    ]

    async def answer(i: int) -> tuple[str, Block | None, list[str]]:
        context = FilterContext(Caller(f"t{i}", "u"), i, system_prompt=prompts[i])
        # Odd answers leak their own prompt; even answers quote an *other* tenant's
        # prompt, which is not a leak for them.
        body = prompts[i] if i % 2 else prompts[(i + 1) % 8]
        text = f"Reply {i} to ann{i}@example.com. {body}. Goodbye {i}."
        return await run(flt.open(context), pieces(text, 3 + i))

    results = await asyncio.gather(*(answer(i) for i in range(8)))
    for i, (out, blocked, _) in enumerate(results):
        assert out.startswith(f"Reply {i} to [redacted email]. ")
        if i % 2:
            assert blocked is not None and blocked.reason == "system_prompt_leak"
        else:
            assert blocked is None and out.endswith(f"Goodbye {i}.")


# -- telemetry and egress ------------------------------------------------------------------


def test_every_guard_is_configured_without_metrics(gf: ModuleType) -> None:
    from guardrails import settings  # type: ignore[import-untyped]
    from guardrails.utils.hub_telemetry_utils import HubTelemetry  # type: ignore[import-untyped]

    flt = build(gf, guard_factory="host_guards:async_guard")
    flt.open(CONTEXT)
    guard = gf.new_local_guard()
    assert guard._allow_metrics_collection is False
    assert settings.disable_tracing is True
    assert settings.rc.enable_metrics is False
    assert HubTelemetry()._enabled is False
    import host_guards

    assert host_guards.built[-1]._allow_metrics_collection is False


def test_only_our_guards_skip_the_api_client(gf: ModuleType) -> None:
    from guardrails import Guard
    from guardrails.api_client import GuardrailsApiClient  # type: ignore[import-untyped]

    build(gf)
    assert gf.new_local_guard()._api_client is None
    other = Guard()
    other.configure(allow_metrics_collection=False)
    assert isinstance(other._api_client, GuardrailsApiClient)


@pytest.fixture
def no_egress() -> Iterator[list[str]]:
    attempts: list[str] = []
    restore = egress_guard.install(attempts)
    try:
        yield attempts
    finally:
        restore()


def test_the_socket_guard_catches_an_outbound_attempt(no_egress: list[str]) -> None:
    import socket

    with pytest.raises(OSError, match="egress refused"):
        socket.create_connection(("example.com", 443), timeout=1)
    assert no_egress == ["create_connection ('example.com', 443)"]


async def test_building_and_streaming_opens_no_connection(
    gf: ModuleType, no_egress: list[str]
) -> None:
    flt = build(gf, banned_terms=["Globex"], guard_factory="host_guards:async_guard")
    text = "Hi. Mail ann@example.com about a voucher. Card 4111 1111 1111 1111. Bye."
    for _ in range(3):
        out, blocked, _ = await run(flt.open(CONTEXT), pieces(text))
        assert blocked is None and "ann@" not in out
    await asyncio.sleep(0.2)  # give a would-be exporter thread a moment
    assert no_egress == []


def probe_env(home: Path) -> dict[str, str]:
    # A HOME without ~/.guardrailsrc: guardrails' own default is metrics ON.
    env = {
        **os.environ,
        "HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("LITELLM_LOCAL_MODEL_COST_MAP", None)
    return env


def test_a_fresh_process_makes_no_connection_and_exits_promptly(tmp_path: Path) -> None:
    env = probe_env(tmp_path)
    started = time.time()
    proc = subprocess.run(
        [sys.executable, str(HERE / "guardrails_egress_probe.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    exited = time.time()
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert "EGRESS" not in proc.stderr, proc.stderr[-3000:]  # also during shutdown
    assert result["lazy_import"] is True and result["loaded"] is True
    guarded, pii = result["outputs"]
    assert "ann@example.com" not in guarded and "4111" not in guarded
    assert guarded == pii
    # With telemetry on, exporter threads retry an external host and hold the
    # interpreter for ~10 s after the work is done; a plain `import guardrails`
    # takes 2-3 s to shut down on a loaded machine.
    assert exited - result["done_at"] < 6.0, exited - result["done_at"]
    assert exited - started < 60


def test_the_probe_sees_the_egress_of_an_unconfigured_guard(tmp_path: Path) -> None:
    """Control for the test above: the mistake it guards against is visible to it."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "guardrails_egress_probe.py"), "--control"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=probe_env(tmp_path),
    )
    try:
        assert proc.stderr is not None
        egress = ""
        deadline = time.time() + 120
        while time.time() < deadline:
            line = proc.stderr.readline()
            if not line or line.startswith("EGRESS"):
                egress = line
                break
        assert egress.startswith("EGRESS"), "the unconfigured guard made no attempt?"
    finally:
        proc.kill()  # its exporter would otherwise retry for ~10 s
        proc.communicate()
