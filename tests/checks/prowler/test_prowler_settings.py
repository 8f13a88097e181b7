"""The bridge's options: added through orgscan_add_options, read from the scan options, off unless --prowler-bin is set."""
from __future__ import annotations

import argparse

import pytest

import checks.prowler as prowler_plugin
from checks.prowler.settings import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_SECONDS, read_settings
from scanner.errors import UsageError
from scanner.model import Scope
from scanner.plugins import build_plugin_manager, collect_checks


@pytest.fixture
def prowler_bin(tmp_path):
    executable = tmp_path / "prowler"
    executable.write_text("#!/bin/sh\nexit 0\n")
    executable.chmod(0o755)
    return str(executable)


def parse(*argv):
    """Scan options as the host builds them: every plugin's options from the command line."""
    parser = argparse.ArgumentParser()
    group = parser.add_argument_group("plugin options")
    prowler_plugin.orgscan_add_options(group=group)
    return vars(parser.parse_args(argv))


def test_the_plugin_is_registered_under_the_orgscan_entry_point_group():
    manager = build_plugin_manager()
    assert manager.get_plugin("prowler") is prowler_plugin


def test_the_bridge_contributes_nothing_without_prowler_bin():
    assert prowler_plugin.orgscan_register_checks(options=parse()) == []
    assert read_settings({"regions": ["us-east-1"]}) is None
    assert read_settings({}) is None


def test_with_prowler_bin_it_contributes_one_account_wide_check(prowler_bin):
    manager = build_plugin_manager()
    checks = collect_checks(manager, {**parse("--prowler-bin", prowler_bin), "regions": []})
    bridge = checks["prowler_bridge"]
    assert bridge.metadata.scope == Scope.ACCOUNT
    # The run bounds itself with --prowler-timeout; queueing for a slot must not count against it.
    assert bridge.metadata.timeout_seconds >= 24 * 3600


def test_command_line_options_are_read(prowler_bin):
    settings = read_settings(
        {**parse("--prowler-bin", prowler_bin, "--prowler-services", "kms, s3,", "--prowler-concurrency", "3",
                 "--prowler-timeout", "90.5")}
    )
    assert settings.executable == prowler_bin
    assert settings.services == ("kms", "s3")
    assert settings.concurrency == 3
    assert settings.timeout_seconds == 90.5


def test_defaults(prowler_bin):
    settings = read_settings(parse("--prowler-bin", prowler_bin))
    assert (settings.concurrency, settings.timeout_seconds) == (DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_SECONDS)
    assert (settings.checks, settings.services, settings.compliance) == ((), (), ())


def test_config_file_values_may_be_lists_and_numbers(prowler_bin):
    settings = read_settings({"prowler_bin": prowler_bin, "prowler_compliance": ["cis_4.0_aws"],
                              "prowler_concurrency": 1, "prowler_timeout": 600})
    assert settings.compliance == ("cis_4.0_aws",)
    assert (settings.concurrency, settings.timeout_seconds) == (1, 600.0)


def test_a_program_on_path_is_found(prowler_bin, monkeypatch):
    monkeypatch.setenv("PATH", prowler_bin.rsplit("/", 1)[0])
    assert read_settings({"prowler_bin": "prowler"}).executable == prowler_bin


@pytest.mark.parametrize(
    "options, message",
    [
        ({"prowler_bin": "/nonexistent/prowler"}, "--prowler-bin /nonexistent/prowler: not an executable file"),
        ({"prowler_concurrency": "0"}, "--prowler-concurrency: expected a whole number of at least 1, got '0'"),
        ({"prowler_concurrency": "two"}, "--prowler-concurrency: expected a whole number of at least 1, got 'two'"),
        ({"prowler_timeout": "-5"}, "--prowler-timeout: expected a positive number of seconds, got '-5'"),
        ({"prowler_timeout": "soon"}, "--prowler-timeout: expected a number of seconds, got 'soon'"),
        ({"prowler_checks": "kms_cmk_rotation_enabled,--role"}, "--prowler-checks: '--role' is not a valid Prowler name"),
        ({"prowler_services": 7}, "--prowler-services: expected a comma-separated list of names, got 7"),
        ({"prowler_checks": "a", "prowler_compliance": "cis_4.0_aws"},
         "--prowler-checks and --prowler-compliance cannot be combined: Prowler runs one selection at a time"),
    ],
)
def test_bad_values_are_one_line_naming_the_option(prowler_bin, options, message):
    with pytest.raises(UsageError) as raised:
        read_settings({"prowler_bin": prowler_bin, **options})
    assert str(raised.value) == message
