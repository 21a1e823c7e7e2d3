"""Core's own hook implementations, all ``trylast`` so any plugin can override them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from supportai.hookspecs import Register, hookimpl
from supportai.redaction import builtin_redact

if TYPE_CHECKING:
    from supportai.caller import Caller
    from supportai.plugins import ProviderContext
    from supportai.settings import Settings


class CoreDefaults:
    """Defaults that read the app's :class:`~supportai.settings.Settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @hookimpl(trylast=True)
    def supportai_master_flag(self, tenant_id: str) -> bool:
        return self.settings.master_flag

    @hookimpl(trylast=True)
    def supportai_system_prompt(self, caller: Caller, conversation_id: int) -> str:
        return self.settings.system_prompt

    @hookimpl(trylast=True)
    def supportai_escalation_url(self, caller: Caller, conversation_id: int, reason: str) -> str:
        return self.settings.escalation_url_template.format(
            conversation_id=conversation_id, tenant_id=caller.tenant_id, reason=reason
        )

    @hookimpl(trylast=True)
    def supportai_redact(self, tenant_id: str, text: str) -> str:
        return builtin_redact(text)

    @hookimpl
    def supportai_sensitive_terms(self, tenant_id: str) -> list[str]:
        return list(self.settings.sensitive_terms)

    @hookimpl(trylast=True)
    def supportai_user_strings(self) -> dict[str, str]:
        """The host's settings, over the English defaults, under every plugin's texts."""
        return {"disclosure.text": self.settings.disclosure_text}

    @hookimpl(trylast=True)
    def supportai_register_quota_stores(self, register: Register) -> None:
        def sql_store(context: ProviderContext) -> object:
            from supportai.quota.sql import SQLQuotaStore

            return SQLQuotaStore(context.database, context.settings)

        register("sql", sql_store)
