"""``orgscan suppressions import-prowler``: a Prowler mute list (tests/scanner/data/prowler_mutelist.yaml, written from
Prowler's documented format) converted into suppressions that match what Prowler mutes, never more."""
from __future__ import annotations

import fnmatch
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from scanner.cli import main
from scanner.document import result_record
from scanner.errors import UsageError
from scanner.prowler_mutelist import Unrepresentable, convert_mutelist, import_prowler, prowler_pattern_to_glob
from scanner.suppressions import apply_suppressions, load_suppressions, parse_suppressions, today_utc

MUTELIST = Path(__file__).parent / "data" / "prowler_mutelist.yaml"
TODAY = date(2026, 11, 30)
EXPIRES = date(2027, 1, 31)


def bridged(check, account, region, resource):
    """A result of the Prowler bridge (docs/prowler.md: check ids are prowler.<CheckID>)."""
    return result_record(check_id=f"prowler.{check}", title="t", service="s", status="FAIL", severity="medium",
                         account_id=account, region=region, target_region=region, resource_type="Other",
                         resource_id=resource, resource_arn=None, message="m")


def imported():
    outcome = import_prowler(MUTELIST, owner="secops@example.com", expires=EXPIRES, today=TODAY, skip_unsupported=True)
    import tomllib

    return outcome, parse_suppressions(tomllib.loads(outcome.toml), "imported.toml", today=TODAY)


# Expected verdicts: the comments of Prowler's documented example (docs/tutorials/mutelist.md,
# prowler/config/aws_mutelist_example.yaml) say which resources each entry mutes.
@pytest.mark.parametrize("check, account, region, resource, muted", [
    # "Will ignore user-1 in check iam_user_hardware_mfa_enabled" (account 123456789012, us-east-1)
    ("iam_user_hardware_mfa_enabled", "123456789012", "us-east-1", "user-1", True),
    ("iam_user_hardware_mfa_enabled", "123456789012", "us-east-1", "user-2", True),
    ("iam_user_hardware_mfa_enabled", "123456789012", "us-east-1", "user-3", False),
    ("iam_user_hardware_mfa_enabled", "123456789012", "eu-west-1", "user-1", False),
    ("iam_user_hardware_mfa_enabled", "210987654321", "us-east-1", "user-1", False),
    # "Will ignore every EC2 check in every account and region" (of account 123456789012)
    ("ec2_instance_public_ip", "123456789012", "ap-south-1", "i-0abc", True),
    ("ec2_instance_public_ip", "210987654321", "ap-south-1", "i-0abc", False),
    # 's3_bucket_object_versioning' in eu-west-1 and us-east-1, every account:
    # "Will ignore bucket ci-logs AND ALSO bucket ci-logs-replica"
    ("s3_bucket_object_versioning", "210987654321", "eu-west-1", "ci-logs", True),
    ("s3_bucket_object_versioning", "210987654321", "eu-west-1", "ci-logs-replica", True),
    # "Will ignore EVERY BUCKET containing the string logs"
    ("s3_bucket_object_versioning", "210987654321", "us-east-1", "my-logs-archive", True),
    # ".+-logs": "all buckets containing the terms ci-logs, qa-logs, etc."
    ("s3_bucket_object_versioning", "210987654321", "us-east-1", "qa-logs", True),
    ("s3_bucket_object_versioning", "210987654321", "us-east-1", "customer-data", False),
    ("s3_bucket_object_versioning", "210987654321", "ap-south-1", "ci-logs", False),
    # The "*" check of 123456789012 needs the tag test=test: results without tags are not muted.
    ("rds_instance_backup_enabled", "123456789012", "us-east-1", "test-db", False),
])
def test_imported_entries_mute_what_prowler_documents(check, account, region, resource, muted):
    _, suppressions = imported()
    document = {"results": [bridged(check, account, region, resource)]}
    assert ("suppression" in apply_suppressions(document, suppressions, TODAY)["results"][0]) is muted


def test_the_tagged_entry_matches_results_that_carry_the_tag():
    _, suppressions = imported()
    result = dict(bridged("rds_instance_backup_enabled", "123456789012", "us-east-1", "test-db"), resource_tags={"test": "test"})
    assert apply_suppressions({"results": [result]}, suppressions, TODAY)["results"][0]["suppression"]["entry"]["id"] == "prowler-3"


def test_the_converted_file_names_owner_expiry_and_origin():
    outcome, suppressions = imported()
    assert outcome.imported == len(suppressions.entries) == 4
    first = suppressions.entries[0]
    assert (first.owner, first.expires) == ("secops@example.com", EXPIRES)
    assert first.justification == ("Imported from the Prowler mute list prowler_mutelist.yaml: account 123456789012, "
                                   "check iam_user_hardware_mfa_enabled: Break-glass users carry virtual MFA devices in the safe")
    assert [e.checks for e in suppressions.entries] == [
        ("prowler.*iam_user_hardware_mfa_enabled*",), ("prowler.*ec2*",), ("prowler.*",), ("prowler.*s3_bucket_object_versioning*",)]
    # What cannot be represented is named, never widened into something broader.
    assert len(outcome.skipped) == 2
    assert "Checks.ecs_task_definitions_no_environment_secrets: Exceptions cannot be represented" in outcome.skipped[0]
    assert "Checks.vpc_flow_logs_enabled" in outcome.skipped[1] and "'project=test|project=stage'" in outcome.skipped[1]


def test_without_skip_unsupported_the_file_is_refused_by_name(capsys):
    code = main(["suppressions", "import-prowler", str(MUTELIST), "--owner", "secops@example.com"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{MUTELIST}: Accounts.*.Checks.ecs_task_definitions_no_environment_secrets: Exceptions cannot be represented" in err


def test_the_command_writes_a_file_the_scan_reads(tmp_path, capsys):
    out = tmp_path / "accepted.toml"
    expires = (today_utc() + timedelta(days=60)).isoformat()
    assert main(["suppressions", "import-prowler", str(MUTELIST), "--owner", "secops@example.com", "--expires", expires,
                 "--skip-unsupported", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "wrote 4 suppression(s)" in err and err.count("orgscan: skipped:") == 2
    loaded = load_suppressions(out)
    assert [e.id for e in loaded.entries] == ["prowler-1", "prowler-2", "prowler-3", "prowler-4"]
    assert {e.expires.isoformat() for e in loaded.entries} == {expires}
    # Without --expires, entries last 90 days.
    assert main(["suppressions", "import-prowler", str(MUTELIST), "--owner", "o", "--skip-unsupported", "-o", str(out)]) == 0
    assert {e.expires for e in load_suppressions(out).entries} == {today_utc() + timedelta(days=90)}


@pytest.mark.parametrize("args, message", [
    ([], "--owner is required"),
    (["--owner", "o", "--expires", "2020-01-01"], "--expires 2020-01-01: already past"),
    (["--owner", "o", "--expires", "tomorrow"], "--expires 'tomorrow': not a date"),
    (["--owner", "o", "--expires", "2999-01-01"], "field 'expires': 2999-01-01 is more than 365 days away"),
])
def test_bad_options_are_refused(args, message, capsys):
    assert main(["suppressions", "import-prowler", str(MUTELIST), "--skip-unsupported", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [
    ("Mutelist:\n  Accounts:\n    '*':\n      Checks: {}\n    '*':\n      Checks: {}\n", "line 5: the key '*' appears twice"),
    ("Other: {}\n", "no 'Mutelist' (or 'Mute List') key"),
    ("Mutelist:\n  Accounts:\n    '1234':\n      Checks: {}\n", "'1234' is neither a 12-digit account id"),
    ("Mutelist:\n  Accounts:\n    '*':\n      Checks:\n        x:\n          Regions: ['*']\n", "Checks.x: field 'Resources': missing"),
    ("Mutelist:\n  Accounts:\n    '*':\n      Checks:\n        x:\n          Regions: ['*']\n          Resources: ['*']\n"
     "          Typo: 1\n", "Checks.x: unknown field 'Typo'"),
    ("Mutelist: [\n", "invalid YAML"),
    ("Mutelist: !!python/object:os.system {}\n", "invalid YAML"),
])
def test_malformed_mute_lists_are_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "mutelist.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        import_prowler(path, owner="o", expires=EXPIRES, today=TODAY)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_the_older_mute_list_key_and_empty_lists():
    raw = {"Mute List": {"Accounts": {"*": {"Checks": {"a": {"Regions": [], "Resources": ["*"]},
                                                         "b": {"Regions": ["*"], "Resources": ["*"]}}}}}}
    outcome = convert_mutelist(raw, "old.yaml", owner="o", expires=EXPIRES)
    assert outcome.imported == 1  # an empty Regions list mutes nothing in Prowler
    assert "mutes nothing" in outcome.skipped[0]


@pytest.mark.parametrize("pattern, glob", [
    ("user-1", "*user-1*"), ("*", "*"), ("^user-1$", "user-1"), (".+-logs", "*?*-logs*"), ("ec2_*", "*ec2*"),
    ("a\\.b", "*a.b*"), ("^arn:aws:s3:::.*-logs$", "arn:aws:s3:::*-logs"), ("x+", "*x*"),
])
def test_pattern_translation(pattern, glob):
    assert prowler_pattern_to_glob(pattern) == glob


@pytest.mark.parametrize("pattern", ["a|b", "[ab]", "(a)", "a{2}", "\\d+", "a*b", ".?x", "x+$", "a\\*"])
def test_regexes_without_a_glob_equivalent_are_refused(pattern):
    with pytest.raises(Unrepresentable):
        prowler_pattern_to_glob(pattern)


TRANSLATABLE = st.lists(st.sampled_from(["a", "b", "-", ".", ".*", ".+", "\\.", "1"]), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(parts=TRANSLATABLE, start=st.booleans(), end=st.booleans(), value=st.text(alphabet="ab-.1", max_size=8))
def test_a_translated_glob_matches_exactly_what_prowlers_search_matches(parts, start, end, value):
    pattern = ("^" if start else "") + "".join(parts) + ("$" if end else "")
    glob = prowler_pattern_to_glob(pattern)
    assert fnmatch.fnmatchcase(value, glob) == bool(re.search(pattern, value)), (pattern, glob, value)
