"""Read the help centers of ``support_questions/`` (their format: its README.md).

One reader for ``finetune.py`` (which runs where torch is, without supportai) and
``help_centers.py`` (which writes them for supportai's eval commands), so the two
never disagree on what a line of the data means. Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "support_questions"


@dataclass(frozen=True)
class Section:
    article: str
    heading: str
    text: str
    questions: tuple[str, ...]

    @property
    def search_text(self) -> str:
        """Title, heading, then the body: what the index embeds for a section
        (``Chunk.search_text``)."""
        return "\n".join((self.article, self.heading, self.text))


@dataclass
class HelpCenter:
    #: The file's name without ``.jsonl``: the folder ``help_centers.py`` writes it to.
    name: str
    product: str
    sections: list[Section] = field(default_factory=list)
    #: Questions no section answers.
    unanswered: list[str] = field(default_factory=list)


def read(path: Path) -> HelpCenter:
    """One product's file: its sections in order, and its unanswered questions."""
    center = HelpCenter(path.stem, path.stem)
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        center.product = row.get("product", center.product)
        center.unanswered.extend(row.get("out_of_scope", []))
        if "questions" in row:
            center.sections.append(
                Section(row["article"], row["heading"], row["text"], tuple(row["questions"]))
            )
    return center


def read_all(folder: Path = FOLDER) -> list[HelpCenter]:
    """Every ``*.jsonl`` help center of ``folder``, by file name."""
    return [read(path) for path in sorted(folder.glob("*.jsonl"))]
