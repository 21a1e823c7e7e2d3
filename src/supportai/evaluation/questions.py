"""Question sets: JSON Lines, one question a line.

Fields: ``question`` (required), ``article`` (the id of the article that answers
it; ``null`` for an out-of-scope question), ``fact`` (a phrase a correct answer
contains), ``id`` and ``split`` (``dev``/``test``, optional). Write questions in
your users' words, not your articles' words: that is what the numbers are for.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from supportai.errors import ConfigurationError

_MARKUP = re.compile(r"[*_`]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    article: str | None
    fact: str | None
    split: str | None

    @property
    def in_scope(self) -> bool:
        return self.article is not None


def load_questions(path: Path, split: str | None = None) -> list[Question]:
    """The questions of ``path`` (only ``split``'s when given); a bad line is a clear error."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the question set {path}: {exc.strerror}") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            text = row["question"]
            if not isinstance(text, str) or not text.strip():
                raise ValueError("question must be a non-empty string")
            for key in ("article", "fact", "split", "id"):
                if row.get(key) is not None and not isinstance(row[key], str):
                    raise ValueError(f"{key} must be a string or null")
        except (ValueError, KeyError) as exc:
            raise ConfigurationError(f"{path}:{number}: not a question ({exc})") from exc
        question = Question(
            id=row.get("id") or f"line-{number}",
            question=text,
            article=row.get("article"),
            fact=row.get("fact"),
            split=row.get("split"),
        )
        if split is None or question.split == split:
            questions.append(question)
    if not questions:
        raise ConfigurationError(
            f"{path} holds no question" + (f" of split {split}" if split else "")
        )
    return questions


def normalise(text: str) -> str:
    """Lower case, Markdown emphasis and code marks removed, whitespace collapsed."""
    return _SPACES.sub(" ", _MARKUP.sub("", text)).strip().lower()


def contains_fact(answer: str, fact: str) -> bool:
    return normalise(fact) in normalise(answer)
