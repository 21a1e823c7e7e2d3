"""Hook implementations: the entry point ``filters`` in group ``supportai``.

Importing this module stays cheap: guardrails-ai is imported by the
``guardrails`` factory only, and only when ``SUPPORTAI_OUTPUT_FILTERS`` names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from supportai.errors import ConfigurationError
from supportai.hookspecs import Register, hookimpl
from supportai_filters.pii import redact
from supportai_filters.pii_filter import PiiFilter
from supportai_filters.settings import GuardrailsSettings, PiiSettings

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

    from supportai.plugins import ProviderContext
    from supportai_filters.guardrails_filter import GuardrailsFilter


def build_pii_filter(context: ProviderContext) -> PiiFilter:
    return PiiFilter(context.plugin_settings(PiiSettings))


def build_guardrails_filter(context: ProviderContext) -> GuardrailsFilter:
    # The lazy import: guardrails-ai loads here, at start-up of an app that uses it.
    try:
        from supportai_filters.guardrails_filter import GuardrailsFilter
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("guardrails"):
            raise
        raise ConfigurationError(
            "the guardrails output filter needs guardrails-ai: "
            'pip install "supportai-filters[guardrails]"'
        ) from exc

    return GuardrailsFilter(context.plugin_settings(GuardrailsSettings))


class FiltersPlugin:
    """The ``pii`` and ``guardrails`` output filters and the ``supportai_redact`` hook."""

    @hookimpl
    def supportai_settings_models(self) -> Sequence[type[BaseSettings]]:
        return [PiiSettings, GuardrailsSettings]

    @hookimpl
    def supportai_register_output_filters(self, register: Register) -> None:
        register("pii", build_pii_filter)
        register("guardrails", build_guardrails_filter)

    @hookimpl
    def supportai_redact(self, tenant_id: str, text: str) -> str:
        """Training candidates: every kind is redacted, whatever the filter settings.

        What is kept for review or training should hold less personal data than
        what a user was shown, never more.
        """
        return redact(text)


plugin = FiltersPlugin()
