"""Generate the PII evaluation corpora: support texts with gold values, and benign texts.

Why generated: real support transcripts with real personal data cannot be
committed, and a hand-written list of values tests the phrasings its author
thought of. A generator with many formats per kind, many sentence templates
and a fixed seed gives thousands of reproducible cases; the ``dev`` split
(seed 19) is what the detectors were tuned on, the ``heldout`` split (seed
1919) draws different values, templates and formats in other combinations and
is only measured.

Output (JSON lines, the format ``supportai eval pii`` reads):

* ``pii_<split>.jsonl``: ``{"text": ..., "pii": [{"kind": ..., "value": ...}]}``;
* ``benign_<split>.jsonl``: ``{"text": ..., "pii": []}``: order ids, versions,
  dates, amounts, tracking and invoice numbers, timestamps, ports, hashes...
  none of which may be altered.

Run from the repository root::

    python plugins/filters/scripts/make_pii_corpus.py plugins/filters/tests/data
"""

from __future__ import annotations

import json
import random
import string
import sys
from collections.abc import Callable
from pathlib import Path

# -- checksums (the corpus must hold valid values) --------------------------------------


def luhn_complete(prefix_and_body: str) -> str:
    """Append the Luhn check digit."""
    total = 0
    for index, char in enumerate(reversed(prefix_and_body)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return prefix_and_body + str((10 - total % 10) % 10)


def iban_complete(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


# -- value generators ---------------------------------------------------------------------

FIRST = ["anna", "john", "maria", "li", "omar", "sofia", "jean-luc", "priya", "o'neil", "kim"]
LAST = ["smith", "garcia", "nguyen", "muller", "rossi", "kowalski", "tanaka", "okafor", "dubois"]
DOMAINS = [
    "gmail.com", "example.org", "mail.co.uk", "outlook.de", "proton.me", "acme-corp.io",
    "uni-heidelberg.de", "yahoo.co.jp", "web.de", "company.example", "fastmail.fm",
]  # fmt: skip


def email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first[0]}{last}",
            f"{first}_{last}",
            f"{first}+support@",
            f"{last}.{first}{rng.randint(1970, 2005)}",
        ]
    ).rstrip("@")
    value = f"{local}@{rng.choice(DOMAINS)}"
    return value.upper() if rng.random() < 0.05 else value


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _nz(rng: random.Random) -> str:
    return rng.choice("23456789")


def _fill(rng: random.Random, pattern: str) -> str:
    """``#`` is any digit, ``N`` a digit 2-9."""
    return "".join(
        rng.choice(string.digits) if c == "#" else _nz(rng) if c == "N" else c for c in pattern
    )


EXTENSIONS = ["x{e}", " x{e}", " ext. {e}", " ext {e}", " extension {e}", " Ext.{e}", " #{e}"]

PHONE_FORMATS = [
    # North American
    "+1-N##-N##-####", "+1 (N##) N##-####", "(N##) N##-####", "N##-N##-####", "N##.N##.####",
    "1-N##-N##-####", "001-N##-N##-####", "+1 N## N## ####", "(N##)N##-####",
    # UK, France, Germany, Spain, Italy, Netherlands, Nordics, Australia, India, Brazil, Japan
    "+44 20 #### ####", "+44 7### ######", "020 #### ####", "07### ######", "0161 ### ####",
    "+33 6 ## ## ## ##", "06 ## ## ## ##", "+33 (0)1 ## ## ## ##", "01.##.##.##.##",
    "+49 30 #######", "030 #######", "+49 (0)151 ########", "0151 ########", "030/#######",
    "+34 6## ### ###", "+39 3## ### ####", "+31 6 ########", "+31 (0)20 ### ####",
    "+47 ## ## ## ##", "N# ## ## ##", "N## ## ###", "N# ### ###", "+45 ## ## ## ##",
    "+46 7# ### ## ##", "+358 4# ### ####", "+61 4## ### ###", "(0#) #### ####",
    "+91 9#### #####", "+55 11 9####-####", "(##) ####-####", "(##) ###-###", "+81 3-####-####",
    "0044 20 #### ####", "+353 8# ### ####", "+41 7# ### ## ##", "+48 ### ### ###",
    "N##-###-###", "N## ## ## ##", "(N##) ### ###",
]  # fmt: skip


def phone(rng: random.Random) -> str:
    value = _fill(rng, rng.choice(PHONE_FORMATS))
    if rng.random() < 0.15:
        value += rng.choice(EXTENSIONS).format(e=rng.randint(2, 9999))
    return value


SHORT_LOCAL = ["N## ####", "N##-####", "N## ## ##", "N###-####"]


def local_phone(rng: random.Random) -> str:
    """A 7-8 digit local number: a phone only when a keyword says so."""
    return _fill(rng, rng.choice(SHORT_LOCAL))


# (prefixes, lengths): the networks' published IIN ranges.
CARD_NETWORKS: list[tuple[list[str], list[int]]] = [
    (["4"], [13, 16, 19]),  # Visa
    ([str(p) for p in range(51, 56)] + ["2221", "2500", "2720"], [16]),  # Mastercard
    (["34", "37"], [15]),  # American Express
    (["6011", "644", "65"], [16, 19]),  # Discover
    (["300", "305", "36", "38"], [14]),  # Diners Club
    (["3528", "3566", "3589"], [16, 19]),  # JCB
    (["1800", "2131"], [15]),  # JCB (15 digits)
    (["5018", "5020", "5038", "5893", "6304", "6759", "6761", "6763", "0604", "56", "58"],
     [12, 13, 15, 16, 19]),  # Maestro
    (["62"], [16, 17, 18, 19]),  # UnionPay
    (["1"], [15]),  # UATP
    (["2200", "2204"], [16]),  # Mir
    (["60", "6521", "81"], [16]),  # RuPay
    (["9792"], [16]),  # Troy
]  # fmt: skip


def card(rng: random.Random) -> str:
    prefixes, lengths = rng.choice(CARD_NETWORKS)
    prefix, length = rng.choice(prefixes), rng.choice(lengths)
    digits = luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))
    style = rng.random()
    if style < 0.45:
        return digits
    separator = " " if style < 0.8 else "-"
    if length == 14 or (length == 15 and digits[:2] in ("34", "37")):
        groups = [digits[:4], digits[4:10], digits[10:]]
    else:
        groups = [digits[i : i + 4] for i in range(0, length, 4)]
        if len(groups[-1]) < 3:  # 13 digits are 4-4-5, 18 are 4-4-4-6
            groups[-2:] = [groups[-2] + groups[-1]]
    return separator.join(groups)


IBAN_COUNTRIES = {
    "DE": "##################", "GB": "AAAA##############", "FR": "##########AAAAAAAAAAA##",
    "NL": "AAAA##########", "ES": "####################", "IT": "A######################",
    "BE": "############", "CH": "#################", "PL": "########################",
    "AT": "################", "IE": "AAAA##############", "NO": "###########",
}  # fmt: skip


def iban(rng: random.Random) -> str:
    country, shape = rng.choice(sorted(IBAN_COUNTRIES.items()))
    bban = "".join(
        rng.choice(string.digits) if c == "#" else rng.choice(string.ascii_uppercase) for c in shape
    )
    value = iban_complete(country, bban)
    if rng.random() < 0.5:
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    value = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    return value.replace("-", " ") if rng.random() < 0.15 else value


def ip(rng: random.Random) -> str:
    if rng.random() < 0.75:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return "2001:db8::" + ":".join(groups[:3])
    return ":".join(groups)


KIND_VALUES: dict[str, Callable[[random.Random], str]] = {
    "email": email,
    "phone": phone,
    "card": card,
    "iban": iban,
    "ssn": ssn,
    "ip": ip,
}

# -- templates ------------------------------------------------------------------------------

TEMPLATES: dict[str, list[str]] = {
    "email": [
        "Hi, please send the receipt to {v} instead of my work address.",
        "My email is {v}",
        "Email: {v}\nName: {name}",
        "I changed my login to {v} but still get mails at the old one.",
        "can you cc {v} on the ticket?",
        "Contact ({v}) has not received the invite.",
        "The invoice went to <{v}>, which is wrong.",
        "Reply-To: {v}",
    ],
    "phone": [
        "You can reach me at {v} after 5pm.",
        "Phone: {v}",
        "Phone:\n{v}",
        "My number is {v}, call anytime.",
        "Please call me back on {v} about the refund.",
        "Mobile {v} / office hours only",
        "Contact details\nName: {name}\nTel.: {v}\nEmail preferred",
        "If it is urgent, {v} is my direct line.",
        "I tried {v} twice and nobody answered.",
        "Text me at {v} when the order ships.",
        "The number on file ({v}) is outdated.",
        "WhatsApp: {v}",
        "Best number to reach me:\n{v}\nThanks!",
    ],
    "local_phone": [
        "Phone: {v}",
        "Phone:\n{v}",
        "call me on {v}",
        "Tel {v} (home)",
        "My mobile number:\n{v}",
        "Cell: {v}, evenings only",
    ],
    "card": [
        "My card {v} was charged twice.",
        "Card number: {v}\nExpiry: 0{m}/2{y}",
        "I paid with {v} yesterday and it shows as pending.",
        "please update the card on file to {v}",
        "The payment with card ending in {v} failed.",
        "cc: {v} exp {m}/{y} cvv {cvv}",
        "Refund to {v}, please.",
        "Here it is:\n{v}",
    ],
    "iban": [
        "Please refund to my IBAN {v}.",
        "IBAN: {v}\nBIC: DEUTDEFF",
        "Bank account {v} (name: {name})",
        "I sent the transfer from {v} on Monday.",
    ],
    "ssn": [
        "My SSN is {v} if you need it for the tax form.",
        "SSN: {v}",
        "social security number {v}",
        "For verification: {v} (social security).",
    ],
    "ip": [
        "Login attempts came from {v} last night.",
        "Our server is at {v}, can you whitelist it?",
        "IP: {v}",
        "The webhook fails when sent to {v}.",
    ],
}

FILLERS = [
    "Thanks!", "Hello,", "Hi team,", "Order #48213 is related.", "I'm on the Business plan.",
    "This started on 2024-03-14.", "Version 3.2.1 of the app.", "It costs $49.99 a month.",
    "Best regards", "Urgent please.", "", "", "",
]  # fmt: skip
NAMES = ["Anna Smith", "J. Garcia", "Priya N.", "Tom Muller", "Sofia Rossi"]


def pii_case(rng: random.Random) -> dict[str, object]:
    """One support text holding one to three values."""
    gold: list[dict[str, str]] = []
    parts: list[str] = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.choice([*KIND_VALUES, "phone", "phone", "card", "local_phone"])
        value = local_phone(rng) if kind == "local_phone" else KIND_VALUES[kind](rng)
        template = rng.choice(TEMPLATES[kind])
        if kind == "card" and "ending in" in template and rng.random() < 0.5:
            template = rng.choice(TEMPLATES["card"][:4])
        parts.append(
            template.format(
                v=value,
                name=rng.choice(NAMES),
                m=rng.randint(1, 9),
                y=rng.randint(5, 9),
                cvv=_digits(rng, 3),
            )
        )
        gold.append({"kind": "phone" if kind == "local_phone" else kind, "value": value})
    filler = rng.choice(FILLERS)
    if filler:
        parts.insert(rng.randint(0, len(parts)), filler)
    return {"text": rng.choice([" ", "\n", "\n\n"]).join(parts), "pii": gold}


# -- benign texts -----------------------------------------------------------------------------

MONTHS = ["January", "March", "June", "September", "December"]


def _benign_values(rng: random.Random) -> list[str]:
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(2015, 2027)
    hh, mm, ss = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return [
        f"Order #{rng.randint(10000, 99999999)} has not arrived yet.",
        f"My order number is {rng.randint(1000000, 9999999999)}.",
        f"Order ID: {rng.choice(['ORD', 'SO', 'A'])}-{y}-{rng.randint(1, 999999):06d}",
        f"Invoice INV-{y}-{rng.randint(1, 99999):05d} shows the wrong VAT.",
        f"Invoice no. {rng.randint(100000, 999999999)} from {MONTHS[m % 5]} {d}, {y}",
        f"Ticket #{rng.randint(1000, 999999)} was closed without an answer.",
        f"See case {rng.choice(['SUP', 'CS', 'HELP'])}-{rng.randint(100, 99999)}.",
        f"I'm on version {rng.randint(1, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 200)}",
        f"The app (build {rng.randint(1, 12)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}."
        f"{rng.randint(1000, 99999)}) crashes on start.",
        f"Upgrade from v{rng.randint(1, 9)}.{rng.randint(0, 9)} to v{rng.randint(10, 12)}.0",
        f"It happened on {y}-{m:02d}-{d:02d} at {hh:02d}:{mm:02d}.",
        f"Charged on {d:02d}/{m:02d}/{y} and again on {m:02d}/{d:02d}/{y}.",
        f"Since {d}.{m}.{y} the sync is broken.",
        f"Timestamp {y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z in the log.",
        f"log line: {y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}.{rng.randint(100, 999)} ERROR",
        f"Unix time {rng.randint(1_500_000_000, 1_900_000_000)} in the export.",
        f"I was charged ${rng.randint(1, 9)},{rng.randint(100, 999)}.{rng.randint(10, 99)} "
        "instead of the quoted price.",
        f"The total was {rng.randint(10, 999)},{rng.randint(10, 99)} € including VAT.",
        f"We paid EUR {rng.randint(1, 99)}.{rng.randint(100, 999)},{rng.randint(10, 99)} "
        "last year.",
        f"Our limit is {rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)} "
        "API calls per month.",
        f"We have {rng.randint(1, 9)},{rng.randint(100, 999)},{rng.randint(100, 999)} rows.",
        f"Tracking number 1Z{rng.randint(100, 999)}AA1{rng.randint(10**9, 10**10 - 1)} "
        "shows no movement.",
        f"USPS tracking: 9400 1{_digits(rng, 3)} {_digits(rng, 4)} {_digits(rng, 4)} "
        f"{_digits(rng, 4)} {_digits(rng, 2)}",
        f"FedEx {rng.choice('789')}{_digits(rng, 11)} was delivered to the wrong door.",
        f"The server listens on port {rng.randint(1024, 65535)}.",
        f"Connect to localhost:{rng.randint(1024, 65535)} and retry.",
        f"Commit {''.join(rng.choice('0123456789abcdef') for _ in range(7))} broke the export.",
        f"sha256: {''.join(rng.choice('0123456789abcdef') for _ in range(64))}",
        f"Request id {''.join(rng.choice('0123456789abcdef') for _ in range(8))}-"
        f"{''.join(rng.choice('0123456789abcdef') for _ in range(4))}-4"
        f"{''.join(rng.choice('0123456789abcdef') for _ in range(3))}-a"
        f"{''.join(rng.choice('0123456789abcdef') for _ in range(3))}-"
        f"{''.join(rng.choice('0123456789abcdef') for _ in range(12))}",
        f"Error code 0x{rng.randint(0, 0xFFFFFFFF):08X} when exporting.",
        f"The report covers {rng.randint(2, 28)} {MONTHS[m % 5]} to {d} {MONTHS[(m + 1) % 5]}.",
        f"We are {rng.randint(2, 500)} seats on the Team plan, {rng.randint(2, 99)}% used.",
        f"Page {rng.randint(1, 40)} of {rng.randint(40, 99)}, item {rng.randint(1, 9)}.",
        f"ISBN 978-{rng.randint(0, 9)}-{rng.randint(10, 99)}-{_digits(rng, 6)}-{rng.randint(0, 9)}",
        f"Part number {rng.randint(100, 999)}-{rng.randint(1000, 9999)}-{rng.randint(10, 99)} "
        "is out of stock.",
        f"Between {hh:02d}:{mm:02d} and {(hh + 2) % 24:02d}:{mm:02d} CET the page was down.",
        f"Room {rng.randint(100, 999)}, building {rng.randint(1, 9)}, floor {rng.randint(1, 9)}.",
        f"Model SM-G{rng.randint(900, 999)}F, Android {rng.randint(10, 14)}.",
        f"Screen {rng.choice(['1920x1080', '2560x1440', '3840x2160'])} at "
        f"{rng.choice([60, 120, 144])} Hz",
        f"Postcode {rng.randint(10000, 99999)}, {rng.randint(1, 200)} Main Street",
        f"Reference {y}{m:02d}{d:02d}-{rng.randint(1, 9999):04d}",
        f"Coordinates {rng.uniform(-80, 80):.4f}, {rng.uniform(-170, 170):.4f}",
        f"I uploaded {rng.randint(2, 900)} files ({rng.randint(1, 999)}.{rng.randint(1, 9)} MB).",
        f"Between {y - 1} and {y} we filed {rng.randint(2, 90)} requests.",
        f"Score {rng.randint(1, 9)}/10, would recommend. Plan #{rng.randint(1, 9)}.",
        f"Batch {y}-{m:02d} / lot {rng.randint(100, 999)}-{rng.randint(10, 99)}",
        f"Account id {rng.randint(100000, 9999999)} on workspace {rng.randint(10, 9999)}",
        f"Serial {''.join(rng.choice(string.ascii_uppercase) for _ in range(3))}"
        f"{rng.randint(100000, 999999)}",
    ]


def benign_case(rng: random.Random) -> dict[str, object]:
    values = _benign_values(rng)
    lines = rng.sample(values, rng.choice([1, 1, 2, 3]))
    return {"text": rng.choice([" ", "\n"]).join(lines), "pii": []}


def write(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


SPLITS = {"dev": 19, "heldout": 1919}


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split, seed in SPLITS.items():
        rng = random.Random(seed)
        write(folder / f"pii_{split}.jsonl", [pii_case(rng) for _ in range(1500)])
        write(folder / f"benign_{split}.jsonl", [benign_case(rng) for _ in range(1500)])


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "plugins/filters/tests/data"))
