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
from supportai.pipeline.running import running_turns
from supportai.plugins import (
    Hooks,
    PluginManager,
    ProviderContext,
    Registry,
    create_plugin_manager,
    load_plugin_settings,
)
from supportai.quota.base import QuotaStore
from supportai.quota.settlement import HealReport, Settlements
from supportai.resume.log import EventLog, SqlEventLog
from supportai.resume.recorder import LiveTurns
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
    settlements: Settlements = field(init=False)
    #: The shared turn event log (None when ``turn_events_ttl_s`` is 0) and this
    #: worker's running turns, for streams that resume (decision 0011).
    event_log: EventLog | None = field(init=False)
    live_turns: LiveTurns = field(init=False, default_factory=LiveTurns)

    def __post_init__(self) -> None:
        self.settlements = Settlements(self.database, self.quota)
        self.event_log = self._event_log()

    def _event_log(self) -> EventLog | None:
        """The quota store's log when it offers one (Redis: shared by every worker
        already), else the app's database."""
        ttl = self.settings.turn_events_ttl_s
        if ttl == 0:
            return None
        own = getattr(self.quota, "event_log", None)
        if callable(own):
            found: EventLog = own(ttl)
            return found
        return SqlEventLog(self.database, ttl)

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
        hooks.context = context
        context._plugin_settings = load_plugin_settings(hooks, settings)

        registries = {
            kind: Registry(kind)
            for kind in ("LLM backend", "classifier", "output filter", "quota store")
        }
        hooks.register_llm_backends(registries["LLM backend"].register)
        hooks.register_classifiers(registries["classifier"].register)
        hooks.register_output_filters(registries["output filter"].register)
        hooks.register_quota_stores(registries["quota store"].register)
        tools: dict[str, Tool] = {}

        def register_tool(tool: Tool) -> None:
            if tool.name in tools:
                raise ConfigurationError(f"two plugins register the tool {tool.name!r}")
            tools[tool.name] = tool

        hooks.register_tools(register_tool)
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
        """Heal the quota in the background, at most every 30 s (:meth:`heal_quota`).

        Runs in the background so that no turn waits for it; any worker may do it
        (every step is idempotent per reservation).
        """
        if now - self._last_sweep < SWEEP_INTERVAL_S or (
            self._sweeper is not None and not self._sweeper.done()
        ):
            return
        self._last_sweep = now

        async def sweep() -> None:
            try:
                report = await self.settlements.heal(now)
            except Exception:
                log.exception("healing the quota (outbox, expired holds) failed")
            else:
                if report.applied or report.charged:
                    log.warning(
                        "quota sweep: %d queued settlement(s) applied, %d expired hold(s) "
                        "charged in full",
                        report.applied,
                        report.charged,
                    )
            await self._purge_turn_events(now)

        self._sweeper = asyncio.create_task(sweep())

    async def _purge_turn_events(self, now: float) -> None:
        """The turn event log's cleanup, with the quota sweep: events older than
        ``turn_events_ttl_s`` go (a Redis log expires by itself)."""
        if self.event_log is None:
            return
        try:
            await self.event_log.purge(now)
        except Exception:
            log.warning("purging expired turn events failed", exc_info=True)

    async def heal_quota(self, now: float, wait_s: float = 10.0) -> HealReport:
        """Bring store and ledger together now: what the sweep does, without waiting.

        Waits (at most ``wait_s``) for this process's spend still being retried,
        applies every queued settlement, and charges in full every hold whose
        lease ended before ``now``. ``supportai quota reconcile`` and tests use it.
        """
        await self.start()
        await self.settlements.drain(wait_s)
        return await self.settlements.heal(now, outbox_grace_s=0.0)

    async def sweep_finished(self) -> None:
        """Wait for a background sweep still running (its failures are logged there).

        Shutdown waits so the sweep never meets a closed database; tests that count
        a request's statements wait so the sweep's own are not counted with them.
        """
        if self._sweeper is not None:
            with contextlib.suppress(Exception):
                await self._sweeper

    async def stop(self, grace_s: float = 10.0) -> None:
        """Let turns still being saved finish (bounded), then close providers and the DB."""
        pending = [task for task in running_turns() if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        await self.sweep_finished()
        # Spend still being retried: a last chance, then the leases take over.
        await self.settlements.close(min(grace_s, 5.0))
        for provider in (self.backend, self.quota, *self.classifiers, *self.filters):
            closer: Any = getattr(provider, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        await self.database.disconnect()
        self._started = False
