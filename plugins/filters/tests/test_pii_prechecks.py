"""The detectors' prechecks only skip work: they never hide something a detector finds.

A precheck is a cheap necessary condition (``"@" in text`` for e-mail). If one
were too strict, the detector would be skipped on a text it would have redacted,
and PII would stream through. So for texts built from the characters PII is
made of, and for the real examples of every kind, a detector that finds a span
must have a precheck that says yes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from supportai_filters import pii

# Digits dominate (cards, phones, IBANs, SSNs, IPs), with every separator the
# patterns accept and the letters that start IBANs, NINOs and tokens.
ALPHABET = "0123456789" * 4 + " -./():+@=#" + "ABCDEFGHJKLMNPRSTWXYZabcdefx" + "\n"

EXAMPLES = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "078-05-1120",
    "SSN 078051120",
    "AB 12 34 56 C",
    "AB123456C",
    "192.168.10.20",
    "2001:db8:85a3::8a2e:370:7334",
    "fe80::1ff:fe23:4567:890a",
    "+1 (415) 555-0132",
    "020 7946 0958",
    "call me on 07700 900123",
    "tel: 555-0100 12",
    "alice@example.com",
    "Bearer abcdefghijklmnop0123456789",
    "api_key=Zx8kQ2mN5pL7vR3tY9wB",
    "password: hunter2hunter2",
    "https://bob:s3cretpass@db.example.com",
    "sk-proj-abcdefghijklmnopqrstuvwx",
    # one of every token shape (the secret detector's own marker check)
    "sk_live_abcdefghijklmnop1234",
    "rk-abcdefghijklmnop1234",
    "ghp_abcdefghijklmnopqrstuvwxyz012345",
    "github_pat_abcdefghijklmnopqrstuv_0123",
    "AKIAABCDEFGHIJKLMNOP",
    "ASIAABCDEFGHIJKLMNOP",
    "xoxb-1234567890-abcdefghij",
    "AIzaSyA1234567890abcdefghijklmnopqrstu",
    "glpat-abcdefghijklmnopqrst",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
]


def test_the_token_marker_check_admits_every_token_shape() -> None:
    for text in EXAMPLES:
        if pii._TOKEN_SHAPES.search(text):
            assert pii._could_be_token(text), text
    tokens = [t for t in EXAMPLES if pii._TOKEN_SHAPES.search(t)]
    assert len(tokens) >= 10  # every alternative of the pattern has an example


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="skrghpousr_-AKIASxobAIzalpteyJ0123456789", min_size=1, max_size=60))
def test_no_token_is_refused_by_the_marker_check(text: str) -> None:
    if pii._TOKEN_SHAPES.search(text):
        assert pii._could_be_token(text), text


def _assert_prechecks_admit(text: str) -> None:
    numberish = pii._NUMBERISH.search(text) is not None
    for detector in pii._DETECTORS:
        precheck = detector.precheck
        if not numberish and detector.precheck_without_numbers is not None:
            precheck = detector.precheck_without_numbers  # as the finder picks it
        admitted = precheck is None or precheck(text)
        if detector.numeric:
            admitted = admitted and numberish
        if admitted:
            continue
        found = list(detector.detect(text))
        assert not found, f"{detector.kind} precheck refused {text!r}, detector found {found}"


def test_every_example_passes_its_detectors_precheck() -> None:
    finder = pii.make_finder()
    for text in EXAMPLES:
        _assert_prechecks_admit(text)
        _assert_prechecks_admit(f"Sure, here it is: {text}. Anything else?")
    # and the examples are PII at all (the list is not stale)
    assert all(finder(f"value {text} end") for text in EXAMPLES)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=60))
def test_no_precheck_refuses_a_text_its_detector_matches(text: str) -> None:
    _assert_prechecks_admit(text)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="0123456789.:abf \u0663", min_size=1, max_size=40))
def test_the_cheaper_precheck_without_numbers_agrees_with_the_full_one(text: str) -> None:
    """A text that is not numberish has no IPv4 hint: both IP prechecks say the same."""
    if pii._NUMBERISH.search(text) is None:
        assert pii._could_be_ipv6(text) == pii._could_be_ip(text), text
