"""The plugin manager: one per app, loading entry points of group ``supportai``.

Why one per app and never a module global: two apps in one process (two
tenants' configurations, or every test) must not see each other's plugins.

Loading rules (``docs/plugins.md``):

* entry points are loaded sorted by name, so start-up is reproducible;
* ``SUPPORTAI_PLUGINS`` is an allow-list, ``SUPPORTAI_DISABLE_PLUGINS`` a block-list;
* a plugin that fails to import fails start-up with its name in the message;
* ``check_pending()`` rejects hook implementations that match no hook (typos).

Core calls hooks through :class:`Hooks`, a small async facade over pluggy.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pluggy
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from supportai import hookspecs
from supportai.errors import ConfigurationError
from supportai.settings import Settings
from supportai.store.database import Database

if sys.version_info >= (3, 12):
    from importlib.metadata import EntryPoint, entry_points
else:  # importlib-metadata backports the 3.12 selection API
    from importlib_metadata import EntryPoint, entry_points

log = logging.getLogger("supportai.plugins")

ENTRY_POINT_GROUP = "supportai"

T = TypeVar("T")


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus the distribution each entry-point plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.distributions: dict[str, tuple[str, str]] = {}


def create_plugin_manager(
    settings: Settings, extra_plugins: Iterable[object] = (), *, load_entry_points: bool = True
) -> PluginManager:
    """Build a fresh manager: hookspecs, built-in defaults, entry points, extras."""
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    # Built-in defaults are ordinary trylast plugins, so any plugin can replace them.
    from supportai.caller import DefaultCallerResolver
    from supportai.defaults import CoreDefaults

    pm.register(DefaultCallerResolver(), name="supportai.caller")
    pm.register(CoreDefaults(settings), name="supportai.defaults")
    if load_entry_points:
        for entry_point in _selected_entry_points(settings):
            try:
                plugin = entry_point.load()
            except Exception as exc:
                raise ConfigurationError(
                    f"supportai plugin {entry_point.name!r} ({entry_point.value}) failed to "
                    f"load: {type(exc).__name__}: {exc}"
                ) from exc
            pm.register(plugin, name=entry_point.name)
            if entry_point.dist is not None:
                pm.distributions[entry_point.name] = (
                    entry_point.dist.name,
                    entry_point.dist.version,
                )
    for plugin in extra_plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigurationError(f"supportai plugin {exc.plugin!r}: {exc}") from exc
    return pm


def _selected_entry_points(settings: Settings) -> list[EntryPoint]:
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    names = {ep.name for ep in found}
    if settings.plugins is not None:
        missing = sorted(set(settings.plugins) - names)
        if missing:
            raise ConfigurationError(
                f"SUPPORTAI_PLUGINS names plugins that are not installed: {', '.join(missing)}"
            )
    allowed = set(settings.plugins) if settings.plugins is not None else names
    blocked = set(settings.disable_plugins)
    # Two distributions may expose the same entry point when one is installed
    # twice (e.g. editable and regular); load each name once.
    unique: dict[str, EntryPoint] = {}
    for ep in found:
        if ep.name in allowed and ep.name not in blocked:
            unique.setdefault(ep.name, ep)
    return list(unique.values())


def plugin_info(pm: PluginManager) -> list[dict[str, Any]]:
    """Name, distribution version and hooks of every registered plugin (for the CLI)."""
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: str(item[0])):
        if plugin is None:
            continue
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
        distribution, version = pm.distributions.get(name, (None, None))
        rows.append(
            {"name": name, "distribution": distribution, "version": version, "hooks": hooks}
        )
    return rows


class Hooks:
    """Typed async facade over pluggy hooks.

    pluggy is synchronous: calling an ``async def`` implementation returns a
    coroutine, and ``firstresult`` would take that coroutine as *the* answer. So
    this facade walks the implementations itself, in pluggy's call order, and
    awaits each result before deciding.
    """

    def __init__(self, pm: PluginManager) -> None:
        self.pm = pm
        #: The app's provider context, handed to observers as ``context``.
        self.context: ProviderContext | None = None

    def _impls(self, name: str) -> list[Any]:
        caller = getattr(self.pm.hook, name)
        # get_hookimpls() is in registration order with trylast first and
        # tryfirst last; pluggy calls them last-to-first.
        return list(reversed(caller.get_hookimpls()))

    async def _call(self, impl: Any, kwargs: Mapping[str, Any]) -> Any:
        result = impl.function(*(kwargs[arg] for arg in impl.argnames))
        if inspect.isawaitable(result):
            result = await result
        return result

    async def first(self, name: str, **kwargs: Any) -> Any:
        """The first non-``None`` result, or ``None``."""
        for impl in self._impls(name):
            result = await self._call(impl, kwargs)
            if result is not None:
                return result
        return None

    async def collect(self, name: str, **kwargs: Any) -> list[Any]:
        """Every non-``None`` result, in call order."""
        results = []
        for impl in self._impls(name):
            result = await self._call(impl, kwargs)
            if result is not None:
                results.append(result)
        return results

    async def notify(self, name: str, **kwargs: Any) -> None:
        """Call every observer; log and swallow their errors."""
        kwargs.setdefault("context", self.context)
        for impl in self._impls(name):
            try:
                await self._call(impl, kwargs)
            except Exception:
                log.exception("observer %s of plugin %s failed", name, impl.plugin_name)

    def has_impls(self, name: str) -> bool:
        return bool(self._impls(name))

    def call_sync(self, name: str, **kwargs: Any) -> list[Any]:
        """For registration hooks, which are synchronous by contract."""
        results: list[Any] = getattr(self.pm.hook, name)(**kwargs)
        return results


@dataclass
class ProviderContext:
    """What a provider factory receives: settings, plugin settings and the hooks."""

    settings: Settings
    hooks: Hooks
    database: Database
    _plugin_settings: dict[type[BaseSettings], BaseSettings] = field(default_factory=dict)
    #: Per-app state of plugins, by a key of the plugin's own (its distribution
    #: name): what a module-level plugin must not keep globally (e.g. a metrics
    #: registry), since one plugin module serves every app of the process.
    state: dict[str, Any] = field(default_factory=dict)

    def plugin_settings(self, model: type[T]) -> T:
        """The validated settings instance of a plugin's settings model."""
        try:
            value = self._plugin_settings[model]  # type: ignore[index]
        except KeyError as exc:
            raise ConfigurationError(
                f"{model.__name__} is not declared by supportai_settings_models()"
            ) from exc
        return value  # type: ignore[return-value]


def settings_key(model: type[BaseSettings]) -> str:
    """``SUPPORTAI_OPENAI_`` -> ``openai``: the key in ``Settings.plugin_options``."""
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    return prefix.removeprefix("SUPPORTAI_").strip("_").lower()


def load_plugin_settings(
    hooks: Hooks, settings: Settings
) -> dict[type[BaseSettings], BaseSettings]:
    """Instantiate and validate every plugin settings model (env + plugin_options)."""
    loaded: dict[type[BaseSettings], BaseSettings] = {}
    for models in hooks.call_sync("supportai_settings_models"):
        for model in models:
            overrides = settings.plugin_options.get(settings_key(model), {})
            try:
                loaded[model] = model(**overrides)
            except ValidationError as exc:
                prefix = model.model_config.get("env_prefix", "")
                fields = ", ".join(
                    f"{prefix}{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                    for e in exc.errors()
                )
                raise ConfigurationError(f"invalid plugin settings: {fields}") from exc
    return loaded


def redacted_settings(model: BaseSettings) -> dict[str, Any]:
    """Settings as JSON-safe values with every ``SecretStr`` shown as ``**********``."""
    return model.model_dump(mode="json")


class Registry:
    """Named provider factories of one kind (LLM backends, classifiers...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.factories: dict[str, Callable[[ProviderContext], Any]] = {}

    def register(self, name: str, factory: Callable[[ProviderContext], Any]) -> None:
        if name in self.factories:
            raise ConfigurationError(f"two plugins register the {self.kind} {name!r}")
        self.factories[name] = factory

    def build(self, name: str, context: ProviderContext, setting: str) -> Any:
        try:
            factory = self.factories[name]
        except KeyError as exc:
            known = ", ".join(sorted(self.factories)) or "none registered"
            raise ConfigurationError(
                f"{setting}={name!r} names no registered {self.kind} (available: {known})"
            ) from exc
        return factory(context)

    def build_many(self, names: Sequence[str], context: ProviderContext, setting: str) -> list[Any]:
        if len(set(names)) != len(names):
            raise ConfigurationError(f"{setting} lists a {self.kind} twice: {list(names)}")
        return [self.build(name, context, setting) for name in names]
