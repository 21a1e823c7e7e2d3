"""Find personal data and secrets in text: the span finder behind the ``pii`` filter.

Why a hand-written finder and not a library: it runs on every streamed answer,
in the hot path, so it must be dependency-free, linear in the text and
predictable. Each kind is a regular expression that proposes *candidates* and a
small Python check that accepts or rejects them (Luhn for cards, mod-97 for
IBANs, octet ranges for IPv4, :mod:`ipaddress` for IPv6, digit counts and
shapes for phone numbers). Checks keep false positives (years, prices, short
order numbers, version strings) out without loosening the patterns.

Streaming contract (see :class:`supportai.filters.HoldbackStream`): the stream
re-runs the finder on a bounded tail and never releases text inside a reported
span. Two rules follow, and every pattern here obeys them:

* a *prefix* of a long secret must itself be reported (patterns end in ``+``),
  so that a token still arriving is held back rather than cut in two;
* context a decision depends on (``password=``, ``SSN``, ``call``) is part of
  the span and kept in the replacement, so the stream cannot release the
  context and later see the value alone.

Every regular expression starts with a look-behind that forbids starting in the
middle of a run of the characters it repeats, which keeps the scan linear on
long runs of digits or letters (no quadratic retries at each position).
"""

from __future__ import annotations

import ipaddress
import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from supportai.filters import Span, apply_spans

__all__ = [
    "KINDS",
    "LABELS",
    "MAX_MATCH_CHARS",
    "find_spans",
    "iban_is_valid",
    "luhn_is_valid",
    "make_finder",
    "redact",
]

MAX_MATCH_CHARS = 96
"""The longest value the stream must see whole: the filter's holdback.

An IBAN with spaces is at most 42 characters, a card 23, a phone number about
25, an e-mail address realistically under 80. Secrets are longer but contain no
whitespace, and :class:`~supportai.filters.HoldbackStream` holds a run without
whitespace whole until it reaches ``4 * holdback`` characters; past that the
prefix rule above keeps the cut out of a token it has recognised.
"""

LABELS: dict[str, str] = {
    "email": "email",
    "phone": "phone number",
    "card": "card number",
    "iban": "IBAN",
    "ssn": "SSN",
    "national_id": "national ID",
    "ip": "IP address",
    "secret": "secret",
}
"""Kind -> the word used in the replacement, ``[redacted <label>]``."""

KINDS: tuple[str, ...] = tuple(LABELS)


def replacement_for(kind: str) -> str:
    return f"[redacted {LABELS[kind]}]"


# -- checksums --------------------------------------------------------------------


def luhn_is_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number satisfies."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# ISO 13616 IBAN lengths per country. With the length known, trailing words
# picked up by the candidate pattern ("... 0130 00 AB") are cut off exactly.
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip


def iban_is_valid(compact: str) -> bool:
    """ISO 7064 mod-97: move the first four characters to the end, letters to numbers."""
    compact = compact.upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum() or not compact.isascii():
        return False
    rearranged = compact[4:] + compact[:4]
    remainder = 0
    for char in rearranged:
        # Letters become two digits (A=10 ... Z=35); fold as we go to stay small.
        value = int(char, 36)
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return remainder == 1


def _shannon_entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for char in value:
        counts[char] = counts.get(char, 0) + 1
    size = len(value)
    return -sum(c / size * math.log2(c / size) for c in counts.values())


def _char_classes(value: str) -> int:
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )


# -- detectors ----------------------------------------------------------------------

# A candidate is (start, end, kept prefix): the span covers the kept prefix too,
# which the replacement repeats ("password=[redacted secret]").
_Candidate = tuple[int, int, str]
_Detect = Callable[[str], Iterator[_Candidate]]


@dataclass(frozen=True, slots=True)
class _Detector:
    kind: str
    priority: int  # wins overlaps: a card is not also a phone number
    detect: _Detect
    precheck: Callable[[str], bool] | None = None


_DIGIT = re.compile(r"\d")


def _has_digit(text: str) -> bool:
    return _DIGIT.search(text) is not None


# E-mail: a pragmatic subset of RFC 5322 (dot-atom local part, DNS host names).
_EMAIL = re.compile(
    r"(?<![\w.%+'-])[\w.%+'-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)


def _emails(text: str) -> Iterator[_Candidate]:
    for match in _EMAIL.finditer(text):
        local = match.group().split("@", 1)[0]
        if local.strip(".") and ".." not in local:
            yield match.start(), match.end(), ""


# Payment cards: 13-19 digits, optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w]|[.,-]\d)")


def _cards(text: str) -> Iterator[_Candidate]:
    for match in _CARD.finditer(text):
        raw = match.group()
        separators = {c for c in raw if not c.isdigit()}
        if len(separators) > 1:
            continue  # "4111 1111-1111 1111" is not how anyone writes a card
        if separators:
            groups = re.split(r"[ -]", raw)
            if any(len(g) < 3 or len(g) > 6 for g in groups):
                continue  # grouped in 4-4-4-4, 4-6-5, 4-4-4-4-3 ...
        digits = raw.replace(" ", "").replace("-", "")
        if digits[0] not in "23456" or len(set(digits)) == 1:
            continue  # major networks start with 2-6; "0000 0000 ..." passes Luhn
        if luhn_is_valid(digits):
            yield match.start(), match.end(), ""


_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,32}(?![A-Za-z0-9])")


def _ibans(text: str) -> Iterator[_Candidate]:
    for match in _IBAN.finditer(text):
        raw = match.group()
        country = raw[:2].upper()
        expected = _IBAN_LENGTHS.get(country)
        # Map each position of the compact form back to the text.
        positions = [i for i, c in enumerate(raw) if c != " "]
        if expected is not None:
            if len(positions) < expected:
                continue
            # The country's length ends the IBAN; it must end at a group boundary.
            if len(positions) > expected and positions[expected] == positions[expected - 1] + 1:
                continue
            positions = positions[:expected]
        compact = "".join(raw[i] for i in positions)
        if not (compact.isupper() or compact.islower()):
            continue  # mixed case is prose ("Is12 this Ok..."), not an account number
        if iban_is_valid(compact):
            yield match.start(), match.start() + positions[-1] + 1, ""


# US Social Security numbers: AAA-GG-SSSS with the SSA's never-issued ranges excluded.
_SSN = re.compile(
    r"(?<![\w.-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w]|[.-]\d)"
)
_SSN_KEYWORD = re.compile(
    r"(?P<keep>\b(?:SSN|[Ss]ocial [Ss]ecurity(?: [Nn]umber)?)(?:\s*(?:#|[Nn]o\.?|[Nn]umber))?"
    r"\s*[:#]?\s*)(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}(?!\d)"
)


def _ssns(text: str) -> Iterator[_Candidate]:
    for match in _SSN.finditer(text):
        yield match.start(), match.end(), ""
    for match in _SSN_KEYWORD.finditer(text):
        yield match.start(), match.end(), match.group("keep")


# UK National Insurance number (HMRC's prefix rules), upper case only.
_UK_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
)


def _national_ids(text: str) -> Iterator[_Candidate]:
    for match in _UK_NINO.finditer(text):
        yield match.start(), match.end(), ""


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.\d)")
# "version 1.2.3.4" is a version string, not an address: see README.
_VERSION_BEFORE = re.compile(
    r"\b(?:version|ver\.?|release|build|firmware|rev\.?|v\.)\s*$", re.IGNORECASE
)
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{3,45}(?![\w:.])")


def _ips(text: str) -> Iterator[_Candidate]:
    for match in _IPV4.finditer(text):
        if _VERSION_BEFORE.search(text, max(0, match.start() - 12), match.start()):
            continue
        yield match.start(), match.end(), ""
    if ":" not in text:
        return
    for match in _IPV6.finditer(text):
        raw = match.group().rstrip(".")
        try:
            address = ipaddress.IPv6Address(raw)
        except ValueError:
            continue
        groups = [g for g in raw.split(":") if g]
        if len(groups) < 2 or address.is_loopback or address.is_unspecified:
            continue  # "::1" and "::" identify no one; "a::b" needs two groups
        yield match.start(), match.start() + len(raw), ""


# Phone numbers. Candidates are runs of digits with the separators people use;
# the check decides by digit count and shape (see _phone_ok).
_PHONE = re.compile(r"(?<![\w+(./@:-])(?:\+ ?|\()?\d[\d ().\-/]{5,24}\d(?![\w@]|[.,/-]\d)")
_PHONE_KEYWORD = re.compile(
    r"(?P<keep>\b(?:[Pp]hone|[Tt]el(?:ephone)?|[Mm]obile|[Cc]ell|[Cc]all|[Ff]ax|WhatsApp|"
    r"[Tt]ext)\b[^\d\n+]{0,16}?)(?P<number>\+?\d[\d ().\-/]{5,20}\d)(?![\w@]|[.,/-]\d)"
)
_PHONE_GROUPS = re.compile(r"[ ().\-/]+")
_SSN_SHAPE = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")


def _phone_ok(raw: str, *, keyword: bool = False) -> bool:
    digits = sum(c.isdigit() for c in raw)
    if raw.startswith("+"):
        return 8 <= digits <= 15
    if raw.startswith("00") and raw[2:3] != "0":
        return 10 <= digits <= 17  # 00 + an E.164 number
    if keyword:
        return 7 <= digits <= 15
    separators = {c for c in raw if not c.isdigit()}
    groups = [g for g in _PHONE_GROUPS.split(raw) if g]
    if _SSN_SHAPE.fullmatch(raw):
        return False  # "000-12-3456" has the shape of an SSN, never of a phone number
    if not 9 <= digits <= 12:
        return False  # shorter: years, prices, dates, order numbers
    if not separators:
        # A bare run is an order or tracking number unless it has a trunk prefix
        # ("07700900123", "0612345678").
        return raw[0] == "0" and 10 <= digits <= 11
    if separators == {"."} and any(len(g) < 2 for g in groups):
        return False  # "1.2.3.4567" is a version
    if "/" in separators and len(groups) > 2:
        return False  # "12/05/2024 ..." dates
    return ("(" in raw) == (")" in raw)  # brackets come in pairs


def _phone_segments(start: int, raw: str) -> Iterator[_Candidate]:
    """Split a run like "555-123-4567 555-987-6543" into the numbers it holds.

    A space both groups digits and separates numbers, so only two readings are
    tried: one space-free piece ("555-123-4567"), or an area code in brackets
    and the rest ("(555) 123-4567"). Space-grouped runs such as the body of a
    mistyped IBAN ("3704 0044 0532 0130 01") are thus left alone.
    """
    pieces = [(m.start(), m.end()) for m in re.finditer(r"\S+", raw)]
    index = 0
    while index < len(pieces):
        widths = (2, 1) if raw[pieces[index][0]] == "(" else (1,)
        for width in widths:
            stop = index + width
            if stop > len(pieces):
                continue
            first, last = pieces[index][0], pieces[stop - 1][1]
            if _phone_ok(raw[first:last]):
                yield start + first, start + last, ""
                index = stop
                break
        else:
            index += 1


def _phones(text: str) -> Iterator[_Candidate]:
    for match in _PHONE.finditer(text):
        raw = match.group()
        if _phone_ok(raw):
            yield match.start(), match.end(), ""
        elif " " in raw:
            yield from _phone_segments(match.start(), raw)
    for match in _PHONE_KEYWORD.finditer(text):
        if _phone_ok(match.group("number"), keyword=True):
            yield match.start(), match.end(), match.group("keep")


# Secrets with a recognisable shape. Every body ends in "+" or "{n,}" so that
# a prefix of a token still streaming in is reported too.
_TOKEN_SHAPES = re.compile(
    r"(?<![\w-])(?:"
    r"(?:sk|rk)[-_](?:live_|test_|proj-|svcacct-|ant-)?[A-Za-z0-9_\-]{16,}"  # OpenAI, Stripe...
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key id
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google API key
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|eyJ[A-Za-z0-9_\-]{10,}(?:\.[A-Za-z0-9_\-]+){0,2}"  # JWT (or a prefix of one)
    r")"
)
_BEARER = re.compile(r"(?P<keep>\b[Bb]earer\s+)[A-Za-z0-9._~+/\-]{16,}=*")
_ASSIGNED = re.compile(
    r"(?P<keep>(?<![\w-])(?i:(?P<key>"
    r"api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?access)?(?:[_-]?key)?"
    r"|client[_-]?secret|(?:access|refresh|auth|api|session|bearer|id)?[_-]?token"
    r"|password|passwd|pwd|passphrase|private[_-]?key"
    r"))[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"'`,;<>]{6,})"
)
_URL_CREDENTIALS = re.compile(r"(?<=://)(?P<keep>[^\s/:@]{1,64}:)[^\s/@]{1,128}(?=@)")
_PASSWORD_KEYS = ("pass", "pwd")


def _assigned_secret_ok(key: str, value: str) -> bool:
    if key.lower().startswith(_PASSWORD_KEYS):
        # Passwords are short and low-entropy by nature, but a bare word
        # ("password: Settings") is more likely prose than a password.
        return not value.isalpha() or len(value) >= 12
    return len(value) >= 16 and _char_classes(value) >= 2 and _shannon_entropy(value) >= 3.0


def _secrets(text: str) -> Iterator[_Candidate]:
    for match in _TOKEN_SHAPES.finditer(text):
        yield match.start(), match.end(), ""
    for match in _BEARER.finditer(text):
        yield match.start(), match.end(), match.group("keep")
    for match in _ASSIGNED.finditer(text):
        value = match.group("value").rstrip(".!?)]}")
        if len(value) >= 6 and _assigned_secret_ok(match.group("key"), value):
            end = match.start("value") + len(value)
            yield match.start(), end, match.group("keep")
    if "://" in text:
        for match in _URL_CREDENTIALS.finditer(text):
            yield match.start(), match.end(), match.group("keep")


_DETECTORS: tuple[_Detector, ...] = (
    _Detector("secret", 90, _secrets),
    _Detector("email", 80, _emails, lambda t: "@" in t),
    _Detector("iban", 70, _ibans, _has_digit),
    _Detector("card", 60, _cards, _has_digit),
    _Detector("ssn", 55, _ssns, _has_digit),
    _Detector("national_id", 50, _national_ids, _has_digit),
    _Detector("ip", 45, _ips, _has_digit),
    _Detector("phone", 30, _phones, _has_digit),
)


# -- the finder -----------------------------------------------------------------------


def make_finder(kinds: Iterable[str] = KINDS) -> Callable[[str], list[Span]]:
    """A span finder for a subset of :data:`KINDS` (unknown kinds raise ``ValueError``)."""
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown PII kinds: {sorted(unknown)} (known: {list(KINDS)})")
    detectors = tuple(d for d in _DETECTORS if d.kind in wanted)
    replacements = {kind: replacement_for(kind) for kind in KINDS}

    def find(text: str) -> list[Span]:
        candidates: list[tuple[int, int, int, str, str]] = []
        for detector in detectors:
            if detector.precheck is not None and not detector.precheck(text):
                continue
            for start, end, keep in detector.detect(text):
                candidates.append(
                    (
                        detector.priority,
                        start,
                        end,
                        keep + replacements[detector.kind],
                        detector.kind,
                    )
                )
        return _resolve(candidates)

    return find


def _resolve(candidates: list[tuple[int, int, int, str, str]]) -> list[Span]:
    """Keep the highest-priority (then earliest, then longest) of overlapping candidates."""
    if not candidates:
        return []
    candidates.sort(key=lambda c: (-c[0], c[1], c[1] - c[2]))
    starts: list[int] = []
    accepted: list[Span] = []
    for _priority, start, end, replacement, kind in candidates:
        index = bisect_left(starts, start)
        if index > 0 and accepted[index - 1].end > start:
            continue
        if index < len(accepted) and accepted[index].start < end:
            continue
        starts.insert(index, start)
        accepted.insert(index, Span(start, end, replacement, kind))
    return accepted


find_spans = make_finder()
"""Every kind: ``find_spans(text)`` -> sorted, non-overlapping :class:`Span` list."""


def redact(text: str, finder: Callable[[str], list[Span]] = find_spans) -> str:
    """``text`` with every span the finder reports replaced."""
    return apply_spans(text, finder(text))
