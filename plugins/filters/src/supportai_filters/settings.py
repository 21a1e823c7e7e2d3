"""Settings of the two filters, read from ``SUPPORTAI_PII_*`` and ``SUPPORTAI_GUARDRAILS_*``.

They are declared through ``supportai_settings_models()`` so that core validates
them at start-up (a typo in a kind fails the app, not the first answer) and
shows them in ``supportai plugins``. Lists are given as JSON in the
environment: ``SUPPORTAI_PII_KINDS='["email", "card"]'``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from supportai_filters.pii import KINDS, MAX_MATCH_CHARS

DEFAULT_BLOCK_MESSAGE = "I can't share that. Please ask for a human if you need more help."


def _known_kinds(kinds: list[str]) -> list[str]:
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown kinds {unknown}; known kinds are {list(KINDS)}")
    return kinds


Kinds = Annotated[list[str], AfterValidator(_known_kinds)]


class PiiSettings(BaseSettings):
    """The ``pii`` output filter."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_PII_", extra="ignore")

    kinds: Kinds = Field(
        default_factory=lambda: list(KINDS),
        description="What to redact: any of " + ", ".join(KINDS) + ".",
    )
    holdback: int = Field(
        default=MAX_MATCH_CHARS,
        ge=32,
        le=4096,
        description="Characters held back while streaming: the longest value seen whole.",
    )
    step: int = Field(
        default=32,
        ge=1,
        le=4096,
        description="Characters gathered beyond the holdback before the next scan "
        "(smaller: smoother streaming; larger: less re-scanning).",
    )
    keep_grounded: bool = Field(
        default=True,
        description="Leave a value alone when it appears verbatim in the documents "
        "retrieved for the turn (the help center's own support address).",
    )
    public_values: list[str] = Field(
        default_factory=list,
        description="Values never redacted: the host's public contact details "
        "(support e-mail, phone numbers). Compared ignoring case and separators.",
    )


class GuardrailsSettings(BaseSettings):
    """The ``guardrails`` output filter (guardrails-ai, run locally, telemetry off)."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_GUARDRAILS_", extra="ignore")

    pii: bool = Field(default=True, description="Redact personal data and secrets.")
    pii_kinds: Kinds = Field(default_factory=lambda: list(KINDS))
    pii_keep_grounded: bool = Field(
        default=True, description="As SUPPORTAI_PII_KEEP_GROUNDED, for this filter."
    )
    pii_public_values: list[str] = Field(
        default_factory=list, description="As SUPPORTAI_PII_PUBLIC_VALUES, for this filter."
    )
    prompt_leak: bool = Field(
        default=True, description="Block answers that reproduce the system prompt."
    )
    prompt_leak_words: int = Field(
        default=10,
        ge=4,
        le=200,
        description="Block when this many consecutive words of the system prompt appear.",
    )
    banned_terms: list[str] = Field(
        default_factory=list,
        description="Words or phrases (competitors, code names) the answer must not contain.",
    )
    banned_terms_action: Literal["block", "redact"] = "block"
    banned_terms_replacement: str = "[removed]"
    guard_factory: str | None = Field(
        default=None,
        description="'module:attr' naming a callable that returns a new guardrails Guard or "
        "AsyncGuard; it is called once per answer and runs after the built-in validators.",
    )
    max_sentence_chars: int = Field(
        default=400, ge=40, le=10_000, description="Force a check after this many characters."
    )
    block_message: str = DEFAULT_BLOCK_MESSAGE
