"""Choosing the no-answer threshold on a host's own labelled questions.

Whether the best article answers a question is one number against one threshold
(``SUPPORTAI_KB_MIN_SCORE``, or ``SUPPORTAI_KB_LEXICAL_MIN_SCORE`` without an
embedder). Where it should sit depends on the help center and the embedder, so
the shipped values are only a start: ``supportai kb-calibrate`` searches every
question of a set once, ignoring the threshold, and shows what each threshold
between two observed scores would have done. Searching once and sweeping
afterwards is exact (the threshold changes no ranking) and costs one search per
question, not one per candidate.

What counts as right: an in-scope question answered with its article first, and an
out-of-scope question refused. An in-scope question refused, or answered with the
wrong article, counts as neither; ``honesty`` says how many right answers one
honest refusal is worth (raise it when a confident wrong answer costs you more
than a missed right one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise


@dataclass(frozen=True, slots=True)
class Observation:
    """One question's outcome with no threshold: its decisive score and best article."""

    in_scope: bool
    right_first: bool
    score: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one threshold does to the question set (a question is answered at or above it)."""

    threshold: float
    answered_right: int
    answered_wrong: int
    refused_in_scope: int
    refused_out_of_scope: int
    answered_out_of_scope: int

    def value(self, honesty: float) -> float:
        """Right answers plus ``honesty`` times honest refusals: what the sweep maximises."""
        return self.answered_right + honesty * self.refused_out_of_scope


def outcome(observations: Sequence[Observation], threshold: float) -> Outcome:
    """The counts ``threshold`` gives."""
    answered = [o for o in observations if o.score >= threshold]
    refused = [o for o in observations if o.score < threshold]
    return Outcome(
        threshold=threshold,
        answered_right=sum(o.in_scope and o.right_first for o in answered),
        answered_wrong=sum(o.in_scope and not o.right_first for o in answered),
        refused_in_scope=sum(o.in_scope for o in refused),
        refused_out_of_scope=sum(not o.in_scope for o in refused),
        answered_out_of_scope=sum(not o.in_scope for o in answered),
    )


@dataclass(frozen=True, slots=True)
class Suggestions:
    """The questions a suggestion band (``low`` <= score < ``high``) shows a suggestion to.

    Below the threshold a question gets the honest fallback and, in the band, the
    closest section as an uncited suggestion: worth it when the band's best articles
    are mostly right. An out-of-scope question there still gets the fallback first.
    """

    low: float
    high: float
    right: int
    wrong: int
    out_of_scope: int


def suggestions(observations: Sequence[Observation], low: float, high: float) -> Suggestions:
    """Who the band from ``low`` up to (not including) ``high`` would show a suggestion to."""
    band = [o for o in observations if low <= o.score < high]
    return Suggestions(
        low=low,
        high=high,
        right=sum(o.in_scope and o.right_first for o in band),
        wrong=sum(o.in_scope and not o.right_first for o in band),
        out_of_scope=sum(not o.in_scope for o in band),
    )


def candidates(observations: Sequence[Observation]) -> list[float]:
    """Every threshold that makes a difference: one below all scores, one between each
    two neighbouring distinct scores (their midpoint, as far from both as possible),
    one above all."""
    scores = sorted({round(o.score, 6) for o in observations})
    if not scores:
        return []
    middle = [(low + high) / 2 for low, high in pairwise(scores)]
    return [scores[0] - 0.01, *middle, scores[-1] + 0.01]


def sweep(observations: Sequence[Observation]) -> list[Outcome]:
    """The outcome of every candidate threshold, lowest first."""
    return [outcome(observations, threshold) for threshold in candidates(observations)]


def best(outcomes: Sequence[Outcome], honesty: float = 1.0) -> Outcome | None:
    """The threshold with the most right outcomes; among equals, the most honest (highest).

    A tie between thresholds means no question of the set tells them apart; the
    higher one refuses more, and a refusal offers a human where a wrong answer
    would mislead.
    """
    if not outcomes:
        return None
    return max(outcomes, key=lambda o: (o.value(honesty), o.threshold))


def near_best(
    outcomes: Sequence[Outcome], top: Outcome, honesty: float = 1.0
) -> tuple[float, float]:
    """The lowest and highest threshold within one right outcome of ``top`` (the best).

    Often wide: on a question set of a hundred or two, thresholds far apart differ by
    a question or two, and the single best one owes its place to one question. A
    range says how much the choice matters; pick within it by what you prefer.
    """
    close = [o.threshold for o in outcomes if o.value(honesty) >= top.value(honesty) - 1]
    return min(close), max(close)


def spread(outcomes: Sequence[Outcome], chosen: Sequence[Outcome], rows: int) -> list[Outcome]:
    """About ``rows`` outcomes evenly through the sweep, always with ``chosen`` ones, sorted."""
    if len(outcomes) <= rows:
        picked = list(outcomes)
    else:
        step = (len(outcomes) - 1) / max(rows - 1, 1)
        picked = [outcomes[round(i * step)] for i in range(rows)]
    merged = {o.threshold: o for o in [*picked, *chosen]}
    return [merged[key] for key in sorted(merged)]
