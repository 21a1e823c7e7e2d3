"""Phone numbers for the ``pii`` finder: candidates, the evidence that makes one a number.

A run of digits is a phone number when enough speaks for it:

* an international prefix (``+44``, ``0044``): the number is parsed by
  :mod:`phonenumbers`, which knows every country code, each country's possible
  lengths, ``(0)`` trunk prefixes and extensions (``x42``, ``ext. 42``);
* a keyword before it (*phone, tel, mobile, call, fax, WhatsApp*...), on the
  same line or the line before ("Phone:" then a newline): 7-15 digits;
* an extension after it: 7-15 digits;
* otherwise the shape of a national number: 8-12 digits in the groups people
  write (``020 7946 0958``, ``61 402 337``, ``(44) 219-508``, ``318 27 904``),
  with no sign of being something else (see :mod:`supportai_filters.not_pii`).

phonenumbers is imported on first use (about 90 ms; :func:`warm_up` does it at
filter construction so the first answer does not pay) and only asked about
candidates of bounded length, so the cost stays linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache
from types import ModuleType

from supportai_filters.not_pii import DATE_START, count_ends_at, id_label_at, money_at

Candidate = tuple[int, int, str | None]
"""(start, end, kept prefix); a prefix of ``None`` is a veto (see ``pii._Candidate``)."""

_EXTENSION = r"(?P<ext>\s?(?:[xX]|[Ee]xt\.?|[Ee]xtension|#)\s?\d{1,6})?"
# Never end where a word, an address or another number continues ("...-4567-12",
# "4567.5", "10:30").
_END = r"(?![\w@]|[.,/:-]\d)"
_PHONE = re.compile(
    r"(?<![\w+./@:-])(?P<number>(?:\+ ?\(?|\()?\d[\d ().\-/]{5,24}\d)" + _EXTENSION + _END
)
_KEYWORDS = (
    r"[Pp]hone|PHONE|[Tt]el(?:ephone)?|TEL|[Mm]ob(?:ile)?|[Cc]ell(?:phone)?|[Cc]all|[Ff]ax"
    r"|WhatsApp|[Tt]ext|SMS|[Ll]andline|[Dd]ial"
    # how people introduce their own number
    r"|[Rr]each (?:me|us)|[Cc]ontact (?:me|us)|(?:[Mm]y|[Yy]our|[Oo]ur) (?:direct )?number"
)
# The gap after the keyword holds no digit and at most one line break.
_PHONE_KEYWORD = re.compile(
    rf"(?P<keep>\b(?:{_KEYWORDS})\b[^\d+\n]{{0,16}}?(?:\n[^\d+\n]{{0,4}}?)?)"
    r"(?P<number>\+?\d[\d ().\-/]{5,20}\d)" + _EXTENSION + _END
)
_GROUPS = re.compile(r"[ ().\-/]+")
_SSN_SHAPE = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
_DATE_SHAPE = re.compile(r"\d{4}([-./])\d{1,2}\1\d{1,2}|\d{1,2}([-./])\d{1,2}\2\d{2,4}")
_THOUSANDS = re.compile(r"\d{1,3}(?:([ .,])\d{3})(?:\1\d{3})*")


@cache
def _phonenumbers() -> ModuleType:
    import phonenumbers

    return phonenumbers


def warm_up() -> None:
    """Import phonenumbers now (filter construction), not inside the first answer."""
    _phonenumbers()


@lru_cache(maxsize=256)
def international_ok(number: str) -> bool:
    """``+`` or ``00`` then a known country code and a length that country issues.

    Cached: the stream re-scans each value about four times and both patterns
    (plain and after a keyword) see it, while a parse costs tens of microseconds.
    The cache is small on purpose: it serves the answers streaming now, and a
    measurement over many texts (``supportai eval pii``) still pays each parse.
    """
    digits = "".join(c for c in number if c.isdigit() or c == "+")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+") or not 8 <= len(digits) - 1 <= 17:
        return False
    phonenumbers = _phonenumbers()
    try:
        parsed = phonenumbers.parse(number if number.startswith("+") else digits, None)
    except phonenumbers.NumberParseException:
        return False  # unknown country code
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    return reason in (
        phonenumbers.ValidationResult.IS_POSSIBLE,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        phonenumbers.ValidationResult.INVALID_LENGTH,  # within the country's range
    )


def _is_international(raw: str) -> bool:
    return raw.startswith("+") or (raw.startswith("00") and raw[2:3] not in ("0", ""))


def phone_ok(raw: str, *, keyword: bool = False) -> bool:
    """Whether the digits ``raw`` read as a phone number (context is judged elsewhere)."""
    if _is_international(raw) and (international_ok(raw) or not keyword):
        return international_ok(raw)
    # after a keyword, "0074-833 78" is a national number that starts with 00
    if DATE_START.match(raw) or _DATE_SHAPE.fullmatch(raw):
        return False  # "call before 2024-06-12", "2024-06-12 17:30"
    digits = sum(c.isdigit() for c in raw)
    if keyword:
        return 7 <= digits <= 15
    return _national_shape_ok(raw, digits)


def _national_shape_ok(raw: str, digits: int) -> bool:
    """A national number without a keyword: its grouping must be a phone's."""
    separators = {c for c in raw if not c.isdigit()}
    groups = [g for g in _GROUPS.split(raw) if g]
    if sum(len(g) == 1 for g in groups) > 1:
        return False  # "1 2 3 4 5 6 7 8 9" is a list, not a number
    if _SSN_SHAPE.fullmatch(raw):
        return False  # "000-12-3456" has the shape of an SSN, never of a phone number
    if not 8 <= digits <= 12:
        return False  # shorter: years, prices, dates, order numbers
    if not separators:
        # A bare run is an order or tracking number unless it has a trunk prefix
        # ("07700900123", "0612345678", "039074833").
        return raw[0] == "0" and 9 <= digits <= 11
    if len(groups) >= 3 and all(len(g) == 4 for g in groups):
        return False  # "3704 0044 0532" is how account and card numbers are grouped
    if separators <= {".", ","} and (any(len(g) < 2 for g in groups) or _THOUSANDS.fullmatch(raw)):
        return False  # "1.2.3.4567" is a version, "12.345.678" an amount
    if "/" in separators and len(groups) > 2:
        return False  # "12/05/2024 ..." dates
    if groups[-1] == "000" and _THOUSANDS.fullmatch(raw):
        return False  # "10 000 000" is a round amount, not a number anyone dials
    if digits == 8 and len(groups) < 3:
        return False  # "4111 1111" is half a card; "61 402 337", "(44) 219-508" are numbers
    if len(groups[0]) > 5:
        return False  # area codes and trunk prefixes are short: "20250404-4642" is a date
    if len(groups[-1]) < 3 and len(groups) > 1 and len(groups[-2]) > 2:
        return False  # "239-6450-24" is a part number; "06 12 34 56 78" is written in pairs
    return ("(" in raw) == (")" in raw)  # brackets come in pairs


def _segments(text: str, start: int, raw: str, extension_end: int) -> Iterator[Candidate]:
    """The numbers inside a run like "555-123-4567 555-987-6543" or "2024 06 12 34 56 78".

    A space both groups digits and separates numbers, so which pieces form a
    number is ambiguous. Every window of whole pieces that reads as a number is
    found, and overlapping windows are merged: a neighbouring year may be
    redacted with the number, but no digit of the number is left out.
    """
    pieces = [(m.start(), m.end()) for m in re.finditer(r"\S+", raw)]
    counts = [sum(c.isdigit() for c in raw[a:b]) for a, b in pieces]
    merged: list[list[int]] = []
    for first in range(len(pieces)):
        # Extend while a window could still be a number (at most 17 digits, at
        # most one single-digit group), then try the longest first.
        digits = singles = 0
        lasts: list[int] = []
        for last in range(first, len(pieces)):
            digits += counts[last]
            singles += counts[last] == 1
            if digits > 17 or singles > 1:
                break
            if digits >= 7:
                lasts.append(last)
        for last in reversed(lasts):
            begin, stop = pieces[first][0], pieces[last][1]
            window = raw[begin:stop]
            if phone_ok(window) and not _something_else(text, start + begin, start + stop, window):
                if merged and begin <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], stop)
                else:
                    merged.append([begin, stop])
                break
    for begin, stop in merged:
        # A number that ends the run keeps the run's extension ("... 0958 ext. 7").
        yield start + begin, extension_end if stop == len(raw) else start + stop, ""


def _id_label(text: str, start: int, number: str) -> int | None:
    """ "Order #0612345678" is an order number; "to order, call 020 7946 0958" is a phone.

    Identifiers are mostly written as one run (digits, dashes, dots): any id word
    before one makes it an id. A number grouped by spaces the way phones are
    needs an explicit label ("meeting ID is 845 2231 9904").
    """
    return id_label_at(text, start, explicitly=" " in number)


def _something_else(text: str, start: int, end: int, number: str) -> tuple[int, int] | None:
    """An id, an amount or a count ("order 0612345678", "$ 12 345 678", "61 402 337 rows"):
    the region of the number with the words that say so, or ``None``."""
    before = _id_label(text, start, number)
    if before is None:
        before = money_at(text, start)
    after = count_ends_at(text, end)
    if before is None and after is None:
        return None
    return (start if before is None else before), (end if after is None else after)


def _run_goes_on(text: str, position: int) -> bool:
    """More digits follow ``position`` after one separator."""
    return (
        text[position : position + 1] in (" ", "-", ".", "/", "(")
        and text[position + 1 : position + 2].isdigit()
    )


def _judge(text: str, start: int, number: str, end: int, *, keyword: bool) -> Iterator[Candidate]:
    """The candidate ``number`` at ``start`` (``end`` includes an extension)."""
    vetoed = None
    if number.startswith("+"):
        accepted = international_ok(number)
    else:
        vetoed = _something_else(text, start, start + len(number), number)
        if _is_international(number):  # "0049 ...": also how ids with leading zeros look
            accepted = international_ok(number)
        else:
            accepted = phone_ok(number, keyword=keyword)
    if accepted and vetoed is None:
        yield start, end, ""
        return
    found = False
    if " " in number:
        # "+1 (555) 123-4567 020 7946 0958" is two numbers; in "$19.99 020 7946
        # 0958" the amount is not a phone, the number after it is.
        for found_one in _segments(text, start, number, end):
            found = True
            yield found_one
    if accepted and vetoed is not None and not found:
        yield vetoed[0], max(vetoed[1], end), None  # kept whole, with what vetoed it


def find_phones(text: str) -> Iterator[Candidate]:
    """(start, end, kept prefix) of every phone number in ``text``."""
    position = 0
    while (match := _PHONE.search(text, position)) is not None:
        position = match.end()
        start, number, end = match.start(), match.group("number"), match.end()
        extension = match.group("ext") is not None
        if number.startswith("(") and ")" not in number:
            number, start = number[1:], start + 1  # "(0161 161 8621)": the bracket wraps it
        opened = number.rfind("(")
        if opened > 0 and opened > number.rfind(")"):
            # "+1 (555) 123-4567 (44) 219-508": the last bracket opens the next
            # number, which the scan resumes at.
            position = start + opened
            number = number[:opened].rstrip()
            end, extension = start + len(number), False
            if not any(c.isdigit() for c in number):
                continue
        covered = start
        for found in _judge(text, start, number, end, keyword=extension):
            covered = found[1]
            yield found
        second_piece = number.find(" ") + 1
        if position == match.end() and second_piece > 0 and _run_goes_on(text, position):
            # The pattern stops after 26 characters inside a long run of numbers
            # ("+1 (555) 123-4567 2024 020 7946 0958"): resume after what was
            # redacted (or at the run's second piece), so that the number the stop
            # cut in two is read whole. Each resume moves on by a piece: linear.
            position = covered if covered > start else start + second_piece
    for match in _PHONE_KEYWORD.finditer(text):
        number = match.group("number")
        if not phone_ok(number, keyword=True):
            continue
        label = _id_label(text, match.start("number"), number)
        if label is None:
            yield match.start(), match.end(), match.group("keep")
        else:
            yield label, match.end(), None  # "call about order 1234567": an order number
