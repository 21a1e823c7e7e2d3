"""Settings of both classifiers, validated at start-up by supportai.

``SUPPORTAI_RULES_*`` configures the ``rules`` classifier (and the ``llm``
classifier's fallback); ``SUPPORTAI_LLM_CLASSIFIER_*`` the ``llm`` classifier.
List settings accept JSON (``["prompt_injection","jailbreak"]``) or a plain
comma-separated string (``prompt_injection,jailbreak``).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from supportai_classifiers.intents import DEFAULT_REFUSED_INTENTS, INTENTS


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class RulesSettings(BaseSettings):
    """``SUPPORTAI_RULES_*``: which intents are refused, and the host's own patterns."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_RULES_", extra="forbid")

    extra_patterns: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "Intent -> regular expressions matched on the normalised text (lower case, no "
            "accents, look-alikes folded; a space matches any run of non-word characters). "
            "A match decides the intent unless a built-in attack intent was found first. "
            "New intent names are allowed (e.g. legal_threat)."
        ),
    )
    # Declared after extra_patterns so its validator can see the custom intents.
    refused_intents: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REFUSED_INTENTS),
        description="Intents this classifier marks as refused.",
    )
    decode_payloads: bool = Field(
        default=True, description="Look inside base64/hex/rot13 payloads for attacks."
    )

    @field_validator("refused_intents", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("extra_patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        # Imported here: the catalogue module compiles every built-in rule on import.
        from supportai_classifiers.patterns import compile_pattern

        for intent, sources in value.items():
            for source in sources:
                try:
                    compile_pattern(source)
                except re.error as exc:
                    raise ValueError(f"pattern {source!r} for {intent!r}: {exc}") from exc
        return value

    @field_validator("refused_intents")
    @classmethod
    def _refused_intents_exist(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # A typo ("prompt-injection") would silently stop refusing attacks.
        known = set(INTENTS) | set(info.data.get("extra_patterns") or {})
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown intents {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        return value


class LLMClassifierSettings(BaseSettings):
    """``SUPPORTAI_LLM_CLASSIFIER_*``: the endpoint and model deciding intents.

    Nothing is contacted unless ``llm`` is listed in ``SUPPORTAI_CLASSIFIERS``.
    """

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_LLM_CLASSIFIER_", extra="forbid")

    base_url: str = Field(
        default="https://api.openai.com/v1",
        description="Any OpenAI-compatible /v1 endpoint (OpenAI, vLLM, Ollama, LiteLLM...).",
    )
    api_key: SecretStr | None = Field(
        default=None, description="Bearer token; local servers often need none."
    )
    model: str = Field(default="gpt-4o-mini", min_length=1)
    timeout_s: float = Field(
        default=4.0, gt=0, le=60, description="Whole-call deadline; past it, rules decide."
    )
    response_format: Literal["json_schema", "json_object"] = Field(
        default="json_schema",
        description="json_schema (strict structured output) or json_object for servers "
        "that only support JSON mode.",
    )
    max_input_chars: int = Field(
        default=4000, ge=100, description="Longer messages are cut before being sent."
    )
    temperature: float | None = Field(
        default=0.0,
        ge=0.0,
        le=2.0,
        description="Sampling temperature; None leaves it out (some reasoning models refuse it).",
    )
    token_limit_param: Literal["max_tokens", "max_completion_tokens"] = Field(
        default="max_tokens",
        description="Name of the output-length parameter: OpenAI's newer models want "
        "max_completion_tokens, most compatible servers max_tokens.",
    )
    refused_intents: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REFUSED_INTENTS)
    )

    @field_validator("refused_intents", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("temperature", mode="before")
    @classmethod
    def _no_temperature(cls, value: Any) -> Any:
        # An environment variable cannot hold None: accept "", "null" and "none".
        if isinstance(value, str) and value.strip().lower() in ("", "null", "none"):
            return None
        return value

    @field_validator("refused_intents")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(INTENTS))
        if unknown:
            raise ValueError(f"unknown intents {', '.join(unknown)}")
        return value


class InjectionModelSettings(BaseSettings):
    """``SUPPORTAI_INJECTION_MODEL_*``: thresholds of ``injection_model`` and ``rules_model``.

    Left unset, each threshold is the one shipped with the weights, chosen on the
    training dev split for at most 0.3% false refusals. Lower it to refuse more
    attacks at the cost of more false refusals; measure the trade on your own
    traffic with ``supportai eval classifier`` (docs/plugins/injection-model.md).
    """

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_INJECTION_MODEL_", extra="forbid")

    threshold: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="injection_model refuses at a score >= this (unset: the shipped value).",
    )
    combined_threshold: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="rules_model refuses when the rules refuse or the score is >= this "
        "(unset: the shipped value).",
    )
    check_history: bool = Field(
        default=True,
        description="Also score the message joined to the user's two previous ones, so an "
        "attack split across messages is refused on the message that completes it.",
    )
