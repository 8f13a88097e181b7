"""orgscan's hook specifications: the plugin author's reference.

Every hook is named ``orgscan_*``. Implement one in a module with
``from scanner import hookimpl`` and register the module under the ``orgscan``
entry-point group of your distribution (or load it with ``--plugin module``).
Built-in checks and report writers are registered exactly that way.

Hooks are grouped by the phase of a run in which they fire:

* initialization: ``orgscan_add_options``
* contribution: ``orgscan_register_checks``, ``orgscan_register_report_formats``,
  ``orgscan_register_frameworks``
* scan: ``orgscan_scan_started``, ``orgscan_result``, ``orgscan_scan_finished``

The plugin-author guide ``docs/plugins.md`` is checked against this file by
the test suite.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import argparse
    from pathlib import Path

    from scanner.model import Check
    from scanner.reporting import ReportFormat

hookspec = pluggy.HookspecMarker("orgscan")

# --------------------------------------------------------------------------
# initialization
# --------------------------------------------------------------------------


@hookspec
def orgscan_add_options(group: "argparse._ArgumentGroup") -> None:
    """Add plugin options to ``orgscan scan``, before the command line is parsed.

    Fires once per run, with the argparse group "plugin options". Options may
    also be given in the config file as top-level keys (``prowler-bin = ...``).

    :param group: the argparse group to add ``--your-option`` arguments to.
    :return: nothing.
    """


# --------------------------------------------------------------------------
# contribution
# --------------------------------------------------------------------------


@hookspec
def orgscan_register_checks(options: Mapping[str, Any]) -> Sequence["Check"]:
    """Contribute checks to the scan.

    Fires once per run, after the command line and config are read and before
    targets are planned.

    :param options: the scan's settings (command line merged over the config
        file), including plugin options; a plugin that is enabled by
        configuration returns nothing unless its option is set.
    :return: a list of :class:`scanner.model.Check` (a plain function plus
        frozen metadata, see ``scanner.model.check``). Ids must be unique.
        A check's ``[checks.<id>]`` options are validated against the
        metadata's ``option_schemas`` after this hook, when the scan is
        planned (``scanner.options``).
    """


@hookspec
def orgscan_register_report_formats() -> Sequence["ReportFormat"]:
    """Contribute report formats (``--format NAME``).

    Fires once per run, before reports are written.

    :return: a list of :class:`scanner.reporting.ReportFormat`: a name, and a
        function from the canonical result document (``results.json`` as a
        dict) and an output directory to the paths it wrote. The document is
        valid against the results schema (checked where it is read from disk;
        a scan's own conforms by construction), so a writer need not check it
        again. Report writers never call AWS.
    """


@hookspec
def orgscan_register_frameworks() -> Sequence["str | Path"]:
    """Contribute compliance framework files: data mapping a framework's controls to check ids.

    Fires once per run, when the checks are collected (``orgscan scan``; also
    ``orgscan checks list``). Each file is TOML in the shape of
    ``scanner/schemas/framework.schema.json`` (``docs/frameworks.md``) and is
    validated when loaded: a wrong file stops the run with exit code 2 and one
    line naming the file, the entry and the field. Ship the files as package
    data and return their paths (``Path(__file__).with_name("my.toml")``).

    :return: a list of paths of framework files. Framework ids must be unique
        across plugins; a control may name checks of any plugin.
    """


# --------------------------------------------------------------------------
# scan notifications
# --------------------------------------------------------------------------


@hookspec
def orgscan_scan_started(scan: Mapping[str, Any]) -> None:
    """Notification: the scan has been planned and is about to call AWS.

    Fires once per scan (also when a scan is resumed), before any check runs.

    :param scan: the ``scan`` section of the result document as it stands at
        the start (id, started_at, mode, regions, checks, accounts).
    :return: nothing; an exception is logged and does not stop the scan.
    """


@hookspec
def orgscan_result(result: Mapping[str, Any]) -> None:
    """Notification: one result record has arrived (in the shape of ``results[]``).

    Fires once per result, from the thread that spools results, as soon as the
    result is on disk. Keep it fast: a streaming or upload plugin should queue.

    :param result: the result record; its ``evidence`` never holds a sensitive value.
    :return: nothing; an exception is logged and does not stop the scan.
    """


@hookspec
def orgscan_scan_finished(document: Mapping[str, Any], output_dir: str) -> None:
    """Notification: the scan has ended and ``results.json`` is written.

    Fires once per scan, after every report is written.

    :param document: the complete result document.
    :param output_dir: the directory holding ``results.json`` and the reports.
    :return: nothing; an exception is logged and does not change the exit code.
    """
