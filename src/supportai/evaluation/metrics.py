"""The figures both commands report (percentiles: :func:`supportai.evaluation.percentile`)."""

from __future__ import annotations


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
