"""Check options are validated once, when the scan is planned, against the schemas the checks declare.

Through the real command line: a wrong ``[checks.<id>]`` option is exit 2 with one line naming
the file, the table and the key, before any AWS call; good options reach the checks.
"""
from __future__ import annotations

import pytest

from scanner.cli import main
from scanner.errors import UsageError
from scanner.model import CheckMetadata, Remediation, Scope, Severity, check
from scanner.options import describe, option_values, validate_check_options

USERS = "230000000001"
SCENARIO = {
    "organization": {"management_account": USERS, "regions": ["us-east-1"]},
    "accounts": [
        {"id": USERS, "name": "users", "email": "u@example.com", "iam_users": [
            {"name": "idle", "access_keys": [{"age_days": 60, "last_used_days_ago": 50}]},
        ]},
    ],
}
ROTATION = "iam_user_access_keys_rotated"


def _config(tmp_path, text):
    path = tmp_path / "orgscan.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("table, line", [
    (f"[checks.{ROTATION}]\nmax-age-days = 0\n",
     f"[checks.{ROTATION}] max_age_days: expected a whole number from 1 to 36500"),
    (f"[checks.{ROTATION}]\nmax_age_days = 1.5\n",
     f"[checks.{ROTATION}] max_age_days: expected a whole number from 1 to 36500"),
    (f"[checks.{ROTATION}]\nmax_age = 30\n",
     f"[checks.{ROTATION}] max_age: unknown option; did you mean 'max_age_days'? (known: max_age_days)"),
    ("[checks.devopsguru_privatelink_endpoint]\nvpcs = \"some\"\n",
     "[checks.devopsguru_privatelink_endpoint] vpcs: expected one of with-subnets, all"),
    ("[checks.devopsguru_privatelink_endpoint.vpc-tags]\nEnvironment = [\"prod\", 3]\n",
     "[checks.devopsguru_privatelink_endpoint] vpc_tags.Environment: expected a string or a non-empty list of strings"),
    ("[checks.devopsguru_cmk_policy_grants_service]\nrequire-explicit-statement = \"yes\"\n",
     "[checks.devopsguru_cmk_policy_grants_service] require_explicit_statement: expected true or false"),
    ("[checks.tags_no_sensitive_data]\nallow-value-patterns = [\"ok\", \"(\"]\n",
     "[checks.tags_no_sensitive_data] allow_value_patterns[1]: expected a regular expression"),
    ("[checks.urls_no_embedded_credentials]\nallow-query-parameters = \"key\"\n",
     "[checks.urls_no_embedded_credentials] allow_query_parameters: expected a list of strings"),
    ("[checks.iam_root_mfa_enabled]\nmax_age_days = 30\n",
     "[checks.iam_root_mfa_enabled] max_age_days: unknown option (this check takes no options)"),
    ("[checks.tags_no_sensitiv_data]\nignore-kinds = []\n",
     "[checks.tags_no_sensitiv_data]: no loaded check has this id; did you mean 'tags_no_sensitive_data'? "
     "(see `orgscan checks list`)"),
])
def test_a_wrong_option_is_exit_2_naming_file_table_and_key_before_any_aws_call(unreachable_aws, tmp_path, capsys, table, line):
    config = _config(tmp_path, table)
    output_dir = tmp_path / "out"
    assert main(["scan", "--config", str(config), "--output-dir", str(output_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"orgscan: error: {config} {line}\n"
    assert not output_dir.exists()


def test_the_same_options_pass_the_plan_when_right(unreachable_aws, tmp_path, capsys):
    # The other direction of the test above: only the options change, and the scan gets as far as AWS.
    config = _config(tmp_path, f"[checks.{ROTATION}]\nmax-age-days = 30\n[checks.tags_no_sensitive_data]\n"
                               "allow-value-patterns = ['.*@example\\.com']\nignore-kinds = ['phone_number']\n")
    code = main(["scan", "--config", str(config), "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0 and "[checks." not in err and "127.0.0.1:9" in err


def test_good_options_reach_the_check(make_org, run_orgscan, tmp_path):
    make_org(SCENARIO)
    config = _config(tmp_path, f"regions = ['us-east-1']\n[checks]\ninclude = ['{ROTATION}']\n"
                               f"[checks.{ROTATION}]\nmax-age-days = 30\n")
    code, document = run_orgscan("--config", str(config))
    idle = next(r for r in document["results"] if r["resource_id"].endswith("idle"))
    # "idle" (60 days old, used 50 days ago) passes the default 90 days and fails 30.
    assert idle["status"] == "FAIL" and idle["evidence"]["MaxAgeDays"] == 30 and code == 1
    code, document = run_orgscan("--checks", ROTATION, "--regions", "us-east-1")
    idle = next(r for r in document["results"] if r["resource_id"].endswith("idle"))
    assert idle["status"] == "PASS" and idle["evidence"]["MaxAgeDays"] == 90


@pytest.mark.parametrize("command", [["iam-policy"], ["iam-policy", "--cloudformation"], ["deploy", "--cloudformation"]])
def test_iam_policy_and_deploy_refuse_the_config_a_scan_refuses(unreachable_aws, tmp_path, capsys, command):
    config = _config(tmp_path, f"[checks.{ROTATION}]\nmax-age-days = -1\n")
    assert main([*command, "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"orgscan: error: {config} [checks.{ROTATION}] max_age_days: expected a whole number from 1 to 36500\n"
    assert captured.out == ""
    good = _config(tmp_path, f"[checks.{ROTATION}]\nmax-age-days = 30\n")
    assert main([*command, "--config", str(good)]) == 0
    assert "iam:ListAccessKeys" in capsys.readouterr().out


def test_resume_validates_the_options_stored_in_the_plan(make_org, run_orgscan, tmp_path, capsys):
    """plan.json lies in the output directory: options read back from it pass the same validation, naming it."""
    import json

    from scanner.document import PLAN_FILE, Spool

    make_org(SCENARIO)
    code, _ = run_orgscan("--checks", ROTATION, "--regions", "us-east-1")
    output_dir = tmp_path / "orgscan-out-1"
    spool = Spool(output_dir)
    plan = spool.read_plan()
    plan["settings"]["check_options"] = {ROTATION: {"max_age_days": "ninety"}}
    spool.write_plan(plan)  # signed again, as an attacker with the key could: the validation still holds
    capsys.readouterr()
    assert main(["scan", "--resume", str(output_dir)]) == 2
    err = capsys.readouterr().err
    assert err == (f"orgscan: error: {spool.directory / PLAN_FILE} [checks.{ROTATION}] max_age_days: "
                   "expected a whole number from 1 to 36500\n"), json.dumps(err)


# The pieces under the command line ---------------------------------------------------------------


def _check_with(**option_schemas):
    metadata = CheckMetadata(id="optioned", title="t", severity=Severity.LOW, service="s", resource_type="AWS::::Account",
                             scope=Scope.ACCOUNT, rationale="r", remediation=Remediation(text="x"),
                             iam_actions=("sts:GetCallerIdentity",), option_schemas=option_schemas)

    @check(metadata)
    def optioned(ctx):
        return []

    return optioned


def test_option_values_fill_in_defaults_and_read_dashes_as_underscores():
    optioned = _check_with(limit={"type": "integer", "default": 5}, names={"type": "array", "items": {"type": "string"}})
    assert option_values(optioned.metadata, None) == {"limit": 5}
    assert option_values(optioned.metadata, {"limit": 7, "names": ["a"]}) == {"limit": 7, "names": ["a"]}


def test_a_check_whose_schema_is_not_json_schema_is_refused_naming_it():
    broken = _check_with(limit={"type": "whole number"})
    with pytest.raises(UsageError, match=r"^check optioned: option 'limit': not a JSON Schema"):
        validate_check_options({"optioned": broken}, {})
    wrong_default = _check_with(limit={"type": "integer", "minimum": 1, "default": 0})
    with pytest.raises(UsageError, match=r"^check optioned: option 'limit': its default does not fit its own schema$"):
        validate_check_options({"optioned": wrong_default}, {})


def test_an_option_name_must_be_snake_case():
    with pytest.raises(ValueError, match="option name 'max-age' is not snake_case"):
        _check_with(**{"max-age": {"type": "integer"}})


def test_a_hostile_table_or_key_name_stays_one_line():
    optioned = _check_with(limit={"type": "integer"})
    with pytest.raises(UsageError) as refused:
        validate_check_options({"optioned": optioned}, {"optioned": {"lim\nit\x1b[31m" + "x" * 500: 1}}, "orgscan.toml")
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value) and len(str(refused.value)) < 400
    with pytest.raises(UsageError) as refused:
        validate_check_options({"optioned": optioned}, {"opt\nioned": {}}, "orgscan.toml")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("schema, words", [
    ({"type": "integer", "minimum": 1, "maximum": 10}, "a whole number from 1 to 10"),
    ({"type": "integer", "minimum": 0}, "a whole number of at least 0"),
    ({"type": "number", "maximum": 2.5}, "a number of at most 2.5"),
    ({"type": "boolean"}, "true or false"),
    ({"enum": ["a", "b"]}, "one of a, b"),
    ({"type": "array", "items": {"type": "string"}}, "a list of strings"),
    ({"type": "array", "items": {"enum": ["x", "y"]}}, "a list, each one of x, y"),
    ({"type": "object", "additionalProperties": {"type": "boolean"}}, "a table of key = true or false"),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "a string or a whole number"),
])
def test_a_schema_is_described_in_words(schema, words):
    assert describe(schema) == words
