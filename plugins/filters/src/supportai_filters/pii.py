"""Find personal data and secrets in text: the span finder behind the ``pii`` filter.

Why patterns and checks, not a model or a recognizer framework: the finder runs
on every streamed answer, in the hot path, so it must be linear in the text and
predictable. Each kind is a regular expression that proposes *candidates* and a
check that accepts or rejects them: Luhn and the issuers' number ranges for
cards, mod-97 and the ISO registry's BBAN structures (python-stdnum) for IBANs,
octet ranges for IPv4, :mod:`ipaddress` for IPv6, country codes and possible
lengths (phonenumbers) or the grouping of national numbers for phones (see
:mod:`supportai_filters.phones`). The libraries are asked only about bounded
candidates, and their answers are cached. Checks, and the signs that a number
is something else (:mod:`supportai_filters.not_pii`), keep false positives
(years, prices, order and tracking numbers, versions) out without loosening the
patterns.

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
from functools import lru_cache

from supportai.filters import Span, apply_spans
from supportai_filters import phones
from supportai_filters.not_pii import id_label_at

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


@lru_cache(maxsize=256)
def _iban_registered(compact: str) -> bool:
    """The IBAN's country is in the ISO 13616 registry and its BBAN has that country's structure.

    python-stdnum ships the registry (structure per country: "4!a14!n" for GB)
    and keeps it current, which a hand-kept table of lengths does not; only the
    checksum-valid candidates reach it, and a streamed answer re-scans the same
    value, hence the cache. National check digits (``check_country``) are not
    checked: a mistyped account number is still personal data.
    """
    from stdnum import iban

    return bool(iban.is_valid(compact, check_country=False))


def warm_up() -> None:
    """Load the lazily imported parsers now (filter construction), not in the first answer."""
    _iban_registered("DE89370400440532013000")
    phones.warm_up()


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
# which the replacement repeats ("password=[redacted secret]"). A kept prefix
# of None is a veto: the region is known *not* to be sensitive (an IBAN with a
# wrong checksum), and lower-priority detectors may not claim any of it.
_Candidate = tuple[int, int, str | None]
_Detect = Callable[[str], Iterator[_Candidate]]


@dataclass(frozen=True, slots=True)
class _Detector:
    kind: str
    priority: int  # wins overlaps: a card is not also a phone number
    detect: _Detect
    precheck: Callable[[str], bool] | None = None
    # Needs two digits at most three separators apart (see _NUMBERISH).
    numeric: bool = False
    # The precheck for a text that is not numberish, when that makes it cheaper
    # (it must hold for every such text that ``precheck`` holds for).
    precheck_without_numbers: Callable[[str], bool] | None = None


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
# The pattern finds whole runs of digit groups; _cards then looks for a card in
# every window of whole groups, because a card may sit next to other numbers
# ("call 020 7946 0958 4111 1111 1111 1111"), which a greedy pattern would
# swallow into one invalid candidate.
_DIGIT_GROUPS = re.compile(r"(?<![\w.-])\d+(?:[ -]\d+)*(?!\w)")
_GROUP = re.compile(r"\d+")


# Issuer identification number (IIN) ranges and the lengths each network issues,
# from the networks' published tables: (first digits low, high, lengths). A
# Luhn-valid number is a card only when its prefix and length fit one of them,
# which keeps 12-15 digit ids out while accepting Maestro, UATP and JCB-15.
_IIN_RANGES: tuple[tuple[str, str, frozenset[int]], ...] = tuple(
    (low, high, frozenset(lengths))
    for low, high, lengths in (
        ("1", "1", (15,)),  # UATP (JCB's 1800 is inside it)
        ("2131", "2131", (15,)),  # JCB
        ("2200", "2204", range(16, 20)),  # Mir
        ("2221", "2720", (16,)),  # Mastercard 2-series
        ("30", "30", range(14, 20)),  # Diners Club 300-305, 3095; JCB 3088-3094, 3096-3102
        ("3112", "3120", range(16, 20)),  # JCB (its earlier ranges)
        ("3158", "3159", range(16, 20)),  # JCB
        ("3337", "3349", range(16, 20)),  # JCB
        ("34", "34", (15,)),  # American Express
        ("35", "35", range(16, 20)),  # JCB 3528-3589
        ("36", "36", range(14, 20)),  # Diners Club
        ("37", "37", (15,)),  # American Express
        ("38", "39", range(14, 20)),  # Diners Club
        ("4", "4", range(13, 20)),  # Visa (Electron and Interlink included)
        ("50", "50", range(12, 20)),  # Maestro, Dankort, Verve, RuPay 508
        ("51", "55", (16,)),  # Mastercard
        ("56", "69", range(12, 20)),  # Maestro; Discover, UnionPay, RuPay, InstaPayment
        ("0604", "0604", range(12, 20)),  # Maestro
        ("81", "82", (16,)),  # RuPay
        ("9792", "9792", (16,)),  # Troy
    )
)


def _iin_fits(digits: str) -> bool:
    """Whether the number's prefix and length are those of an issued card.

    Prefixes of equal length compare as strings exactly as they do as numbers.
    """
    size = len(digits)
    return any(
        size in lengths and low <= digits[: len(low)] <= high for low, high, lengths in _IIN_RANGES
    )


def _card_ok(raw: str) -> bool:
    separators = {c for c in raw if not c.isdigit()}
    if len(separators) > 1:
        return False  # "4111 1111-1111 1111" is not how anyone writes a card
    if separators and any(len(g) < 3 or len(g) > 6 for g in re.split(r"[ -]", raw)):
        return False  # grouped in 4-4-4-4, 4-6-5, 4-4-4-4-3 ...
    digits = raw.replace(" ", "").replace("-", "")
    if len(set(digits)) == 1 or not _iin_fits(digits):
        return False  # "0000 0000 ..." passes Luhn
    return luhn_is_valid(digits)


def _card_window_ok(
    text: str, base: int, groups: list[tuple[int, int]], first: int, last: int, floor: int
) -> bool:
    """Shorter numbers (12-15 digits: Maestro, UATP, Amex) must not continue a grouping.

    A 16-19 digit card may sit in a run with other numbers ("call 020 7946 0958
    4111 ..."), but a shorter Luhn-valid window whose neighbour is a group of the
    same size ("9400 1000 0000 0000 0000 00") is a slice of a longer tracking or
    account number (groups before ``floor`` belong to a card found already).
    """
    digits = sum(end - start for start, end in groups[first : last + 1])
    if digits >= 16:
        return True
    size = groups[first][1] - groups[first][0]
    for neighbour in (first - 1, last + 1):
        if floor <= neighbour < len(groups) and groups[neighbour][1] - groups[neighbour][0] == size:
            return False
    return True


def _cards(text: str) -> Iterator[_Candidate]:
    for match in _DIGIT_GROUPS.finditer(text):
        end = match.end()
        run = match.group()
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(run)]
        if text[end : end + 1] in (".", ",") and text[end + 1 : end + 2].isdigit():
            groups.pop()  # the last group is the start of a decimal number or an address
        index = floor = 0
        while index < len(groups):
            found = None
            digits = 0
            for last in range(index, len(groups)):
                size = groups[last][1] - groups[last][0]
                digits += size
                if digits > 19:
                    break
                if last > index:
                    # Cheap shape checks first, so a long run of short groups
                    # ("1 2 3 4 ...") costs one pass, not a Luhn check per window.
                    first_size = groups[index][1] - groups[index][0]
                    if not (3 <= size <= 6 and 3 <= first_size <= 6):
                        break
                    if run[groups[last][0] - 1] != run[groups[index][1]]:
                        break  # mixed separators
                if digits >= 12 and _card_ok(run[groups[index][0] : groups[last][1]]):
                    found = last  # keep looking: the longest valid window wins
            if found is not None and not _card_window_ok(
                text, match.start(), groups, index, found, floor
            ):
                found = None
            if found is None:
                index += 1
                continue
            base = match.start()
            start, stop = base + groups[index][0], base + groups[found][1]
            twelve = sum(c.isdigit() for c in text[start:stop]) == 12
            label = id_label_at(text, start) if twelve else None
            # "Order ID: 501812345673" is an order number: kept whole with its label.
            yield (start, stop, "") if label is None else (label, stop, None)
            index = floor = found + 1


_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,32}(?![A-Za-z0-9])")


def _ibans(text: str) -> Iterator[_Candidate]:
    # The pattern reads up to 32 characters past the country code, so it may take
    # the start of the next IBAN ("GB82 ... 32 GB82 ..."); the search resumes where
    # the country's length ended the IBAN, not where the pattern stopped.
    position = 0
    while (match := _IBAN.search(text, position)) is not None:
        position = match.end()
        found = _iban_at(match.start(), match.group())
        if found is not None:
            position = found[1]
            yield found


def _iban_at(start: int, raw: str) -> _Candidate | None:
    """The IBAN (or the veto of a mistyped one) at the start of the candidate ``raw``."""
    country = raw[:2].upper()
    expected = _IBAN_LENGTHS.get(country)
    # Map each position of the compact form back to the text.
    positions = [i for i, c in enumerate(raw) if c != " "]
    if expected is not None:
        if len(positions) < expected:
            return None
        # The country's length ends the IBAN; it must end at a group boundary.
        if len(positions) > expected and positions[expected] == positions[expected - 1] + 1:
            return None
        positions = positions[:expected]
    compact = "".join(raw[i] for i in positions)
    if not (compact.isupper() or compact.islower()):
        return None  # mixed case is prose ("Is12 this Ok..."), not an account number
    end = start + positions[-1] + 1
    if iban_is_valid(compact) and _iban_registered(compact):
        return start, end, ""
    if expected is not None:
        # The exact shape of this country's IBAN with a wrong checksum: a
        # mistyped IBAN or a made-up example. Not redacted, and its digits
        # are not a phone number either.
        return start, end, None
    return None


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
        version = _VERSION_BEFORE.search(text, max(0, match.start() - 12), match.start())
        if version is not None:
            yield version.start(), match.end(), None  # a version, kept whole with its word
            continue
        v4 = ipaddress.IPv4Address(match.group())
        if v4.is_loopback or v4.is_unspecified:
            continue  # "127.0.0.1" and "0.0.0.0" identify no one, as "::1" and "::"
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
        if not _has_digit(raw):
            continue  # "a::b", "std::vector"-like words: prose, as the precheck says
        yield match.start(), match.start() + len(raw), ""


def _phones(text: str) -> Iterator[_Candidate]:
    # Phone numbers have their own module: the evidence is spread over keywords,
    # extensions, country codes and national shapes (see supportai_filters.phones).
    yield from phones.find_phones(text)


# Secrets with a recognisable shape. Every body is open-ended ("{16,512}" and
# not an exact length) so that a prefix of a token still streaming in is
# reported too. The upper bounds matter: the stream re-scans a token that is
# still growing on every delta, so an unbounded match would make an endless
# "eyJAAAA..." quadratic. Realistic tokens are far shorter; a longer run is
# redacted up to the bound and its tail released (see README, "Limits").
_TOKEN_SHAPES = re.compile(
    r"(?<![\w-])(?:"
    r"(?:sk|rk)[-_](?:live_|test_|proj-|svcacct-|ant-)?[A-Za-z0-9_\-]{16,512}"  # OpenAI, Stripe
    r"|gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255}"  # GitHub
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key id
    r"|xox[abposr]-[A-Za-z0-9-]{10,255}"  # Slack
    r"|AIza[0-9A-Za-z_\-]{30,64}"  # Google API key
    r"|glpat-[A-Za-z0-9_\-]{20,255}"  # GitLab
    # JWT, or a prefix of one: header, payload, signature
    r"|eyJ[A-Za-z0-9_\-]{10,512}(?:\.[A-Za-z0-9_\-]{1,1536}(?:\.[A-Za-z0-9_\-]{1,1024})?)?"
    r")"
)
_BEARER = re.compile(r"(?P<keep>\b[Bb]earer\s+)[A-Za-z0-9._~+/\-]{16,3072}=*")
_ASSIGNED = re.compile(
    # An optional prefix ("AWS_", "GITHUB_", "db-") before the key word.
    r"(?P<keep>(?<![\w-])(?:[A-Za-z][A-Za-z0-9]{0,20}[_-]){0,3}(?i:(?P<key>"
    r"api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?access)?(?:[_-]?key)?"
    r"|client[_-]?secret|(?:access|refresh|auth|api|session|bearer|id)?[_-]?token"
    r"|password|passwd|pwd|passphrase|private[_-]?key"
    r"))[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"'`,;<>]{6,512})"
)
# "user:password@" and ":password@" (redis://:password@host)
_URL_CREDENTIALS = re.compile(r"(?<=://)(?P<keep>[^\s/:@]{0,64}:)[^\s/@]{1,128}(?=@)")
_PASSWORD_KEYS = ("pass", "pwd")


def _assigned_secret_ok(key: str, value: str) -> bool:
    if key.lower().startswith(_PASSWORD_KEYS):
        # Passwords are short and low-entropy by nature, but a bare word
        # ("password: Settings") is more likely prose than a password.
        return not value.isalpha() or len(value) >= 12
    return len(value) >= 16 and _char_classes(value) >= 2 and _shannon_entropy(value) >= 3.0


def _could_be_token(text: str) -> bool:
    """A substring every alternative of _TOKEN_SHAPES starts with (a regex pass costs more)."""
    return (
        "k-" in text  # sk-, rk-
        or "k_" in text  # sk_, rk_
        or "gh" in text  # ghp_, gho_, ...
        or "github_pat_" in text
        or "AKIA" in text
        or "ASIA" in text
        or "xox" in text
        or "AIza" in text
        or "glpat-" in text
        or "eyJ" in text
    )


def _secrets(text: str) -> Iterator[_Candidate]:
    if _could_be_token(text):
        for match in _TOKEN_SHAPES.finditer(text):
            yield match.start(), match.end(), ""
    if "earer" in text:  # _BEARER needs "Bearer"/"bearer"
        for match in _BEARER.finditer(text):
            yield match.start(), match.end(), match.group("keep")
    if ":" not in text and "=" not in text:  # _ASSIGNED needs one of them
        return
    for match in _ASSIGNED.finditer(text):
        value = match.group("value").rstrip(".!?)]}")
        if len(value) >= 6 and _assigned_secret_ok(match.group("key"), value):
            end = match.start("value") + len(value)
            yield match.start(), end, match.group("keep")
    if "://" in text:
        for match in _URL_CREDENTIALS.finditer(text):
            yield match.start(), match.end(), match.group("keep")


# Prechecks: a cheap necessary condition for each detector, read off its patterns,
# so that a window of prose with a stray digit ("step 2", "word3") skips the
# detectors that could not match it. They only skip work: each one must hold for
# every text the detector's patterns can match (a precheck that is too strict
# would let PII through; the detector tests cover every kind).
def _needs(pattern: str) -> Callable[[str], bool]:
    search = re.compile(pattern).search
    return lambda text: search(text) is not None


_IPV4_HINT = re.compile(r"\d\.\d")


def _could_be_ip(text: str) -> bool:
    # IPv4 has a digit, a dot, a digit; IPv6 has two colons (the digit rule is the
    # same as before prechecks were specific: an address with no digit is skipped).
    return _IPV4_HINT.search(text) is not None or _could_be_ipv6(text)


def _could_be_ipv6(text: str) -> bool:
    """:func:`_could_be_ip` for a text that is not numberish: "1.2" is numberish, so
    the IPv4 hint cannot be there, and its search (a pass over the text) is skipped."""
    return text.count(":") >= 2 and _has_digit(text)


# One gate in front of the number detectors: each of them needs two digits at
# most three separators apart. IBANs, NINOs and SSNs have adjacent digits, a card
# has digits with at most one separator between, and every phone number the
# checks accept has at least 7 digits in at most 26 characters, so two of them
# are at most 3 apart. Prose with stray single digits ("step 2", "word3") fails
# the gate in one search instead of five.
_NUMBERISH = re.compile(r"\d[\d ().\-/]{0,3}\d")

_DETECTORS: tuple[_Detector, ...] = (
    _Detector("secret", 90, _secrets),
    _Detector("email", 80, _emails, lambda t: "@" in t),
    # country code, two check digits
    _Detector("iban", 70, _ibans, _needs(r"\d\d"), numeric=True),
    _Detector("card", 60, _cards, _needs(r"\d(?:[ -]?\d){11}"), numeric=True),  # 12+ digits
    _Detector("ssn", 55, _ssns, _needs(r"\d{3}"), numeric=True),  # both forms start with AAA
    _Detector("national_id", 50, _national_ids, _needs(r"\d\d"), numeric=True),
    _Detector("ip", 45, _ips, _could_be_ip, precheck_without_numbers=_could_be_ipv6),
    # both patterns
    _Detector("phone", 30, _phones, _needs(r"\d[\d ().\-/]{5,}\d"), numeric=True),
)


# -- the finder -----------------------------------------------------------------------


def make_finder(
    kinds: Iterable[str] = KINDS, *, keep_vetoed: bool = False
) -> Callable[[str], list[Span]]:
    """A span finder for a subset of :data:`KINDS` (unknown kinds raise ``ValueError``).

    Detectors run from the highest priority down, each on the text with what
    the previous ones claimed masked out. So a card next to a phone number is
    a card and a phone number, not one invalid run, and digits inside an IBAN
    with a wrong checksum (a veto) are never read as a phone number.

    ``keep_vetoed`` (the streaming filter): regions known *not* to be sensitive
    (an order number with its "Order" label, an IBAN with a wrong checksum) are
    reported too, as spans replaced by their own text, so that
    :class:`~supportai.filters.HoldbackStream` never cuts between a number and the
    words that decided it; they change nothing and count as no redaction.
    """
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown PII kinds: {sorted(unknown)} (known: {list(KINDS)})")
    detectors = sorted(
        (d for d in _DETECTORS if d.kind in wanted), key=lambda d: d.priority, reverse=True
    )
    replacements = {kind: replacement_for(kind) for kind in KINDS}

    def find(text: str) -> list[Span]:
        claimed: list[tuple[int, int, str | None, str]] = []
        masked = text
        # Masking only removes digits, so the gate read on the whole text holds after.
        numberish = _NUMBERISH.search(text) is not None
        for detector in detectors:
            if detector.numeric and not numberish:
                continue
            precheck = detector.precheck
            if not numberish and detector.precheck_without_numbers is not None:
                precheck = detector.precheck_without_numbers
            if precheck is not None and not precheck(masked):
                continue
            candidates: list[tuple[int, int, str | None, str]] = []
            for start, end, keep in detector.detect(masked):
                # The kept prefix is read from the original: the mask never reaches output.
                replacement = (
                    None
                    if keep is None
                    else text[start : start + len(keep)] + replacements[detector.kind]
                )
                candidates.append((start, end, replacement, detector.kind))
            if not candidates:
                continue
            added = _claim(claimed, candidates)
            if added:
                masked = _mask(masked, added)
        if keep_vetoed:
            return [
                Span(start, end, text[start:end] if r is None else r, kind)
                for start, end, r, kind in claimed
            ]
        return [Span(start, end, r, kind) for start, end, r, kind in claimed if r is not None]

    return find


_MASK = "\x00"  # matched by no pattern as part of a value


def _mask(text: str, spans: list[tuple[int, int, str | None, str]]) -> str:
    parts: list[str] = []
    position = 0
    for start, end, _replacement, _kind in sorted(spans):
        parts.append(text[position:start])
        parts.append(_MASK * (end - start))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _claim(
    claimed: list[tuple[int, int, str | None, str]],
    candidates: list[tuple[int, int, str | None, str]],
) -> list[tuple[int, int, str | None, str]]:
    """Add the earliest (then longest) of overlapping candidates; return those added.

    ``claimed`` stays sorted and disjoint. A candidate that touches a claimed
    span (possible when a kept prefix runs over a mask) is dropped.
    """
    candidates.sort(key=lambda c: (c[0], c[0] - c[1]))
    starts = [c[0] for c in claimed]
    added = []
    for candidate in candidates:
        start, end = candidate[0], candidate[1]
        index = bisect_left(starts, start)
        if index > 0 and claimed[index - 1][1] > start:
            continue
        if index < len(claimed) and claimed[index][0] < end:
            continue
        starts.insert(index, start)
        claimed.insert(index, candidate)
        added.append(candidate)
    return added


find_spans = make_finder()
"""Every kind: ``find_spans(text)`` -> sorted, non-overlapping :class:`Span` list."""


def redact(text: str, finder: Callable[[str], list[Span]] = find_spans) -> str:
    """``text`` with every span the finder reports replaced."""
    return apply_spans(text, finder(text))
