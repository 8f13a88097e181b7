"""Checks that an ``orgscan ...`` command line (from a doc, a template or a workflow) parses with orgscan's own argparse."""
from __future__ import annotations

import argparse
import shlex
from typing import Sequence

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


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    from scanner.errors import UsageError

    try:
        return parser.parse_args(list(argv))
    except (UsageError, SystemExit) as error:
        raise CommandError(f"orgscan {' '.join(argv)}: {error}") from None


def parse_orgscan(command: str | Sequence[str]) -> argparse.Namespace:
    """The parsed arguments of an ``orgscan`` command line; :class:`CommandError` when orgscan would refuse it."""
    from scanner import cli
    from scanner.integrations import github

    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv and argv[0] == "orgscan":
        argv = argv[1:]
    if not argv:
        raise CommandError("empty orgscan command")
    if argv[:2] == ["upload", "github"]:
        return _parse(github.build_parser(), argv[2:])
    if argv[:2] == ["suppressions", "import-prowler"]:
        from scanner.prowler_mutelist import build_parser

        return _parse(build_parser(), argv[2:])
    if argv[:2] == ["upload", "securityhub"]:
        from scanner.integrations.securityhub import _parser

        return _parse(_parser(), argv[2:])
    parser = cli._build_parser()
    if argv[0] == "scan":
        scan = cli._Parser(prog="orgscan scan", argument_default=argparse.SUPPRESS)
        cli._scan_arguments(scan)
        cli._plugin_arguments(scan)
        return _parse(scan, argv[1:])
    if argv[0] == "iam-policy":
        policy = cli._Parser(prog="orgscan iam-policy")
        cli._policy_arguments(policy)
        return _parse(policy, argv[1:])
    return _parse(parser, argv)
