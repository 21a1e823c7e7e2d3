"""The span finder, kind by kind: what it must redact and what it must leave alone."""

from __future__ import annotations

import itertools
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from supportai_filters.pii import (
    KINDS,
    find_spans,
    iban_is_valid,
    luhn_is_valid,
    make_finder,
    redact,
)


def found(text: str) -> list[tuple[str, str]]:
    return [(span.kind, text[span.start : span.end]) for span in find_spans(text)]


def assert_redacted(text: str, value: str, kind: str) -> None:
    spans = find_spans(text)
    assert any(s.kind == kind and value in text[s.start : s.end] for s in spans), found(text)
    assert value not in redact(text)


def assert_untouched(text: str) -> None:
    assert find_spans(text) == [], found(text)
    assert redact(text) == text


# -- checksums -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"]
)
def test_luhn_accepts_known_test_card_numbers(number: str) -> None:
    assert luhn_is_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "5555555555554445", "1234567812345678"])
def test_luhn_rejects_wrong_check_digits(number: str) -> None:
    assert not luhn_is_valid(number)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "BE68539007547034",
        "CH9300762011623852957",
        "NO9386011117947",
    ],
)
def test_iban_checksum_accepts_valid(iban: str) -> None:
    assert iban_is_valid(iban)
    assert iban_is_valid(iban.lower())


@pytest.mark.parametrize(
    "iban", ["DE89370400440532013001", "GB82WEST12345698765433", "DE8937040044", "DE89 3704"]
)
def test_iban_checksum_rejects_invalid(iban: str) -> None:
    assert not iban_is_valid(iban)


# -- e-mail ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "john.doe@example.com",
        "a+b@sub.example.co.uk",
        "x_y@foo-bar.io",
        "O'Brien@example.ie",
        "UPPER@EXAMPLE.ORG",
    ],
)
def test_email_positives(email: str) -> None:
    assert_redacted(f"Write to {email}, please.", email, "email")
    assert redact(f"<{email}>") == "<[redacted email]>"


@pytest.mark.parametrize(
    "text",
    [
        "Mention @support in the chat",
        "user@localhost is not routable",
        "foo@bar without a domain",
        "a..b@example.com is malformed",
        "the @ sign and example.com apart",
    ],
)
def test_email_negatives(text: str) -> None:
    assert_untouched(text)


# -- phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
        "+4915123456789",
        "+33 6 12 34 56 78",
        "0044 20 7946 0958",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "020 7946 0958",
        "07700 900123",
        "07700900123",
        "06 12 34 56 78",
        "030/1234567",
        # extensions go with the number
        "+1-555-201-7788x42",
        "555-201-7788 ext. 42",
        "020 7946 0958 extension 7",
        # national formats of 8 digits in three or more groups
        "61 402 337",
        "(44) 219-508",
        "318 27 904",
        "47 12 58 90",
        "+(371) 95896935",
        "039074833",  # a bare run with a trunk 0
    ],
)
def test_phone_positives(phone: str) -> None:
    assert_redacted(f"Reach us at {phone} today.", phone, "phone")


@pytest.mark.parametrize(
    "text",
    [
        "In 2024 we shipped 12000 parcels.",
        "It costs $1,299.99 or 1299.99 EUR.",
        "Your order 12345 has shipped; order #98765432 too.",
        "Released on 2024-01-15 and 15/01/2024 at 10:30.",
        "Upgrade to 1.2.3 or 10.4.2.1234 first.",
        "ISBN 978-3-16-148410-0",
        "Tracking 5551234567 is a bare run without a trunk prefix.",
        "Account 1234 5678 9012 is grouped like a card.",
    ],
)
def test_phone_negatives(text: str) -> None:
    assert_untouched(text)


@pytest.mark.parametrize(
    "text",
    ["Phone:\n512 8841", "My mobile number:\n967 22 70 thanks", "Tel.:\n(02) 9876 5432"],
)
def test_a_keyword_on_the_line_before_connects_to_the_number(text: str) -> None:
    out = redact(text)
    assert out.endswith("[redacted phone number]") or "[redacted phone number] " in out
    assert not any(piece in out for piece in ("8841", "22 70", "5432"))


@pytest.mark.parametrize(
    "text",
    [
        "Part number 239-6450-24 is out of stock.",
        "Reference 20240314-5521 on the transfer.",
        "log line: 2024-08-17 23:14:48.273 ERROR",
        "Since 14.03.2024 10:15 the sync has stopped.",
        "We have 61 402 337 rows in the export.",
        "The invoice total of 12 345 678 JPY is wrong.",
        "Booking confirmation 0612345678 arrived.",
        "The meeting ID is 845 2231 9904.",
        "Customer number 0049112233 in the CRM.",
        "Order 2024-118877 was split into 2 parcels.",
        "Half a card 4111 1111 is not a phone number.",
        "What is 10 000 000 divided by 3?",
    ],
)
def test_numbers_that_are_something_else_are_not_phones(text: str) -> None:
    assert_untouched(text)


@pytest.mark.parametrize(
    "text",
    [
        "You can reach me at 40748337 after 5pm.",
        "Contact us on 14646247.",
        "my number is 2537849666",
        "Phone: 0074-833 78",  # after a keyword, a national number may start with 00
    ],
)
def test_how_people_introduce_their_number_makes_a_bare_run_a_phone(text: str) -> None:
    out = redact(text)
    number = max(re.findall(r"[\d -]+\d", text), key=len).strip()
    assert "[redacted phone number]" in out and number not in out


def test_an_order_word_does_not_hide_a_phone_number_grouped_as_one() -> None:
    assert redact("To order, call 020 7946 0958.") == "To order, call [redacted phone number]."


def test_numbers_in_brackets_and_after_an_amount_are_found() -> None:
    assert redact("The number on file (0161 161 8621) is old") == (
        "The number on file ([redacted phone number]) is old"
    )
    assert redact("+1 (555) 123-4567 (44) 219-508") == (
        "[redacted phone number] [redacted phone number]"
    )
    assert redact("$19.99 020 7946 0958 ext. 7") == "$19.99 [redacted phone number]"


def test_a_long_run_of_numbers_is_read_past_the_patterns_reach() -> None:
    out = redact("+1 (555) 123-4567 2024 020 7946 0958 and 61 402 337 61 402 337 61 402 337")
    assert not any(piece in out for piece in ("4567", "0958", "337"))


def test_two_phone_numbers_separated_by_a_space_are_both_redacted() -> None:
    text = "Call 555-123-4567 555-987-6543 now"
    assert [k for k, _ in found(text)] == ["phone", "phone"]
    assert "4567" not in redact(text) and "6543" not in redact(text)


def test_phone_after_a_year_is_redacted_whole() -> None:
    # Ambiguous run: the year may go with it, but no digit of the number stays.
    out = redact("on 2024 06 12 34 56 78 ok")
    assert "56 78" not in out and "[redacted phone number]" in out


def test_a_phone_keyword_allows_shorter_local_numbers_and_is_kept() -> None:
    assert redact("tel: 555-1234") == "tel: [redacted phone number]"
    assert_untouched("Room 555-1234 is on the left.")
    assert_untouched("Call us before 2024-06-12 or after 12/06/2024.")


# -- payment cards ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",
        "3782 822463 10005",
        "6011111111111117",
        "4222222222222",  # 13 digits
        "1800 1234 5678 905",  # JCB, 15 digits
        "213198765432104",  # JCB, 15 digits
        "3112 1234 5678 9014",  # JCB, an earlier range
        "3337123456789013",  # JCB, an earlier range
        "5018 1234 5673",  # Maestro, 12 digits
        "675949382716",  # Maestro, 12 digits
        "123456789012347",  # UATP
        "9792 1234 5678 9018",  # Troy
        "2200 1234 5678 9019",  # Mir
    ],
)
def test_card_positives(card: str) -> None:
    assert_redacted(f"Card {card}, expires soon.", card, "card")


@pytest.mark.parametrize(
    "text",
    [
        "Card 4111 1111 1111 1112 fails Luhn.",
        "Card 4111111111111112 fails Luhn.",
        "0000 0000 0000 0000 passes Luhn but is no card.",
        "Mixed 4111 1111-1111 1111 separators.",
        "Odd grouping 41 11 11 11 11 11 11 11.",
        "A 20-digit run 41111111111111111111 is too long.",
        "A 16-digit number starting 1: 1234 5678 9012 3452.",  # UATP has 15 digits
        "Order ID: 501812345673",  # a Maestro-shaped number named as an order
        "USPS 9400 1000 0000 0000 0000 00 was returned.",  # no card inside a tracking number
    ],
)
def test_card_negatives(text: str) -> None:
    assert all(kind != "card" for kind, _ in found(text)), found(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111 1111 1111 1111 10.20.30.40 x", "[redacted card number] [redacted IP address] x"),
        ("4111 1111 1111 1111 3.5 kg", "[redacted card number] 3.5 kg"),
        ("020 7946 0958 4111 1111 1111 1111", "[redacted phone number] [redacted card number]"),
        ("4111 1111 1111 1111 020 7946 0958", "[redacted card number] [redacted phone number]"),
    ],
)
def test_a_card_next_to_other_numbers_is_still_found(text: str, expected: str) -> None:
    assert redact(text) == expected


# -- IBAN ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
        "nl91abna0417164300",
    ],
)
def test_iban_positives(iban: str) -> None:
    assert_redacted(f"Pay to {iban} by Friday.", iban, "iban")


def test_two_ibans_in_a_row_are_both_found() -> None:
    text = "from GB82 WEST 1234 5698 7654 32 GB82 WEST 1234 5698 7654 32 to"
    assert redact(text) == "from [redacted IBAN] [redacted IBAN] to"


def test_iban_stops_at_the_country_length() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00 AB is mine"
    assert redact(text) == "IBAN [redacted IBAN] AB is mine"


@pytest.mark.parametrize(
    "text",
    [
        "Invalid DE89 3704 0044 0532 0130 01 stays.",
        "Invalid DE89370400440532013001 stays.",
        "Mixed case Is12 this Ok to say anything at all",
    ],
)
def test_iban_with_a_wrong_checksum_is_not_redacted_at_all(text: str) -> None:
    assert_untouched(text)


# -- national identifiers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "SSN 123-45-6789.",
        "SSN 123 45 6789.",
        "my SSN: 123456789",
        "social security number: 123456789",
    ],
)
def test_ssn_positives(text: str) -> None:
    out = redact(text)
    assert "[redacted SSN]" in out and "6789" not in out


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "123-00-4567",
        "123-45-0000",
        "a bare run 123456789 without the word",
    ],
)
def test_ssn_negatives(text: str) -> None:
    assert_untouched(text)


@pytest.mark.parametrize("nino", ["AB 12 34 56 C", "JG103759A", "CE 12 34 56 D"])
def test_uk_national_insurance_positives(nino: str) -> None:
    assert_redacted(f"NI number {nino}.", nino, "national_id")


@pytest.mark.parametrize(
    "text", ["QQ 12 34 56 C is HMRC's dummy", "GB123456A", "BG 12 34 56 C", "ab123456c"]
)
def test_uk_national_insurance_negatives(text: str) -> None:
    assert_untouched(text)


# -- IP addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ip"),
    [
        ("server 192.168.1.10, ok", "192.168.1.10"),
        ("DNS 8.8.8.8.", "8.8.8.8"),
        ("at 10.0.0.1:8080", "10.0.0.1"),
        ("(10.0.0.7)", "10.0.0.7"),
        ("v6 2001:db8::8a2e:370:7334 here", "2001:db8::8a2e:370:7334"),
        ("v6 fe80::1ff:fe23:4567:890a.", "fe80::1ff:fe23:4567:890a"),
        ("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
    ],
)
def test_ip_positives(text: str, ip: str) -> None:
    assert_redacted(text, ip, "ip")
    assert [v for k, v in found(text) if k == "ip"] == [ip]


@pytest.mark.parametrize(
    "text",
    [
        "256.1.1.1 is out of range",
        "1.2.3 has three parts",
        "Install version 1.2.3.4 today",
        "Install v1.2.3.4 today",
        "Firmware 1.2.3.4 and ver. 2.0.0.1",
        "OID 1.2.3.4.5",
        "loopback ::1 and 10:30:45",
        "std::vector and a::b",
        "MAC 00:1A:2B:3C:4D:5E",
        "uvicorn app:app --host 0.0.0.0 --port 8000",
        "PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379",
    ],
)
def test_ip_negatives(text: str) -> None:
    assert_untouched(text)


# -- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-abcdefghijklmnop1234",
        "sk_live_51HqR3kLmNoPqRsTuVwXyZ",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijkl",
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-1234567890-abcdefghijkl",
        "AIzaSyA1234567890abcdefghijklmnopqrstu",
        "glpat-abcdefghij1234567890",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc123def456",
    ],
)
def test_token_shapes(secret: str) -> None:
    assert_redacted(f"Use {secret} carefully.", secret, "secret")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdef1234567890abcdef", "Authorization: Bearer [redacted secret]"),
        ("token=aZ9xQ2mP7rT4kL8vN3bY6", "token=[redacted secret]"),
        ("api_key: 'Zx8fK2pQ9rLm4Tn7Wv1B'", "api_key: '[redacted secret]'"),
        ('{"client_secret": "aB3dE5fG7hJ9kL1mN3pQ"}', '{"client_secret": "[redacted secret]"}'),
        (
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SECRET_ACCESS_KEY=[redacted secret]",
        ),
        ("password: hunter22.", "password: [redacted secret]."),
        ("PASSWORD=correcthorsebatterystaple", "PASSWORD=[redacted secret]"),
        (
            "postgres://admin:s3cr3t@db.example.com/x",
            "postgres://admin:[redacted secret]@db.example.com/x",
        ),
        (
            "redis://:hunter22@cache.internal:6379/0",
            "redis://:[redacted secret]@cache.internal:6379/0",
        ),
    ],
)
def test_assigned_secrets_keep_their_key(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The token: the value shown in Settings.",
        "Reset your password: Settings",
        "secret=aaaaaaaaaaaaaaaaaaaaaaaa",
        "We use sk-learn for models.",
        "ghp_short is not a token",
        "The bearer of this letter.",
        "The key is in the drawer.",
    ],
)
def test_secret_negatives(text: str) -> None:
    assert_untouched(text)


def test_token_bounds_keep_pathological_runs_cheap_but_redact_the_start() -> None:
    run = "eyJ" + "A" * 5000
    out = redact(f"x {run} y")
    assert out.startswith("x [redacted secret]")


# -- the finder as a whole ---------------------------------------------------------------------


def test_spans_are_sorted_and_do_not_overlap_and_priority_wins() -> None:
    # The card number is also a long digit run a phone check could claim.
    text = "Card 4111 1111 1111 1111, mail a@b.io, call +44 20 7946 0958, ip 8.8.8.8"
    spans = find_spans(text)
    assert [s.kind for s in spans] == ["card", "email", "phone", "ip"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_make_finder_restricts_kinds_and_rejects_unknown_ones() -> None:
    only_email = make_finder(["email"])
    text = "a@b.io 4111 1111 1111 1111"
    assert [s.kind for s in only_email(text)] == ["email"]
    with pytest.raises(ValueError, match="unknown PII kinds"):
        make_finder(["email", "dna"])


def test_every_kind_has_a_label() -> None:
    spans_by_kind = {
        "email": "a@b.io",
        "phone": "+44 20 7946 0958",
        "card": "4111 1111 1111 1111",
        "iban": "DE89370400440532013000",
        "ssn": "123-45-6789",
        "national_id": "AB123456C",
        "ip": "8.8.8.8",
        "secret": "AKIAIOSFODNN7EXAMPLE",
    }
    assert set(spans_by_kind) == set(KINDS)
    for kind, value in spans_by_kind.items():
        assert [s.kind for s in find_spans(f"x {value} y")] == [kind]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_text_gives_sorted_disjoint_in_bounds_spans(text: str) -> None:
    spans = find_spans(text)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.replacement.endswith("]")
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 -.()+/:@abcdefABCDEF,xyz", max_size=120))
def test_digit_soup_never_breaks_the_finder(text: str) -> None:
    spans = find_spans(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    # Replacements hold no digits and end at a bracket, so redacting twice finds
    # nothing new: a second pass over redacted text is a no-op.
    once = redact(text)
    assert redact(once) == once


ADVERSARIAL = {
    "digit-dash": "1-",
    "digit-space": "1 ",
    "brackets": "(1) ",
    "plus": "+1 ",
    "iban-like": "1234 ",
    "at-signs": "a@",
    "domain": "b.",
    "colons": "ab:",
    "digits": "1",
    "ssn-like": "123-45-",
    "url": "a:",
    "jwt": "eyJ",
    "words": "abc",
}
PREFIX = {"iban-like": "DE89 ", "domain": "a@", "url": "https://"}


def _best_time(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        find_spans(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_no_pattern_backtracks_badly_on_long_runs(name: str) -> None:
    # Four times the text must cost about four times as much, not sixteen: a
    # pattern that retries a candidate at each position of a run is quadratic.
    unit, prefix = ADVERSARIAL[name], PREFIX.get(name, "")
    small = _best_time(prefix + unit * (5_000 // len(unit)))
    large = _best_time(prefix + unit * (20_000 // len(unit)))
    assert large < 8 * small + 0.05, (small, large)
