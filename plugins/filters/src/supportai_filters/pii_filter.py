"""The ``pii`` output filter: redact personal data and secrets while the answer streams."""

from __future__ import annotations

from supportai.filters import FilterContext, FilterStream, HoldbackStream
from supportai_filters.pii import make_finder, warm_up
from supportai_filters.settings import PiiSettings


class PiiFilter:
    """Pattern redaction through :class:`~supportai.filters.HoldbackStream`.

    Why a holdback and not per-delta matching: a backend may send a card number
    as ``"4111 1111"`` then ``" 1111 1111"``; neither delta is a card. The
    stream keeps the last ``holdback`` characters unreleased, so every value up
    to that length is seen whole before any of it leaves.
    """

    name = "pii"

    def __init__(self, settings: PiiSettings | None = None) -> None:
        self.settings = settings or PiiSettings()
        self._find = make_finder(self.settings.kinds)
        warm_up()

    def open(self, context: FilterContext) -> FilterStream:
        return HoldbackStream(self._find, holdback=self.settings.holdback, step=self.settings.step)
