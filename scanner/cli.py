"""The ``orgscan`` command.

Exit codes (also in the README):

* 0: no FAIL at or above ``--fail-on`` and no ERROR
* 1: a FAIL at or above ``--fail-on`` (default ``low``), accepted risks (``--suppressions``) not counted;
  with ``--fail-on-new``, only a FAIL that is new since the baseline counts
* 2: usage or configuration error (one line on stderr)
* 3: no such FAIL, but some result is ERROR
* 4: internal error (a bug; rerun with ``--log-level debug`` for details)
* 5: with ``--fail-on-incomplete``: the scan is incomplete, some result is ERROR because AWS could not
  be asked (connection failures, or throttling or 5xx answers that outlasted the SDK's retries)
* 6: the scan finished and wrote its reports, but the history (``--history``) could not be written;
  or, before scanning, it could not be read (one line naming the bucket, key and IAM action)
* 130: interrupted (SIGINT or SIGTERM); ``orgscan scan --resume DIR`` finishes the scan

``orgscan upload github`` has its own (``scanner/integrations/github.py``): 0, 1 processing failed,
2 usage, 6 GitHub refused a request, 7 GitHub unreachable or too slow.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from scanner import __version__
from scanner.arguments import UsageErrorParser
from scanner.config import DEFAULT_ROLE_NAME, DEFAULT_ROLE_SESSION_NAME, FAIL_ON_CHOICES, ScanSettings, read_config, split_list, validate
from scanner.errors import HistoryError, UsageError
from scanner.logsetup import configure_logging
from scanner.plugins import build_plugin_manager, collect_checks, collect_report_formats, describe_plugins

if TYPE_CHECKING:
    from scanner.model import Check

EXIT_USAGE = 2
EXIT_INTERNAL = 4
EXIT_HISTORY = 6
log = logging.getLogger("orgscan")


_Parser = UsageErrorParser


def _plugin_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugin", action="append", metavar="MODULE", help="load a plugin from a module path (repeatable)")
    parser.add_argument("--disable-plugin", action="append", metavar="NAME", help="block a plugin by name (repeatable)")


def _scan_arguments(parser: argparse.ArgumentParser) -> None:
    reach = parser.add_argument_group("accounts and regions")
    reach.add_argument("--profile", help="AWS profile of the caller (default: the standard credential chain)")
    reach.add_argument("--org", action="store_true", help="scan every ACTIVE account of the caller's AWS Organization")
    reach.add_argument("--ou", type=split_list, metavar="OU[,OU]", help="with --org: only accounts under these OUs (recursive)")
    reach.add_argument("--accounts", type=split_list, metavar="ID[,ID]", help="only these account ids")
    reach.add_argument("--exclude-accounts", type=split_list, metavar="ID[,ID]", help="skip these account ids")
    reach.add_argument("--role-name", help=f"role assumed in every other account (default {DEFAULT_ROLE_NAME})")
    reach.add_argument("--external-id", help="sts:ExternalId for the role")
    reach.add_argument("--role-session-name", help=f"session name of the assumed role (default {DEFAULT_ROLE_SESSION_NAME})")
    reach.add_argument("--regions", type=split_list, metavar="R[,R]|all", help="regions to scan, or 'all' enabled regions (default: the profile's region)")
    run = parser.add_argument_group("checks and execution")
    run.add_argument("--checks", type=split_list, metavar="ID[,ID]", help="only these checks")
    run.add_argument("--exclude-checks", type=split_list, metavar="ID[,ID]", help="skip these checks")
    run.add_argument("--concurrency", type=int, help="targets scanned at once (default 32)")
    run.add_argument("--check-timeout", type=float, metavar="SECONDS", help="a check running longer becomes ERROR (default 300)")
    run.add_argument("--executor", choices=("local", "dask"), help="where targets run (default local threads)")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="Dask scheduler address for --executor dask")
    out = parser.add_argument_group("output")
    out.add_argument("--output-dir", metavar="DIR", help="where results.json and reports go (default ./orgscan-out)")
    out.add_argument("--format", type=split_list, metavar="NAME[,NAME]", help="report formats besides json: html, sarif, sarif-with-pass, asff, csv, compliance-csv, markdown")
    out.add_argument("--fail-on", choices=FAIL_ON_CHOICES, help="lowest FAIL severity that makes the exit code 1 (default low)")
    out.add_argument("--fail-on-incomplete", action="store_true",
                     help="exit code 5 when some result is ERROR because AWS could not be reached (connection failures, "
                          "throttling or 5xx past the retries), whatever else was found")
    _suppression_arguments(out)
    out.add_argument("--baseline", metavar="RESULTS_JSON",
                     help="an earlier scan's results.json: mark each result new, unchanged or changed and list what was fixed")
    out.add_argument("--fail-on-new", action="store_true",
                     help="only FAILs that are new since the baseline (at or above --fail-on) make the exit code 1")
    out.add_argument("--history", metavar="DIR|s3://BUCKET/PREFIX",
                     help="keep every complete scan there, and compare with the most recent earlier scan of the same scope "
                          "(--baseline wins)")
    out.add_argument("--history-keep", type=int, metavar="N", help="with --history: keep only the N most recent scans of this scope")
    out.add_argument("--history-kms-key", metavar="KEY",
                     help="with an s3:// history: encrypt its objects with this KMS key (SSE-KMS; default: the bucket's default encryption)")
    out.add_argument("--quiet", action="store_true", help="no progress on stderr")
    out.add_argument("--log-level", help="debug, info, warning (default), error")
    parser.add_argument("--config", metavar="FILE", help="TOML file with the same options (the command line wins)")
    parser.add_argument("--resume", metavar="DIR", help="finish an interrupted scan in DIR, scanning only what is missing")


def _suppression_arguments(group: Any) -> None:
    group.add_argument("--suppressions", metavar="FILE",
                       help="accepted risks (TOML, see docs/suppressions.md): matching FAILs are marked suppressed "
                            "and do not count toward the exit code")
    group.add_argument("--suppressions-max-days", type=int, metavar="DAYS",
                       help="refuse suppressions that expire more than DAYS days from today (default 365)")


def _policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cloudformation", action="store_true", help="a CloudFormation template (for StackSets) creating the role")
    parser.add_argument("--role-name", default="OrgScanAudit", help="the role's name (default OrgScanAudit)")
    parser.add_argument("--checks", type=split_list, metavar="ID[,ID]", help="only these checks' actions")
    parser.add_argument("--scanner", action="store_true",
                        help="the policy of the scanner principal (the role or user that runs orgscan), not the member audit role's")
    parser.add_argument("--history", metavar="s3://BUCKET/PREFIX", help="with --scanner: the S3 history it reads and writes")
    parser.add_argument("--history-kms-key", metavar="KEY", help="with --scanner: the KMS key of the history's objects")
    parser.add_argument("--config", metavar="FILE", help="the scan's TOML file: its plugins and plugin options (the Prowler bridge) count")
    _plugin_arguments(parser)


def _deploy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cloudformation", action="store_true", required=True,
                        help="print the template: schedule, CodeBuild project, scanner role, history bucket, logs")
    parser.add_argument("--role-name", default="OrgScanAudit", help="default of the MemberRoleName parameter (default OrgScanAudit)")
    parser.add_argument("--checks", type=split_list, metavar="ID[,ID]", help="only these checks' actions for the scanner's own account")
    parser.add_argument("--config", metavar="FILE", help="the scan's TOML file: its plugins and plugin options count")
    _plugin_arguments(parser)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="orgscan", description="Organization-wide AWS compliance scanner.")
    parser.add_argument("--version", action="version", version=f"orgscan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scan = commands.add_parser("scan", help="scan one account or a whole organization", argument_default=argparse.SUPPRESS)
    _scan_arguments(scan)
    _plugin_arguments(scan)

    report = commands.add_parser("report", help="render reports from a results.json, without AWS")
    report.add_argument("results", metavar="RESULTS_JSON")
    report.add_argument("--format", type=split_list, required=True, metavar="NAME[,NAME]")
    report.add_argument("--output-dir", metavar="DIR", help="default: the directory of RESULTS_JSON")
    _suppression_arguments(report)
    report.add_argument("--baseline", metavar="RESULTS_JSON", help="an earlier scan's results.json to compare with (see `orgscan scan --baseline`)")
    _plugin_arguments(report)

    checks = commands.add_parser("checks", help="the available checks")
    checks_commands = checks.add_subparsers(dest="checks_command", metavar="list", parser_class=_Parser, required=True)
    listing = checks_commands.add_parser("list", help="list every check with its metadata")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    _plugin_arguments(listing)

    plugins = commands.add_parser("plugins", help="loaded plugins, their distributions and hooks")
    plugins.add_argument("--format", choices=("table", "json"), default="table")
    _plugin_arguments(plugins)

    policy = commands.add_parser("iam-policy", help="least-privilege policy for the member-account audit role")
    _policy_arguments(policy)

    deploy = commands.add_parser("deploy", help="CloudFormation template of the scanner side of a scheduled scan")
    _deploy_arguments(deploy)
    history = commands.add_parser("history", help="the scans kept by --history")
    history_commands = history.add_subparsers(dest="history_command", metavar="list", parser_class=_Parser, required=True)
    history_list = history_commands.add_parser("list", help="list the complete scans kept at LOCATION, oldest first")
    history_list.add_argument("location", metavar="DIR|s3://BUCKET/PREFIX")
    history_list.add_argument("--format", choices=("table", "json"), default="table")
    history_list.add_argument("--profile", help="AWS profile for an s3:// history (default: the standard credential chain)")

    commands.add_parser("demo", help="scan the simulated organization on loopback and write every report", add_help=False)
    suppressions = commands.add_parser("suppressions", help="accepted risks: import-prowler converts a Prowler mute list",
                                       add_help=False)
    suppressions.add_argument("suppressions_command", nargs="?", choices=("import-prowler",))
    upload = commands.add_parser("upload", help="upload results to a service", add_help=False)
    upload.add_argument("target", nargs="?", choices=("securityhub", "github"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["demo"]:
            code = _demo(argv[1:])
        elif argv[:2] == ["suppressions", "import-prowler"]:
            from scanner.prowler_mutelist import main as import_prowler_main

            code = import_prowler_main(argv[2:])
        elif argv[:2] == ["upload", "securityhub"]:
            from scanner.integrations.securityhub import main as upload_main

            code = upload_main(argv[2:])
        elif argv[:2] == ["upload", "github"]:
            from scanner.integrations.github import main as github_upload_main

            code = github_upload_main(argv[2:])
        else:
            code = _dispatch(argv)
        # Output that fit in stdout's buffer meets a closed pipe here, inside the handlers below,
        # rather than at interpreter exit.
        sys.stdout.flush()
        return code
    except UsageError as error:
        print(f"orgscan: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except HistoryError as error:
        print(f"orgscan: error: {error}", file=sys.stderr)
        return EXIT_HISTORY
    except KeyboardInterrupt:
        print("orgscan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`orgscan iam-policy | head`): what it read is all it wanted. Point stdout
        # at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, no traceback
        log.debug("internal error", exc_info=True)
        print(f"orgscan: internal error: {type(error).__name__}: {error} (rerun with --log-level debug)", file=sys.stderr)
        return EXIT_INTERNAL


#: What the "sim" extra installs (setup.cfg): moto and the web server its standalone mode runs on.
SIMULATOR_PACKAGES = {"moto", "flask", "flask_cors", "werkzeug", "openapi_spec_validator", "jsonpath_ng"}


def _demo(argv: list[str]) -> int:
    """``orgscan demo``: without the simulator's packages, or with another moto, one line and exit 2."""
    try:
        from scanner.simulator.demo import main as demo_main
        from scanner.simulator.registration import SimulatorIncompatible

        try:
            return demo_main(argv, run_orgscan=main)
        except SimulatorIncompatible as error:
            raise UsageError(f"demo: the simulated organization cannot run: {error}") from None
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in SIMULATOR_PACKAGES:
            raise
        raise UsageError(f"demo: the simulated organization needs the 'sim' extra ({error.name} is not installed): "
                         "pip install 'orgscan[sim]'") from None


def _dispatch(argv: list[str]) -> int:
    parser = _build_parser()
    if not argv:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if argv[0] == "scan":
        return _scan(parser, argv)
    if argv[0] == "iam-policy":
        return _iam_policy(argv)
    if argv[0] == "deploy":
        return _deploy(argv)
    args = parser.parse_args(argv)
    if args.command == "history":
        return _history_list(args)
    if args.command == "upload":
        raise UsageError("upload: name a target: securityhub, github")
    if args.command == "suppressions":
        raise UsageError("suppressions: name a command: import-prowler")
    manager = build_plugin_manager(args.plugin or [], args.disable_plugin or [])
    if args.command == "report":
        return _report(args, manager)
    if args.command == "checks":
        return _checks_list(args, manager)
    if args.command == "plugins":
        return _plugins(args, manager)
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _early_plugins(argv: list[str]) -> tuple[list[str], list[str]]:
    """The plugins to load and to block (``--config``'s, then the command line's), read before the full parse.

    Plugins add options, so the plugin list must be known before a command's arguments are parsed.
    """
    pre = _Parser(add_help=False)
    pre.add_argument("--config")
    pre.add_argument("--plugin", action="append", default=[])
    pre.add_argument("--disable-plugin", action="append", default=[])
    early, _ = pre.parse_known_args(argv)
    preview = read_config(early.config, plugin_keys=set(), lenient=True) if early.config else {}
    return [*preview.get("plugin", []), *early.plugin], [*preview.get("disable_plugin", []), *early.disable_plugin]


def _scan(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    from scanner.scan import resume_scan, run_scan

    plugins, disabled = _early_plugins(argv[1:])
    manager = build_plugin_manager(plugins, disabled)

    scan_parser = _Parser(prog="orgscan scan", argument_default=argparse.SUPPRESS)
    _scan_arguments(scan_parser)
    _plugin_arguments(scan_parser)
    group = scan_parser.add_argument_group("plugin options")
    before = set(id(a) for a in scan_parser._actions)
    manager.hook.orgscan_add_options(group=group)
    plugin_defaults: dict[str, Any] = {}
    for action in scan_parser._actions:
        if id(action) not in before:
            plugin_defaults[action.dest] = None if action.default is argparse.SUPPRESS else action.default
            action.default = argparse.SUPPRESS
    args = vars(scan_parser.parse_args(argv[1:]))

    config = read_config(args["config"], plugin_keys=set(plugin_defaults)) if "config" in args else {}
    cli_plugin_options = {k: args.pop(k) for k in list(args) if k in plugin_defaults}
    resume = args.pop("resume", None)
    merged: dict[str, Any] = {**config, **args}
    merged["plugin_options"] = {**plugin_defaults, **config.get("plugin_options", {}), **cli_plugin_options}
    merged["plugin"] = plugins
    merged["disable_plugin"] = disabled
    settings = ScanSettings(**merged)
    validate(settings)
    configure_logging(settings.log_level)

    if resume:
        overrides = {k: v for k, v in args.items() if k in ("concurrency", "quiet", "log_level", "check_timeout", "fail_on_incomplete")}
        # Only the plugins named now (command line or --config) are loaded: plan.json lies in the
        # output directory, and a plugin it names is never imported on its word.
        overrides["plugin"] = merged["plugin"]
        overrides["disable_plugin"] = merged["disable_plugin"]
        outcome = resume_scan(Path(resume), lambda planned: manager, overrides=overrides)
    else:
        outcome = run_scan(settings, manager)
    summary = outcome.document["summary"]["by_status"]
    if not settings.quiet:
        print(
            f"orgscan: {summary['FAIL']} FAIL{_suppressed_note(outcome.document)}, {summary['PASS']} PASS, {summary['ERROR']} ERROR, "
            f"{summary['NOT_APPLICABLE']} N/A; wrote {', '.join(str(p) for p in outcome.written)}",
            file=sys.stderr,
        )
    return outcome.exit_code


def _suppressed_note(document: dict[str, Any]) -> str:
    """`` (3 suppressed)`` when a suppression file was applied, else nothing."""
    applied = document.get("suppressions")
    return f" ({applied['suppressed']} suppressed)" if applied else ""


#: Config keys that only steer a scan's run, not which checks it has: a policy or template ignores them.
_RUN_ONLY_KEYS = ("plugin_options", "checks", "exclude_checks", "history", "history_kms_key", "history_keep", "baseline", "fail_on_new")


def _checks_of(argv: list[str], prog: str, add_arguments: Callable[[argparse.ArgumentParser], None]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Check]]:
    """The arguments, the config file and the checks a scan with the same plugins and plugin options would run."""
    from scanner.config import validate_role_name
    from scanner.options import validate_check_options
    from scanner.scan import select_checks

    manager = build_plugin_manager(*_early_plugins(argv))
    parser = _Parser(prog=prog)
    add_arguments(parser)
    group = parser.add_argument_group("plugin options")
    before = set(id(a) for a in parser._actions)
    manager.hook.orgscan_add_options(group=group)
    plugin_keys = {action.dest for action in parser._actions if id(action) not in before}
    args = vars(parser.parse_args(argv))
    validate_role_name(args["role_name"])
    config = read_config(args["config"], plugin_keys=plugin_keys) if args["config"] else {}
    plugin_options = {**config.get("plugin_options", {}), **{k: v for k, v in args.items() if k in plugin_keys and v is not None}}
    settings = ScanSettings(**{k: v for k, v in config.items() if k not in _RUN_ONLY_KEYS}, plugin_options=plugin_options,
                            config=args["config"])
    available = collect_checks(manager, settings.options())
    # The config file a scan would refuse is refused here too, for the same reason.
    validate_check_options(available, settings.check_options, settings.config)
    return args, config, select_checks(available, args["checks"] or [], [])


def _iam_policy(argv: list[str]) -> int:
    """``orgscan iam-policy``: the checks are those a scan with the same plugins and plugin options would run."""
    from scanner.iam_policy import managed_policy_note, render_policy

    args, config, checks = _checks_of(argv[1:], "orgscan iam-policy", _policy_arguments)
    if args["scanner"]:
        from scanner.history import validate_history_options
        from scanner.iam_policy import scanner_policy

        if args["cloudformation"]:
            raise UsageError("iam-policy: --scanner prints a policy; the scanner side's template is `orgscan deploy --cloudformation`")
        history = args["history"] or config.get("history")
        kms_key = args["history_kms_key"] or config.get("history_kms_key")
        validate_history_options(history, None, kms_key)
        print(json.dumps(scanner_policy(checks, role_name=args["role_name"], history=history, kms_key=kms_key), indent=2))
        return 0
    if args["history"] or args["history_kms_key"]:
        raise UsageError("iam-policy: --history and --history-kms-key go with --scanner")
    print(render_policy(checks, cloudformation=args["cloudformation"], role_name=args["role_name"]))
    note = managed_policy_note(checks)
    if note and not args["cloudformation"]:
        print(f"orgscan: note: {note}", file=sys.stderr)
    return 0


def _deploy(argv: list[str]) -> int:
    """``orgscan deploy --cloudformation``: the scanner's own account is read with the actions the checks need."""
    from scanner.deploy import render_scanner_template
    from scanner.iam_policy import member_actions

    args, _, checks = _checks_of(argv[1:], "orgscan deploy", _deploy_arguments)
    print(render_scanner_template(member_actions(checks), args["role_name"]))
    return 0


def _report(args: argparse.Namespace, manager: Any) -> int:
    from scanner.document import load_document
    from scanner.scan import select_formats, write_reports

    from scanner.output_dir import check_output_dir, make_private_dir

    document = load_document(Path(args.results))
    if args.suppressions:
        from scanner.suppressions import DEFAULT_MAX_DAYS, apply_suppressions, load_suppressions, today_utc, validate_max_days

        max_days = validate_max_days(DEFAULT_MAX_DAYS if args.suppressions_max_days is None else args.suppressions_max_days)
        today = today_utc()
        # A new judgement of the same scan: the file given now replaces any suppressions the document carries.
        document = apply_suppressions(document, load_suppressions(args.suppressions, max_days=max_days, today=today), today)
    elif args.suppressions_max_days is not None:
        raise UsageError("--suppressions-max-days needs --suppressions FILE")
    if args.baseline:
        from scanner.baseline import compare_with_baseline, load_baseline

        document = compare_with_baseline(document, load_baseline(args.baseline))
    output_dir = Path(args.output_dir) if args.output_dir else Path(args.results).parent
    check_output_dir(output_dir)
    # A report of an existing results.json: json again only when named.
    formats = select_formats(collect_report_formats(manager), args.format, always_json=False)
    make_private_dir(output_dir)
    for path in write_reports(document, output_dir, formats):
        print(path)
    return 0


def _history_list(args: argparse.Namespace) -> int:
    """``orgscan history list LOCATION``: one line per complete scan kept there, oldest first."""
    from scanner.history import open_history
    from scanner.sanitizer import safe_text

    store = open_history(args.location, profile=args.profile)
    entries = store.entries()
    if args.format == "json":
        print(json.dumps([{"name": e.name, "location": store.where(e.name), **dict(e.manifest)} for e in entries], indent=2))
        return 0
    rows = []
    for entry in entries:
        scope, counts = entry.scope, entry.manifest.get("by_status") or {}
        # A manifest is a file in a bucket or directory others may write to: its values are shown made safe.
        rows.append(tuple(safe_text(str(cell), 200) for cell in (
            entry.name, entry.manifest.get("started_at"), scope["mode"], scope.get("organization_id") or "-",
            ",".join(map(str, scope["regions"])), len(scope["checks"]),
            f"{counts.get('FAIL', 0)}/{counts.get('PASS', 0)}/{counts.get('ERROR', 0)}")))
    if not rows:
        print(f"orgscan: no complete scan in {store.location}", file=sys.stderr)
        return 0
    _print_table(("SCAN", "STARTED", "MODE", "ORGANIZATION", "REGIONS", "CHECKS", "FAIL/PASS/ERROR"), rows)
    return 0


def _checks_list(args: argparse.Namespace, manager: Any) -> int:
    checks = collect_checks(manager, ScanSettings().options())
    if args.format == "json":
        from scanner.frameworks import check_entry, collect_frameworks, mappings_by_check

        mappings = mappings_by_check(collect_frameworks(manager))
        print(json.dumps([check_entry(c.metadata, mappings) for c in checks.values()], indent=2))
        return 0
    rows = [(c.id, c.metadata.severity.value, c.metadata.scope.value, c.metadata.service, c.metadata.title) for c in checks.values()]
    _print_table(("ID", "SEVERITY", "SCOPE", "SERVICE", "TITLE"), rows)
    return 0


def _plugins(args: argparse.Namespace, manager: Any) -> int:
    described = describe_plugins(manager)
    if args.format == "json":
        print(json.dumps(described, indent=2))
        return 0
    rows = [(p["name"], f"{p['distribution'] or '-'} {p['version'] or ''}".strip(), ", ".join(p["hooks"])) for p in described]
    _print_table(("PLUGIN", "DISTRIBUTION", "HOOKS"), rows)
    return 0


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
