"""Documentation that must stay true: every core setting is on the configuration page."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportai.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_setting_is_documented(field: str) -> None:
    assert f"`SUPPORTAI_{field.upper()}`" in (DOCS / "configuration.md").read_text()


def test_decision_records_are_indexed() -> None:
    index = (DOCS / "decisions" / "index.md").read_text()
    for record in (DOCS / "decisions").glob("0*.md"):
        assert record.name in index
