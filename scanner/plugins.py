"""The plugin manager factory: a fresh manager per run, built-ins and third parties alike from entry points."""
from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any, Iterable, Mapping

import pluggy

from scanner import hookspecs
from scanner.errors import UsageError
from scanner.model import Check
from scanner.reporting import ReportFormat

ENTRY_POINT_GROUP = "orgscan"
log = logging.getLogger(__name__)


def build_plugin_manager(plugins: Iterable[str] = (), disabled: Iterable[str] = ()) -> pluggy.PluginManager:
    """A plugin manager with every ``orgscan`` entry point, plus ``--plugin`` modules, minus blocked names.

    Hook implementations without a spec are rejected (``check_pending``) so a
    misspelt hook fails loudly instead of silently doing nothing.
    """
    manager = pluggy.PluginManager("orgscan")
    manager.add_hookspecs(hookspecs)
    disabled = list(disabled)
    for name in disabled:
        manager.set_blocked(name)
    _load_entry_points(manager)
    for module_path in plugins:
        if manager.is_blocked(module_path):
            continue
        # A local plugin module lives beside the user, as with `python -m`.
        if os.getcwd() not in sys.path:
            sys.path.append(os.getcwd())
        try:
            module = importlib.import_module(module_path)
        except Exception as error:  # noqa: BLE001 - any import failure is the user's plugin's
            raise UsageError(f"--plugin {module_path}: cannot import: {type(error).__name__}: {error}") from None
        if manager.is_registered(module):
            continue
        try:
            manager.register(module, name=module_path)
        except ValueError as error:
            raise UsageError(f"--plugin {module_path}: {error}") from None
    known = {name for name, plugin in manager.list_name_plugin() if plugin is not None} | _entry_point_names() | set(plugins)
    for name in disabled:
        if name not in known:
            raise UsageError(f"--disable-plugin: no plugin named {name!r} (see `orgscan plugins`)")
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise UsageError(f"plugin {error.plugin!r} is invalid: {error}") from None
    return manager


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    """Like pluggy's loader, but a plugin that cannot be imported is one clear usage error."""
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if manager.get_plugin(entry_point.name) or manager.is_blocked(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:  # noqa: BLE001 - any import failure is the plugin's
            raise UsageError(
                f"plugin {entry_point.name!r} ({entry_point.value}) cannot be loaded: {type(error).__name__}: {error}; "
                f"block it with --disable-plugin {entry_point.name}"
            ) from None
        manager.register(plugin, name=entry_point.name)


def _entry_point_names() -> set[str]:
    from importlib.metadata import entry_points

    return {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}


def describe_plugins(manager: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Loaded plugins with their distribution and the hooks they implement (for ``orgscan plugins``)."""
    from importlib.metadata import entry_points

    distributions = {ep.name: ep.dist for ep in entry_points(group=ENTRY_POINT_GROUP)}
    described = []
    for name, plugin in sorted(manager.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        dist = distributions.get(name)
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        described.append(
            {
                "name": name,
                "module": getattr(plugin, "__name__", repr(plugin)),
                "distribution": dist.metadata["Name"] if dist else None,
                "version": dist.version if dist else None,
                "hooks": hooks,
            }
        )
    return described


def collect_checks(manager: pluggy.PluginManager, options: Mapping[str, Any]) -> dict[str, Check]:
    """Every contributed check by id; two plugins contributing one id is a usage error."""
    checks: dict[str, Check] = {}
    owners: dict[str, str] = {}
    for impl in reversed(manager.hook.orgscan_register_checks.get_hookimpls()):
        contributed = impl.function(options=options) or []
        for item in contributed:
            if not isinstance(item, Check):
                raise UsageError(f"plugin {impl.plugin_name!r} returned {item!r}, which is not a scanner.model.Check")
            if item.id in checks:
                raise UsageError(f"check {item.id!r} is contributed by both {owners[item.id]!r} and {impl.plugin_name!r}")
            checks[item.id] = item
            owners[item.id] = impl.plugin_name
    return dict(sorted(checks.items()))


def collect_report_formats(manager: pluggy.PluginManager) -> dict[str, ReportFormat]:
    """Every report format by name."""
    formats: dict[str, ReportFormat] = {}
    for contributed in manager.hook.orgscan_register_report_formats():
        for item in contributed or []:
            if item.name in formats:
                raise UsageError(f"report format {item.name!r} is contributed twice")
            formats[item.name] = item
    return formats


def notify(manager: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> None:
    """Call a notification hook; a plugin that raises is logged and never stops the scan."""
    hook = getattr(manager.hook, hook_name)
    for impl in hook.get_hookimpls():
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception as error:  # noqa: BLE001 - a notification must not break the scan
            log.warning("plugin %s failed in %s: %s: %s", impl.plugin_name, hook_name, type(error).__name__, error)
