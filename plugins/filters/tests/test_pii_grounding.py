"""Values the host published are not redacted: the turn's grounding and the allow-list."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from supportai_filters.grounding import occurs_whole
from supportai_filters.pii_filter import PiiFilter
from supportai_filters.settings import PiiSettings

from supportai.caller import Caller
from supportai.filters import FilterContext, FilterStream

CALLER = Caller("tenant-a", "user-1")
ARTICLE = (
    "## How to reach a person\n- Email support@lumen.example from the address you use.\n"
    "- Billing questions go to billing@lumen.example.\n- Call +44 20 7946 0958 (9:00-18:00)."
)
FILLER = "Thanks for asking, here is what the help center says about it. "


def context(*grounding: str) -> FilterContext:
    return FilterContext(CALLER, 1, "", grounding=grounding)


async def run(stream: FilterStream, chunks: Sequence[str]) -> tuple[str, list[str]]:
    out: list[str] = []
    kinds: list[str] = []
    for chunk in chunks:
        step = await stream.push(chunk)
        out.append(step.text)
        kinds += step.redactions
    last = await stream.close()
    return "".join(out) + last.text, kinds + last.redactions


async def test_a_value_quoted_from_the_grounding_is_kept_the_users_own_is_not() -> None:
    answer = (
        FILLER + "Email support@lumen.example or call +44 20 7946 0958; we will answer at "
        "jane.doe@gmail.com or on +44 20 7946 0000. " + FILLER
    )
    out, kinds = await run(PiiFilter().open(context(ARTICLE)), [answer])
    assert "support@lumen.example" in out and "+44 20 7946 0958" in out
    assert "jane.doe@gmail.com" not in out and "+44 20 7946 0000" not in out
    assert kinds == ["email", "phone"]  # what was kept is not reported as a redaction


async def test_without_grounding_the_same_answer_is_redacted() -> None:
    answer = FILLER + "Email support@lumen.example today."
    out, kinds = await run(PiiFilter().open(context()), [answer])
    assert "support@lumen.example" not in out and kinds == ["email"]
    off = PiiFilter(PiiSettings(keep_grounded=False))
    out, _ = await run(off.open(context(ARTICLE)), [answer])
    assert "support@lumen.example" not in out


@pytest.mark.parametrize(
    ("value", "whole"),
    [
        ("support@lumen.example", True),
        ("port@lumen.example", False),  # a piece of the published address
        ("support@lumen.exam", False),
        ("+44 20 7946 0958", True),
        ("20 7946 0958", False),  # the number goes on before it
        ("+44 20 7946", False),  # and after it
        ("billing@lumen.example", True),  # followed by a full stop
    ],
)
def test_only_whole_values_count_as_grounded(value: str, whole: bool) -> None:
    assert occurs_whole(ARTICLE, value) is whole


async def test_a_longer_published_value_does_not_make_its_prefix_public() -> None:
    grounding = "Our partner desk is ann@lumen.example.com."
    out, _ = await run(PiiFilter().open(context(grounding)), [FILLER + "Mail ann@lumen.example."])
    assert "ann@lumen.example" not in out


async def test_the_allow_list_matches_other_writings_of_the_value() -> None:
    pii = PiiFilter(PiiSettings(public_values=["Sales@Lumen.example", "+1 800 555 0199"]))
    answer = FILLER + "Write to sales@lumen.example or call +1 (800) 555-0199, not +1 800 555 0198."
    out, kinds = await run(pii.open(context()), [answer])
    assert "sales@lumen.example" in out and "+1 (800) 555-0199" in out
    assert "0198" not in out and kinds == ["phone"]


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=30))
async def test_grounded_values_stream_out_exactly_as_in_one_piece(cuts: list[int]) -> None:
    text = (
        FILLER + "Call +44 20 7946 0958 or mail support@lumen.example, never "
        "jane.doe@gmail.com, card 4111 1111 1111 1111. " + FILLER
    )
    whole, _ = await run(PiiFilter().open(context(ARTICLE)), [text])
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    chunks = [text[a:b] for a, b in itertools.pairwise(points)]
    out, _ = await run(PiiFilter().open(context(ARTICLE)), chunks)
    assert out == whole
    assert "+44 20 7946 0958" in out and "support@lumen.example" in out
    assert "jane.doe" not in out and "4111" not in out
