"""The plugin manager factory: a fresh manager per run, built-ins and third parties alike from entry points."""
from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping

import pluggy

from scanner import hookspecs
from scanner.errors import UsageError
from scanner.iam_reference import UnknownAction, iam_reference
from scanner.model import Check
from scanner.reporting import ReportFormat
from scanner.sanitizer import safe_text

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
        taken = manager.get_plugin(module_path)
        if taken is not None:
            raise UsageError(
                f"--plugin {module_path}: {module_path!r} is already the name of the loaded plugin "
                f"{getattr(taken, '__name__', type(taken).__name__)} (see `orgscan plugins`); "
                "name your plugin by its module path (mypackage.plugin) or file (./plugin.py)"
            )
        module = import_plugin(module_path)
        if manager.is_registered(module):
            continue
        try:
            manager.register(module, name=module_path)
        except ValueError:
            raise UsageError(f"--plugin {module_path}: its module {module.__name__} is already loaded under another name (see `orgscan plugins`)") from None
    known = {name for name, plugin in manager.list_name_plugin() if plugin is not None} | _entry_point_names() | set(plugins)
    for name in disabled:
        if name not in known:
            raise UsageError(f"--disable-plugin: no plugin named {name!r} (see `orgscan plugins`)")
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise UsageError(f"plugin {error.plugin!r} is invalid: {error}") from None
    _refuse_wrappers(manager)
    return manager


def _refuse_wrappers(manager: pluggy.PluginManager) -> None:
    """UsageError naming the plugin and hook for a wrapper implementation (``hookwrapper`` or ``wrapper=True``).

    orgscan calls each plugin's implementation on its own (so that one plugin's failure or bad
    answer is reported as that plugin's and never stops the others), and a wrapper only makes sense
    around the whole call: refused at load rather than silently never run.
    """
    for name in dir(manager.hook):
        if not name.startswith("orgscan_"):
            continue
        for impl in getattr(manager.hook, name).get_hookimpls():
            if impl.hookwrapper or getattr(impl, "wrapper", False):
                raise UsageError(
                    f"plugin {impl.plugin_name!r}: {name} is a wrapper (hookwrapper/wrapper=True), which orgscan does not "
                    "support: every implementation is called on its own; implement it as a plain hook"
                )


def call_implementation(impl: Any, **kwargs: Any) -> Any:
    """Call one hook implementation as pluggy does: with only the arguments it names (any subset of the spec's)."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


def _contributions(impl: Any, hook_name: str, returned: Any, expected: type) -> list[Any]:
    """``returned`` as a list of ``expected``; UsageError naming the plugin and hook for anything else."""
    if returned is None:
        return []
    if isinstance(returned, expected) or not isinstance(returned, (list, tuple)):
        raise UsageError(f"plugin {impl.plugin_name!r}: {hook_name} returned {type(returned).__name__}, "
                         f"not a list of {expected.__module__}.{expected.__name__}")
    for item in returned:
        if not isinstance(item, expected):
            raise UsageError(f"plugin {impl.plugin_name!r}: {hook_name} returned {safe_text(repr(item), 80)}, "
                             f"which is not a {expected.__module__}.{expected.__name__}")
    return list(returned)


def _is_file_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or os.sep in spec


def import_plugin(spec: str) -> ModuleType:
    """The plugin module ``spec`` names: a module path (``mypackage.plugin``), a ``.py`` file or a package directory.

    A module path is looked up on the Python path plus the current directory (a
    local plugin lives beside the user, as with ``python -m``). A failure is one
    UsageError line that says where orgscan looked.
    """
    if _is_file_path(spec):
        return _import_file(spec)
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as error:
        if error.name and spec.startswith(error.name):
            raise UsageError(
                f"--plugin {spec}: cannot import: no module {error.name!r} in the current directory ({os.getcwd()}) nor in the installed "
                f"packages of {sys.prefix}; give a file path (./plugin.py, path/to/package) or install the plugin"
            ) from None
        raise UsageError(f"--plugin {spec}: cannot import: {type(error).__name__}: {error}") from None
    except Exception as error:  # noqa: BLE001 - any import failure is the user's plugin's
        raise UsageError(f"--plugin {spec}: cannot import: {type(error).__name__}: {error}") from None


def _import_file(spec: str) -> ModuleType:
    """A plugin module loaded from a ``.py`` file or a package directory (with ``__init__.py``)."""
    import importlib.util

    path = Path(spec).expanduser().resolve()
    if path.is_dir():
        init = path / "__init__.py"
        if not init.is_file():
            raise UsageError(f"--plugin {spec}: {path} is a directory without __init__.py, not a Python package")
        name, location, search = path.name, init, [str(path)]
    elif path.is_file():
        name, location, search = path.stem, path, None
    else:
        raise UsageError(f"--plugin {spec}: cannot import: no such file or directory: {path}")
    if not name.isidentifier():
        raise UsageError(f"--plugin {spec}: {name!r} cannot be a Python module name")
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() == location:
            return loaded
        raise UsageError(f"--plugin {spec}: a different module named {name!r} is already imported ({getattr(loaded, '__file__', 'built-in')}); rename the file")
    module_spec = importlib.util.spec_from_file_location(name, location, submodule_search_locations=search)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"--plugin {spec}: {location} cannot be loaded as Python")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # before running it: the package's relative imports need it
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - any import failure is the user's plugin's
        del sys.modules[name]
        raise UsageError(f"--plugin {spec}: cannot import {location}: {type(error).__name__}: {error}") from None
    return module


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
        returned = call_implementation(impl, options=options)
        for item in _contributions(impl, "orgscan_register_checks", returned, Check):
            if item.id in checks:
                raise UsageError(f"check {item.id!r} is contributed by both {owners[item.id]!r} and {impl.plugin_name!r}")
            checks[item.id] = item
            owners[item.id] = impl.plugin_name
    for check_id, check in checks.items():
        validate_iam_actions(check, owners[check_id])
    return dict(sorted(checks.items()))


def validate_iam_actions(check: Check, plugin_name: str) -> None:
    """Raise UsageError unless every IAM action the check declares exists in AWS's IAM reference.

    A made-up name (``s3:ListBuckets``) would be refused by AWS, so the generated
    policy would not be what the check needs; the message names the true action
    when the reference knows it (``s3:ListAllMyBuckets``).
    """
    reference = iam_reference()
    for action in check.metadata.iam_actions:
        try:
            reference.check_declared(action)
        except UnknownAction as error:
            raise UsageError(f"check {check.id} (plugin {plugin_name!r}) declares {error}") from None


def collect_report_formats(manager: pluggy.PluginManager) -> dict[str, ReportFormat]:
    """Every report format by name."""
    formats: dict[str, ReportFormat] = {}
    for impl in reversed(manager.hook.orgscan_register_report_formats.get_hookimpls()):
        returned = call_implementation(impl)
        for item in _contributions(impl, "orgscan_register_report_formats", returned, ReportFormat):
            if item.name in formats:
                raise UsageError(f"report format {item.name!r} is contributed twice")
            formats[item.name] = item
    return formats


def notify(manager: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> None:
    """Call a notification hook; a plugin that raises is logged and never stops the scan."""
    hook = getattr(manager.hook, hook_name)
    for impl in hook.get_hookimpls():
        try:
            call_implementation(impl, **kwargs)
        except Exception as error:  # noqa: BLE001 - a notification must not break the scan
            log.warning("plugin %s failed in %s: %s: %s", impl.plugin_name, hook_name, type(error).__name__, error)
