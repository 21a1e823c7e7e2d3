"""Signs that a number is *not* personal data: an id, an amount, a count, a date.

Support texts are full of numbers that look like phone or card numbers: order
and invoice numbers, tracking numbers, amounts, quantities, timestamps. The
detectors ask these checks before redacting a number whose own shape is weak
evidence (a national phone number without keyword, a 12-digit card).

When a sign decides that a number is not personal data, the detector reports
the number *with* its sign as a veto: the ``pii`` filter hands it to
:class:`supportai.filters.HoldbackStream` as a span that keeps its text, so the
stream never releases "Order" in one piece and judges "2024-118877" alone in
the next. Streamed output stays identical to one-piece output.
"""

from __future__ import annotations

import re

_ID_NOUNS = (
    r"order|invoice|ticket|tracking|ref(?:erence)?|case|serial|part|sku|batch|lot|transaction"
    r"|booking|confirmation|shipment|parcel|customer|member|account|meeting|session|request"
    r"|policy|claim|contract|licen[cs]e|membership|client"
)
_ID_SUFFIX = r"(?:id|no\.?|number|num|code|#)"
# "Order #0612345678", "invoice no. 5018 1234 5678", "my order number is ...".
_ID_BEFORE = re.compile(
    rf"(?:\b(?:{_ID_NOUNS}|id)\b(?:\s*{_ID_SUFFIX})?(?:\s+is)?\s*[:#.]?\s*|#\s*)$",
    re.IGNORECASE,
)
# Only an explicit label: "meeting ID is 845 2231 9904", "customer no. 0049 1122 33";
# "to order, call 020 7946 0958" and "my number is ..." are phone numbers.
_ID_LABEL_BEFORE = re.compile(
    rf"(?:\b(?:{_ID_NOUNS})\s*{_ID_SUFFIX}|\bID)(?:\s+is)?\s*[:#.]?\s*$", re.IGNORECASE
)
_CURRENCIES = "EUR|USD|GBP|CHF|JPY|CNY|INR|AUD|CAD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|BRL|MXN|ZAR"
_MONEY_BEFORE = re.compile(rf"(?:[$€£¥₹]|\b(?:{_CURRENCIES}))\s*$", re.IGNORECASE)
# A unit, a currency (not the start of the next amount: "... $19.99"), or a
# plural noun after the number ("61 402 337 rows", "12 345 678 API calls"); the
# words that end in "s" but count nothing are excluded.
_COUNTED_AFTER = re.compile(
    r"\s*(?:%|(?:[$€£¥₹]|(?:" + _CURRENCIES + r")\b)(?!\s*\d)|(?:[KMGT]i?B|[km]?[gm]|ms|min|h)\b"
    r"|(?:[A-Z]{2,}\s+)?(?!(?:is|was|has|as|us|this|its|his|yes|thanks|always|unless"
    r"|plus|minus|less|perhaps|across|whereas|besides|towards)\b)[a-z]{2,}s\b)"
)
DATE_START = re.compile(r"\d{4}([-./])\d{1,2}\1\d{1,2}(?!\d)|\d{1,2}([-./])\d{1,2}\2\d{4}(?!\d)")
"""A date at the start of a candidate: "2024-06-12 17" is a date and an hour."""


def id_label_at(text: str, start: int, *, explicitly: bool = False) -> int | None:
    """Where the words just before ``start`` that introduce an identifier begin, if any.

    ``explicitly``: only a label naming an id ("meeting ID", "customer no."), not a
    bare noun ("order"), which can also be a verb before a phone number.
    """
    pattern = _ID_LABEL_BEFORE if explicitly else _ID_BEFORE
    match = pattern.search(text, max(0, start - 40), start)
    return None if match is None else match.start()


def named_as_id(text: str, start: int, *, explicitly: bool = False) -> bool:
    """The words just before ``start`` introduce an identifier."""
    return id_label_at(text, start, explicitly=explicitly) is not None


def money_at(text: str, start: int) -> int | None:
    """Where a currency sign or code just before ``start`` begins, if any."""
    match = _MONEY_BEFORE.search(text, max(0, start - 6), start)
    return None if match is None else match.start()


def count_ends_at(text: str, end: int) -> int | None:
    """Where a unit or counted noun right after ``end`` ends, if any (a quantity)."""
    match = _COUNTED_AFTER.match(text, end, end + 40)
    return None if match is None else match.end()
