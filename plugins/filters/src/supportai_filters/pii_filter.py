"""The ``pii`` output filter: redact personal data and secrets while the answer streams."""

from __future__ import annotations

from supportai.filters import FilterContext, FilterStream, HoldbackStream
from supportai_filters.grounding import PublicValues, keep_public
from supportai_filters.pii import LABELS, make_finder, replacement_for, warm_up
from supportai_filters.settings import PiiSettings


class PiiFilter:
    """Pattern redaction through :class:`~supportai.filters.HoldbackStream`.

    Why a holdback and not per-delta matching: a backend may send a card number
    as ``"4111 1111"`` then ``" 1111 1111"``; neither delta is a card. The
    stream keeps the last ``holdback`` characters unreleased, so every value up
    to that length is seen whole before any of it leaves.

    Values the host published (in the turn's grounding or the allow-list, see
    :mod:`supportai_filters.grounding`) stream out unchanged.
    """

    name = "pii"

    def __init__(self, settings: PiiSettings | None = None) -> None:
        self.settings = settings or PiiSettings()
        self._find = make_finder(self.settings.kinds, keep_vetoed=True)
        self._allowed = PublicValues.allow_list(self.settings.public_values, self.settings.kinds)
        self._replacements = {kind: replacement_for(kind) for kind in LABELS}
        warm_up()

    def open(self, context: FilterContext) -> FilterStream:
        grounding = context.grounding if self.settings.keep_grounded else ()
        public = PublicValues(grounding, self._allowed)
        find = keep_public(self._find, public, self._replacements) if public else self._find
        return HoldbackStream(find, holdback=self.settings.holdback, step=self.settings.step)
