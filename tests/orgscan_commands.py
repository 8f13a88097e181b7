"""Checks that an ``orgscan ...`` command line (from a doc, a template or a workflow) parses with orgscan's own argparse.

Options another branch of the same issue adds (scan history, the scanner policy) are accepted only
while this checkout's parser does not know them yet: once it does, they are parsed like any other.
"""
from __future__ import annotations

import argparse
import shlex
from typing import Sequence

#: Options of `orgscan scan` that take a value, added in parallel by the scan-history work (issue 17).
PENDING_SCAN_OPTIONS = {"--history": 1, "--history-keep": 1, "--history-kms-key": 1}
#: Commands added by that work: `orgscan history list LOCATION`, `orgscan iam-policy --scanner`.
PENDING_COMMANDS = {("history", "list")}
PENDING_POLICY_FLAGS = {"--scanner": 0}


#: Values for the environment variables the scheduled build sets (scanner/deploy.py), to check its commands
#: as the build runs them: an option that takes a number gets a number.
SAMPLE_BUILD_ENVIRONMENT = {
    "ORGSCAN_REGIONS": "all", "ORGSCAN_ROLE_NAME": "OrgScanAudit", "ORGSCAN_EXTERNAL_ID": "correct-horse-battery-staple",
    "ORGSCAN_FORMATS": "html,sarif,markdown", "ORGSCAN_OUTPUT_DIR": "/out/scan", "ORGSCAN_HISTORY": "s3://bucket/orgscan",
    "ORGSCAN_HISTORY_KEEP": "52", "ORGSCAN_HISTORY_KMS_KEY": "arn:aws:kms:us-east-1:111111111111:key/abc",
    "ORGSCAN_GITHUB_REPOSITORY": "octo-org/cloud-audit", "ORGSCAN_GITHUB_REF": "refs/heads/main",
}


def expand_build_variables(command: str) -> str:
    """``command`` with every ``"$ORGSCAN_..."`` of the build replaced by a sample value."""
    for name, value in SAMPLE_BUILD_ENVIRONMENT.items():
        command = command.replace(f'"${name}"', shlex.quote(value))
    return command


class CommandError(AssertionError):
    """The command does not parse."""


def _known_options(parser: argparse.ArgumentParser) -> set[str]:
    return set(parser._option_string_actions)


def _strip_unknown(argv: list[str], parser: argparse.ArgumentParser, pending: dict[str, int]) -> list[str]:
    known = _known_options(parser)
    kept, index = [], 0
    while index < len(argv):
        word = argv[index]
        name = word.split("=", 1)[0]
        if name in pending and name not in known:
            index += 1 + (pending[name] if "=" not in word else 0)
            continue
        kept.append(word)
        index += 1
    return kept


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    from scanner.errors import UsageError

    try:
        return parser.parse_args(list(argv))
    except (UsageError, SystemExit) as error:
        raise CommandError(f"orgscan {' '.join(argv)}: {error}") from None


def parse_orgscan(command: str | Sequence[str]) -> argparse.Namespace | None:
    """The parsed arguments of an ``orgscan`` command line; :class:`CommandError` when orgscan would refuse it.

    ``None`` for a pending command this checkout does not have yet.
    """
    from scanner import cli
    from scanner.integrations import github

    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv and argv[0] == "orgscan":
        argv = argv[1:]
    if not argv:
        raise CommandError("empty orgscan command")
    if argv[:2] == ["upload", "github"]:
        return _parse(github.build_parser(cli._Parser), argv[2:])
    if argv[:2] == ["upload", "securityhub"]:
        from reports.securityhub_upload import _parser

        parser = _parser()
        parser.__class__ = cli._Parser
        return _parse(parser, argv[2:])
    parser = cli._build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    if tuple(argv[:2]) in PENDING_COMMANDS and argv[0] not in subcommands:
        return None
    if argv[0] == "scan":
        scan = cli._Parser(prog="orgscan scan", argument_default=argparse.SUPPRESS)
        cli._scan_arguments(scan)
        cli._plugin_arguments(scan)
        return _parse(scan, _strip_unknown(argv[1:], scan, PENDING_SCAN_OPTIONS))
    if argv[0] == "iam-policy":
        policy = cli._Parser(prog="orgscan iam-policy")
        cli._policy_arguments(policy)
        return _parse(policy, _strip_unknown(argv[1:], policy, PENDING_POLICY_FLAGS))
    return _parse(parser, argv)
