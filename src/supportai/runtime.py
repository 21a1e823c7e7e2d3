"""Everything one app needs at request time, built once from settings and plugins.

Providers are built in :meth:`Runtime.build` (when ``create_app`` runs), so a
wrong provider name or invalid plugin setting fails the host's start-up, not a
user's first turn. Connecting and migrating happen in :meth:`Runtime.start`,
called by the app's lifespan or lazily by the first request (a mounted
sub-app's lifespan is not run by Starlette).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from supportai.classifiers import Classifier
from supportai.errors import ConfigurationError
from supportai.filters import OutputFilter
from supportai.llm import LLMBackend
from supportai.plugins import (
    Hooks,
    PluginManager,
    ProviderContext,
    Registry,
    create_plugin_manager,
    load_plugin_settings,
)
from supportai.quota.base import QuotaStore
from supportai.settings import Settings
from supportai.store.database import Database
from supportai.tools import Tool

log = logging.getLogger("supportai")

SWEEP_INTERVAL_S = 30.0


@dataclass
class Runtime:
    settings: Settings
    pm: PluginManager
    hooks: Hooks
    database: Database
    context: ProviderContext
    quota: QuotaStore
    backend: LLMBackend | None
    classifiers: list[Classifier]
    filters: list[OutputFilter]
    tools: dict[str, Tool]
    _started: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _last_sweep: float = 0.0
    _sweeper: asyncio.Task[None] | None = None

    @classmethod
    def build(
        cls, settings: Settings, plugins: Iterable[object] = (), *, load_entry_points: bool = True
    ) -> Runtime:
        pm = create_plugin_manager(settings, plugins, load_entry_points=load_entry_points)
        hooks = Hooks(pm)
        database = Database(
            settings.database_url,
            timeout_s=settings.storage_timeout_s,
            statement_timeout_s=settings.database_statement_timeout_s,
        )
        context = ProviderContext(settings=settings, hooks=hooks, database=database)
        context._plugin_settings = load_plugin_settings(hooks, settings)

        registries = {
            kind: Registry(kind)
            for kind in ("LLM backend", "classifier", "output filter", "quota store")
        }
        hooks.call_sync(
            "supportai_register_llm_backends", register=registries["LLM backend"].register
        )
        hooks.call_sync(
            "supportai_register_classifiers", register=registries["classifier"].register
        )
        hooks.call_sync(
            "supportai_register_output_filters", register=registries["output filter"].register
        )
        hooks.call_sync(
            "supportai_register_quota_stores", register=registries["quota store"].register
        )
        tools: dict[str, Tool] = {}

        def register_tool(tool: Tool) -> None:
            if tool.name in tools:
                raise ConfigurationError(f"two plugins register the tool {tool.name!r}")
            tools[tool.name] = tool

        hooks.call_sync("supportai_register_tools", register=register_tool)
        if settings.tools is not None:
            unknown = sorted(set(settings.tools) - set(tools))
            if unknown:
                raise ConfigurationError(
                    f"SUPPORTAI_TOOLS names unregistered tools: {', '.join(unknown)}"
                )
            tools = {name: tools[name] for name in settings.tools}

        backend = (
            registries["LLM backend"].build(settings.llm_backend, context, "SUPPORTAI_LLM_BACKEND")
            if settings.llm_backend
            else None
        )
        return cls(
            settings=settings,
            pm=pm,
            hooks=hooks,
            database=database,
            context=context,
            quota=registries["quota store"].build(
                settings.quota_store, context, "SUPPORTAI_QUOTA_STORE"
            ),
            backend=backend,
            classifiers=registries["classifier"].build_many(
                settings.classifiers, context, "SUPPORTAI_CLASSIFIERS"
            ),
            filters=registries["output filter"].build_many(
                settings.output_filters, context, "SUPPORTAI_OUTPUT_FILTERS"
            ),
            tools=tools,
        )

    async def start(self) -> None:
        """Connect (and migrate the embedded SQLite default). Safe to call repeatedly."""
        if self._started:
            return
        async with self._lock:
            if self._started:
                return
            await self.database.connect()
            if self.settings.should_auto_migrate:
                from supportai.store.migrations import upgrade

                await upgrade(self.database.url)
            self._started = True

    def sweep_expired_reservations(self, now: float) -> None:
        """Release reservations a crashed worker never settled, at most every 30 s.

        Runs in the background so that no turn waits for it; any worker may do it
        (the stores make the release idempotent).
        """
        if now - self._last_sweep < SWEEP_INTERVAL_S or (
            self._sweeper is not None and not self._sweeper.done()
        ):
            return
        self._last_sweep = now

        async def sweep() -> None:
            try:
                released = await self.quota.release_expired(now)
            except Exception:
                log.exception("releasing expired quota reservations failed")
            else:
                if released:
                    log.warning("released %d expired quota reservations", released)

        self._sweeper = asyncio.create_task(sweep())

    async def stop(self, grace_s: float = 10.0) -> None:
        """Let turns still being saved finish (bounded), then close providers and the DB."""
        from supportai.pipeline.turn import running_turns

        pending = [task for task in running_turns() if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        if self._sweeper is not None:
            with contextlib.suppress(Exception):
                await self._sweeper
        for provider in (self.backend, self.quota, *self.classifiers, *self.filters):
            closer: Any = getattr(provider, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        await self.database.disconnect()
        self._started = False
