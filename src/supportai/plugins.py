"""The plugin manager: one per app, loading entry points of group ``supportai``.

Why one per app and never a module global: two apps in one process (two
tenants' configurations, or every test) must not see each other's plugins.

Loading rules (``docs/plugins.md``):

* entry points are loaded sorted by name, so start-up is reproducible;
* ``SUPPORTAI_PLUGINS`` is an allow-list, ``SUPPORTAI_DISABLE_PLUGINS`` a block-list;
* a plugin that fails to import fails start-up with its name in the message;
* ``check_pending()`` rejects hook implementations that match no hook (typos).

Core calls hooks through :class:`~supportai.hookcalls.Hooks`, a typed async
facade over pluggy (one method per hook); this module re-exports it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pluggy
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from supportai import hookspecs
from supportai.caller import DefaultCallerResolver
from supportai.defaults import CoreDefaults
from supportai.errors import ConfigurationError
from supportai.hookcalls import HookResultError, Hooks, PluginRegistrationError
from supportai.settings import Settings
from supportai.store.database import Database

if sys.version_info >= (3, 12):
    from importlib.metadata import EntryPoint, entry_points
else:  # importlib-metadata backports the 3.12 selection API
    from importlib_metadata import EntryPoint, entry_points

log = logging.getLogger("supportai.plugins")

ENTRY_POINT_GROUP = "supportai"

T = TypeVar("T")

__all__ = [
    "ENTRY_POINT_GROUP",
    "HookResultError",
    "Hooks",
    "PluginManager",
    "PluginRegistrationError",
    "ProviderContext",
    "Registry",
    "create_plugin_manager",
]


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus the distribution each entry-point plugin came from.

    Registration also rejects what :class:`Hooks` cannot call correctly, so a plugin
    fails at start-up with its name instead of misbehaving on a request.
    """

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.distributions: dict[str, tuple[str, str]] = {}

    def register(self, plugin: object, name: str | None = None) -> str | None:
        try:
            registered = super().register(plugin, name)
        except pluggy.PluginValidationError as exc:
            # e.g. an ``async def`` marked wrapper=True: pluggy needs a generator.
            raise PluginRegistrationError(f"supportai plugin {exc.plugin!r}: {exc}") from exc
        for caller in self.get_hookcallers(plugin) or ():
            if hookspecs.KINDS.get(caller.name, "registration") == "registration":
                continue  # pluggy calls these itself and handles both wrapper styles
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and impl.hookwrapper:
                    self.unregister(plugin)
                    raise PluginRegistrationError(
                        f"supportai plugin {impl.plugin_name!r}: {caller.name} is marked "
                        "hookwrapper=True, which supportai does not support on hooks it awaits; "
                        "use @hookimpl(wrapper=True): a generator whose `result = yield` is the "
                        "hook's result and whose return value replaces it (docs/hooks.md)"
                    )
        return registered


def create_plugin_manager(
    settings: Settings, extra_plugins: Iterable[object] = (), *, load_entry_points: bool = True
) -> PluginManager:
    """Build a fresh manager: hookspecs, built-in defaults, entry points, extras."""
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    # Built-in defaults are ordinary trylast plugins, so any plugin can replace them.
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
    for model in hooks.settings_models():
        overrides = settings.plugin_options.get(settings_key(model), {})
        try:
            loaded[model] = model(**overrides)
        except ValidationError as exc:
            prefix = model.model_config.get("env_prefix", "")
            fields = ", ".join(
                f"{prefix}{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
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
