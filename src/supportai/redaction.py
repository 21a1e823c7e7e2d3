"""Redaction of personal data before anything is kept for review or training.

The ``pii`` filter plugin provides the thorough redactor through the
``supportai_redact`` hook. Core keeps a conservative fallback so that, even with
no plugin installed, no e-mail address, number run, IP address or token reaches
the training-candidate table: it redacts more than it must, never less.
Host-marked sensitive terms (``supportai_sensitive_terms``) are removed on top
of whichever redactor ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportai.plugins import Hooks

_FALLBACK_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")),
    (
        "ip",
        re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"),
    ),
    (
        # IPv6 with a "::" gap: 2001:db8::1, fe80::1ff:fe23:4567:890a, ::1
        "ip",
        re.compile(
            r"(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?::"
            r"[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6}"
            r"|[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6}::)(?![\w:])"
        ),
    ),
    ("secret", re.compile(r"\b(?:sk|pk|rk|ghp|gho|xox[abp]|AKIA)[-_A-Za-z0-9]{12,}\b")),
    ("token", re.compile(r"\b[A-Za-z0-9_\-]{32,}\b")),
    ("number", re.compile(r"\+?\d[\d\s().-]{4,}\d")),
)


def builtin_redact(text: str) -> str:
    """Replace e-mails, IBAN-like strings, IPs, tokens and runs of 6+ digits."""
    for kind, pattern in _FALLBACK_PATTERNS:
        text = pattern.sub(f"[{kind}]", text)
    return text


def redact_terms(text: str, terms: Iterable[str]) -> str:
    """Remove host-marked terms, whole words only, case-insensitively."""
    words = sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words:
        return text
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    return pattern.sub("[name]", text)


async def redact(hooks: Hooks, tenant_id: str, text: str) -> str:
    """Full redaction: the ``supportai_redact`` hook, then the tenant's sensitive terms."""
    redacted = await hooks.redact(tenant_id, text)
    terms = await hooks.sensitive_terms(tenant_id)
    return redact_terms(redacted if redacted is not None else builtin_redact(text), terms)
