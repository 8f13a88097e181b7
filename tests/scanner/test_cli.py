"""The decisions scanner/cli.py makes: what wins between the command line, the config file and the defaults,
which plugins are loaded, and how every usage error ends (one line, exit 2, nothing created).

(tests/scanner/test_cli_usage.py covers the argparse wording and ``orgscan demo``.)
"""
from __future__ import annotations

import json

import pytest

from scanner.cli import main
from scanner.document import Spool

FAKE_PLUGIN = "tests.plugins.fake_plugin"
MANAGEMENT = "111111111111"
SCENARIO = {
    "name": "cli",
    "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1", "eu-west-1"]},
    "accounts": [{"id": MANAGEMENT, "name": "management", "email": "management@example.com"}],
}


def _stored_settings(output_dir):
    """The settings the scan ran with, as it stored them in its plan."""
    return Spool(output_dir).read_plan()["settings"]


def test_the_command_line_wins_over_the_config_file_which_wins_over_the_defaults(make_org, run_orgscan, tmp_path):
    make_org(SCENARIO)
    from_file, from_command_line = tmp_path / "file.jsonl", tmp_path / "command-line.jsonl"
    config = tmp_path / "orgscan.toml"
    config.write_text(f'regions = ["eu-west-1"]\nfail-on = "none"\nconcurrency = 3\nplugin = ["{FAKE_PLUGIN}"]\n'
                      f'fake-record = "{from_file}"\n[checks]\ninclude = ["fake_vpc_count"]\n')

    code, document = run_orgscan("--config", str(config))
    settings = _stored_settings(tmp_path / "orgscan-out-1")
    assert document["scan"]["regions"] == ["eu-west-1"] and code == 0
    assert settings["concurrency"] == 3 and settings["fail_on"] == "none" and settings["check_timeout"] == 300.0
    assert settings["plugin_options"]["fake_record"] == str(from_file) and from_file.exists()
    assert settings["config"] == str(config)

    code, document = run_orgscan("--config", str(config), "--regions", "us-east-1", "--concurrency", "5",
                                 "--fake-record", str(from_command_line), "--checks", "fake_account_alias_present")
    settings = _stored_settings(tmp_path / "orgscan-out-2")
    assert document["scan"]["regions"] == ["us-east-1"] and [c["id"] for c in document["scan"]["checks"]] == ["fake_account_alias_present"]
    assert settings["concurrency"] == 5 and settings["fail_on"] == "none"  # named on the command line or not
    assert settings["plugin_options"]["fake_record"] == str(from_command_line) and from_command_line.exists()


def test_plugins_named_by_the_file_and_by_the_command_line_are_both_loaded(make_org, run_orgscan, tmp_path):
    make_org(SCENARIO)
    config = tmp_path / "orgscan.toml"
    config.write_text('plugin = ["tests.reliability.raising_plugin"]\n')
    code, document = run_orgscan("--config", str(config), "--plugin", FAKE_PLUGIN, "--regions", "us-east-1",
                                 "--checks", "fake_account_alias_present,raising_check")
    assert {r["check_id"] for r in document["results"]} == {"fake_account_alias_present", "raising_check"}
    settings = _stored_settings(tmp_path / "orgscan-out-1")
    assert settings["plugin"] == ["tests.reliability.raising_plugin", FAKE_PLUGIN]


def test_a_plugin_the_file_disables_is_not_loaded(unreachable_aws, tmp_path, capsys):
    config = tmp_path / "orgscan.toml"
    config.write_text(f'plugin = ["{FAKE_PLUGIN}"]\ndisable-plugin = ["{FAKE_PLUGIN}"]\n')
    assert main(["scan", "--config", str(config), "--checks", "fake_vpc_count", "--output-dir", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == "orgscan: error: unknown check id 'fake_vpc_count' (see `orgscan checks list`)\n"


def test_iam_policy_reads_plugins_and_plugin_options_from_the_same_file(unreachable_aws, tmp_path, capsys):
    config = tmp_path / "orgscan.toml"
    config.write_text(f'plugin = ["{FAKE_PLUGIN}"]\nregions = ["eu-west-1"]\n')
    assert main(["iam-policy", "--config", str(config), "--checks", "fake_vpc_count"]) == 0
    policy = json.loads(capsys.readouterr().out)
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    # The fake plugin's check (from the file's plugin list) and the host's own region listing, nothing else.
    assert actions == {"ec2:DescribeVpcs", "ec2:DescribeRegions"}


@pytest.mark.parametrize("argv, line", [
    (["scan", "--concurrency", "many"], "scan: argument --concurrency: invalid int value: 'many'"),
    (["scan", "--executor", "ray"], "scan: argument --executor: invalid choice: 'ray' (choose from 'local', 'dask')"),
    (["scan", "--concurrency", "0"], "--concurrency must be between 1 and 1024, not 0"),
    (["scan", "--regions", "us-east-1,all"], "--regions: 'all' cannot be combined with named regions"),
    (["scan", "--ou", "ou-abcd-12345678"], "--ou needs --org"),
    (["scan", "--checks", "nope"], "unknown check id 'nope' (see `orgscan checks list`)"),
    (["scan", "--format", "pdf"], "--format: unknown report format 'pdf' (available: "),
    (["scan", "--resume", "/nonexistent/orgscan-out"], "--resume /nonexistent/orgscan-out: no such directory"),
    (["scan", "--fail-on-new"], "--fail-on-new needs --baseline or --history"),
    (["report"], "report: the following arguments are required: RESULTS_JSON, --format"),
    (["checks"], "checks: the following arguments are required: list"),
    (["history"], "history: the following arguments are required: list"),
    (["deploy"], "deploy: the following arguments are required: --cloudformation"),
    (["iam-policy", "--role-name", "bad!name"], "--role-name 'bad!name': not an IAM role name"),
    (["iam-policy", "--history", "s3://bucket/prefix"], "iam-policy: --history and --history-kms-key go with --scanner"),
    (["iam-policy", "--scanner", "--cloudformation"], "iam-policy: --scanner prints a policy"),
    (["iam-policy", "--checks", "nope"], "unknown check id 'nope' (see `orgscan checks list`)"),
    (["plugins", "--disable-plugin", "nonexistent"], "--disable-plugin: no plugin named 'nonexistent' (see `orgscan plugins`)"),
])
def test_a_usage_error_is_one_line_exit_2_and_creates_nothing(unreachable_aws, tmp_path, monkeypatch, capsys, argv, line):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"orgscan: error: {line}") and captured.err.count("\n") == 1, captured.err
    assert captured.out == "" and "Traceback" not in captured.err
    assert list(tmp_path.iterdir()) == []  # no output directory, no spool


@pytest.mark.parametrize("text, line", [
    ("regions = [\n", "invalid TOML: "),
    ("concurency = 4\n", "unknown key 'concurency' (did you mean 'concurrency'?)"),
    ("check-timeout = -1\n", None),
])
def test_a_bad_config_file_is_one_line_naming_it(unreachable_aws, tmp_path, capsys, text, line):
    config = tmp_path / "orgscan.toml"
    config.write_text(text)
    assert main(["scan", "--config", str(config), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()
    if line is None:
        assert err.startswith("orgscan: error: --check-timeout must be a number of seconds above 0")
    else:
        assert err.startswith(f"orgscan: error: {config}: {line}")


def test_no_command_prints_the_help_and_exits_2(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: orgscan") and "scan" in err
