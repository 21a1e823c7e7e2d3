"""Public values: what a redacting filter leaves alone because the host published it.

A help center's support address, a sales phone number or a status-page IP is
not personal data: the host wrote it down for everyone. Redacting it breaks the
answer ("Email [redacted email]"). Two sources say a value is public:

* the documents retrieved for this turn (:attr:`FilterContext.grounding`): a
  value that appears there *verbatim, as a whole value* is quoted from the help
  center, not leaked. "Whole" matters: the article's ``ann@lumen.example.com``
  does not make the user's ``ann@lumen.example`` public, nor does ``+1 555 0100
  22`` make ``+1 555 0100`` public;
* the host's allow-list (``SUPPORTAI_PII_PUBLIC_VALUES``), compared after
  normalising: case for e-mail addresses, separators for numbers, so
  ``+1 (800) 555-0199`` in the answer matches ``+1 800 555 0199`` in settings.

Everything else is still redacted, the user's own data included: it is not in
the articles. The grounding must therefore be public content; a host whose
retrieval returns private records (tickets, CRM notes) should turn grounding
off (``SUPPORTAI_PII_KEEP_GROUNDED=false``).
"""

from __future__ import annotations

from collections.abc import Iterable

from supportai.filters import Span, SpanFinder

_VALUE_CHARS = "@._+-"
_NUMBER_SEPARATORS = " -./"


def normalise(kind: str, value: str) -> str:
    """The form two writings of one value share."""
    if kind == "email":
        return value.strip().casefold()
    if kind in ("phone", "card", "iban", "ssn", "national_id"):
        return "".join(c for c in value if c.isalnum() or c == "+").casefold()
    return value.strip().casefold()


def _continues(edge: str, beyond: str, value_edge: str) -> bool:
    """Whether the character ``edge`` next to a value (and ``beyond``, the one after
    it) make the value part of something longer."""
    if not edge:
        return False
    if edge.isalnum() or edge in "@_+":
        return True
    if edge in _VALUE_CHARS and beyond.isalnum():
        return True  # "x.ann@...", "...example.com"
    # "+1 555 0100 22": a number that goes on after a separator
    return value_edge.isdigit() and edge in _NUMBER_SEPARATORS and beyond.isdigit()


def _whole_at(haystack: str, start: int, end: int) -> bool:
    """``haystack[start:end]`` is not a piece of a longer value there."""
    before, before_that = (
        haystack[max(start - 1, 0) : start],
        haystack[max(start - 2, 0) : max(start - 1, 0)],
    )
    after, after_that = haystack[end : end + 1], haystack[end + 1 : end + 2]
    return not (
        _continues(before, before_that, haystack[start : start + 1])
        or _continues(after, after_that, haystack[end - 1 : end])
    )


def occurs_whole(haystack: str, value: str) -> bool:
    """Whether ``value`` appears in ``haystack`` as a whole value (see module docstring)."""
    index = haystack.find(value)
    while index >= 0:
        if _whole_at(haystack, index, index + len(value)):
            return True
        index = haystack.find(value, index + 1)
    return False


class PublicValues:
    """The grounding of one turn plus the host's allow-list; answers are cached per value."""

    def __init__(self, grounding: Iterable[str], allowed: frozenset[tuple[str, str]]) -> None:
        self._grounding = tuple(text for text in grounding if text)
        self._allowed = allowed
        self._known: dict[tuple[str, str], bool] = {}

    @staticmethod
    def allow_list(values: Iterable[str], kinds: Iterable[str]) -> frozenset[tuple[str, str]]:
        """Normalised (kind, value) pairs; a listed value is public whatever kind finds it."""
        return frozenset((kind, normalise(kind, v)) for v in values for kind in kinds)

    def __bool__(self) -> bool:
        return bool(self._grounding or self._allowed)

    def is_public(self, kind: str, value: str) -> bool:
        key = (kind, value)
        known = self._known.get(key)
        if known is None:
            known = (kind, normalise(kind, value)) in self._allowed or any(
                occurs_whole(text, value) for text in self._grounding
            )
            self._known[key] = known
        return known


def keep_public(
    find: SpanFinder, public: PublicValues, replacement_of: dict[str, str]
) -> SpanFinder:
    """``find``, with each public value's span turned into a span that keeps its text.

    The span is kept (replaced by itself) rather than dropped so that
    :class:`~supportai.filters.HoldbackStream` still never cuts inside it: the
    value streams out whole, exactly as it would in one piece. ``replacement_of``
    maps a kind to its ``[redacted ...]`` text, which tells the kept context
    ("tel: ") from the value.
    """

    def find_keeping_public(text: str) -> list[Span]:
        spans = find(text)
        if not spans:
            return spans
        out: list[Span] = []
        for span in spans:
            kept = len(span.replacement) - len(replacement_of[span.kind])
            value = text[span.start + max(kept, 0) : span.end]
            if public.is_public(span.kind, value):
                span = Span(span.start, span.end, text[span.start : span.end], span.kind)
            out.append(span)
        return out

    return find_keeping_public


def drop_public(
    find: SpanFinder, public: PublicValues, replacement_of: dict[str, str]
) -> SpanFinder:
    """``find`` without the public values' spans (for per-sentence filters, which never cut)."""
    keep = keep_public(find, public, replacement_of)

    def find_without_public(text: str) -> list[Span]:
        return [s for s in keep(text) if s.replacement != text[s.start : s.end]]

    return find_without_public
