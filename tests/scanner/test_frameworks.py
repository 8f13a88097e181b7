"""Compliance frameworks as data: the built-in framework files, the hook that ships them, and refusing wrong files."""
from __future__ import annotations

import sys
import textwrap

import pytest

from scanner.errors import UsageError
from scanner.frameworks import collect_frameworks, load_framework
from scanner.plugins import build_plugin_manager, collect_checks
from tests.scanner.test_scan import CLOSED, FAKE, HOST_SCENARIO, LOCKED, MANAGEMENT, NESTED, PROD, SANDBOX

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Every CIS / FSBP control a built-in check claims, with the page that confirms it. The Security Hub control
#: pages list "Related requirements: CIS AWS Foundations Benchmark v3.0.0/<id>" for each control:
#: IAM.3 (1.14), IAM.5 (1.10), IAM.9 (1.5): https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html
#: CloudTrail.1 (3.1), CloudTrail.2 (3.5), CloudTrail.4 (3.2): https://docs.aws.amazon.com/securityhub/latest/userguide/cloudtrail-controls.html
#: KMS.4 (3.6), KMS.5: https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html
DOCUMENTED_CONTROLS = {
    ("CIS AWS Foundations Benchmark v3.0.0", "1.5"): {"iam_root_mfa_enabled"},
    ("CIS AWS Foundations Benchmark v3.0.0", "1.10"): {"iam_user_console_mfa"},
    ("CIS AWS Foundations Benchmark v3.0.0", "1.14"): {"iam_user_access_keys_rotated"},
    ("CIS AWS Foundations Benchmark v3.0.0", "3.1"): {"cloudtrail_multi_region_logging"},
    ("CIS AWS Foundations Benchmark v3.0.0", "3.2"): {"cloudtrail_log_file_validation"},
    ("CIS AWS Foundations Benchmark v3.0.0", "3.5"): {"cloudtrail_cmk_encryption"},
    ("CIS AWS Foundations Benchmark v3.0.0", "3.6"): {"devopsguru_cmk_rotation_enabled"},
    ("AWS Foundational Security Best Practices", "IAM.3"): {"iam_user_access_keys_rotated"},
    ("AWS Foundational Security Best Practices", "IAM.5"): {"iam_user_console_mfa"},
    ("AWS Foundational Security Best Practices", "IAM.9"): {"iam_root_mfa_enabled"},
    ("AWS Foundational Security Best Practices", "CloudTrail.1"): {"cloudtrail_multi_region_logging"},
    ("AWS Foundational Security Best Practices", "CloudTrail.2"): {"cloudtrail_cmk_encryption"},
    ("AWS Foundational Security Best Practices", "CloudTrail.4"): {"cloudtrail_log_file_validation"},
    ("AWS Foundational Security Best Practices", "KMS.4"): {"devopsguru_cmk_rotation_enabled"},
    ("AWS Foundational Security Best Practices", "KMS.5"): {"kms_key_policy_no_public_access"},
}


def builtin_frameworks():
    return collect_frameworks(build_plugin_manager())


def test_every_framework_control_points_at_an_existing_check():
    checks = collect_checks(build_plugin_manager(), {})
    frameworks = builtin_frameworks()
    assert {f.id for f in frameworks} == {"cis-aws-foundations-3.0.0", "aws-fsbp", "devopsguru-data-protection"}
    for framework in frameworks:
        for control in framework.controls:
            unknown = [check_id for check_id in control.checks if check_id not in checks]
            assert not unknown, f"{framework.source}: control {control.id} names unknown checks {unknown}"


def test_cis_and_fsbp_controls_are_exactly_those_aws_documents_for_the_checks():
    claimed = {(f.name, c.id): set(c.checks) for f in builtin_frameworks() if f.id != "devopsguru-data-protection"
               for c in f.controls}
    assert claimed == DOCUMENTED_CONTROLS


def test_devopsguru_guidance_sections_cover_every_check_that_cites_the_guidance():
    # Every built-in check whose references cite the DevOps Guru data protection guidance is under one of its sections.
    checks = collect_checks(build_plugin_manager(), {})
    (guidance,) = [f for f in builtin_frameworks() if f.id == "devopsguru-data-protection"]
    covered = {check_id for control in guidance.controls for check_id in control.checks}
    citing = {check_id for check_id, check in checks.items()
              if any("devops-guru/latest/userguide/data-protection.html" in url for url in check.metadata.references)}
    assert citing <= covered, citing - covered


def test_the_scan_document_shows_framework_mappings_on_each_check():
    # The frameworks feed scan.checks[].compliance (SARIF tags, ASFF RelatedRequirements, the HTML details).
    from scanner.frameworks import mappings_by_check

    mappings = mappings_by_check(builtin_frameworks())
    assert {"framework": "CIS AWS Foundations Benchmark v3.0.0", "control": "1.5"} in mappings["iam_root_mfa_enabled"]
    assert {"framework": "Amazon DevOps Guru data protection guidance", "control": "Traffic privacy"} in mappings["devopsguru_privatelink_endpoint"]


GOOD = """
[framework]
id = "mine"
name = "My framework"

[[controls]]
id = "M-1"
title = "One"
checks = ["iam_root_mfa_enabled"]
"""


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (GOOD.replace('id = "mine"\n', ""), "framework: 'id' is a required property"),
        (GOOD.replace('id = "mine"', 'id = "Mine Framework"'), "framework.id: 'Mine Framework' does not match"),
        (GOOD.replace('checks = ["iam_root_mfa_enabled"]', "checks = []"), "controls[0].checks: [] should be non-empty"),
        (GOOD.replace('checks = ["iam_root_mfa_enabled"]', 'checks = ["Not A Check"]'), "controls[0].checks[0]: 'Not A Check' does not match"),
        (GOOD.replace('title = "One"\n', ""), "controls[0]: 'title' is a required property"),
        (GOOD.replace('title = "One"', 'title = "One"\nseverity = "high"'), "controls[0]: Additional properties are not allowed ('severity' was unexpected)"),
        (GOOD + '\n[[controls]]\nid = "M-1"\ntitle = "Again"\nchecks = ["iam_user_console_mfa"]\n', "controls[1].id: 'M-1' is already controls[0]"),
        (GOOD.replace('name = "My framework"', 'name = "My framework"\nurl = "http://example.com"'), "framework.url: 'http://example.com' does not match"),
        (GOOD.replace("[[controls]]", "[[controls]"), "not valid TOML"),
        ('controls = []\n[framework]\nid = "mine"\nname = "x"\n', "controls: [] should be non-empty"),
    ],
)
def test_a_wrong_framework_file_is_refused_naming_the_file_entry_and_field(tmp_path, content, problem):
    path = tmp_path / "mine.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_framework(path)
    message = str(caught.value)
    assert message.startswith(f"framework file {path}: "), message
    assert problem in message, message
    assert "\n" not in message


def test_a_framework_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_bytes(GOOD.encode("utf-8").replace(b"My framework", b"My \xff framework"))
    with pytest.raises(UsageError, match=r"mine.toml: not UTF-8 text"):
        load_framework(path)


def _plugin(tmp_path, name, framework_text):
    """A plugin file shipping one framework file through orgscan_register_frameworks, as a third party would."""
    (tmp_path / f"{name}.toml").write_text(framework_text, encoding="utf-8")
    module = tmp_path / f"{name}.py"
    module.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from scanner import hookimpl

        @hookimpl
        def orgscan_register_frameworks():
            return [Path(__file__).with_name("{name}.toml")]
    """), encoding="utf-8")
    return str(module)


def test_a_plugin_shipping_a_wrong_framework_stops_the_scan_with_exit_2_before_any_aws_call(simulated_org, tmp_path, capsys):
    from scanner.cli import main

    plugin = _plugin(tmp_path, "bad_framework", GOOD.replace('checks = ["iam_root_mfa_enabled"]', "checks = 3"))
    simulated_org.interceptor.reset_counts()
    code = main(["scan", "--plugin", plugin, "--output-dir", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert code == 2
    assert f"framework file {tmp_path / 'bad_framework.toml'}: controls[0].checks: 3 is not of type 'array'" in err
    assert "Traceback" not in err
    assert not simulated_org.call_counts()


def test_two_plugins_declaring_one_framework_id_are_refused(tmp_path):
    first = _plugin(tmp_path, "first", GOOD)
    second = _plugin(tmp_path, "second", GOOD.replace('name = "My framework"', 'name = "Another"'))
    with pytest.raises(UsageError, match=r"framework 'mine' \(.*\) is also declared by"):
        collect_frameworks(build_plugin_manager([first, second]))


def test_a_plugin_framework_is_summarised_per_control_from_a_real_scan(make_org, run_orgscan):
    """The fake plugin's framework over its two checks, on HOST_SCENARIO.

    Expected from the scenario and AWS's documented behaviour: no account declares an account alias, so
    ListAccountAliases answers an empty list (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAccountAliases.html)
    and fake_account_alias_present FAILs in every scanned account; LOCKED's role cannot be assumed (ERROR);
    CLOSED is suspended (skipped: no result); fake_vpc_count PASSes for each default VPC (one per scanned
    account and region).
    """
    make_org(HOST_SCENARIO)
    code, document = run_orgscan("--org", *FAKE, "--regions", "us-east-1")

    scanned = {MANAGEMENT, PROD, NESTED, SANDBOX}
    frameworks = {f["framework"]: f for f in document["summary"]["compliance"]}
    fake = {c["id"]: c for c in frameworks["fake-framework"]["controls"]}
    assert fake["F-1"]["status"] == "FAIL"
    assert fake["F-1"]["counts"] == {"PASS": 0, "FAIL": len(scanned), "ERROR": 1, "NOT_APPLICABLE": 0}
    assert fake["F-1"]["failing_accounts"] == sorted(scanned)
    vpc_passes = sum(1 for r in document["results"] if r["check_id"] == "fake_vpc_count" and r["status"] == "PASS")
    assert vpc_passes >= len(scanned)
    assert fake["F-2"]["counts"] == {"PASS": vpc_passes, "FAIL": len(scanned), "ERROR": 2, "NOT_APPLICABLE": 0}
    assert LOCKED not in fake["F-2"]["failing_accounts"] and CLOSED not in fake["F-2"]["failing_accounts"]
    # Only two checks ran: the built-in frameworks' controls have no results, and say so.
    cis = frameworks["cis-aws-foundations-3.0.0"]
    assert {c["status"] for c in cis["controls"]} == {"NO_RESULTS"}
    assert cis["by_status"]["NO_RESULTS"] == len(cis["controls"])
    assert {"framework": "Fake framework", "control": "F-1"} in next(
        c for c in document["scan"]["checks"] if c["id"] == "fake_account_alias_present")["compliance"]


def test_the_shipped_framework_files_are_valid_toml_read_independently():
    # Read with tomllib, not orgscan's loader: the package ships what the loader accepts.
    for framework in builtin_frameworks():
        raw = tomllib.loads(open(framework.source, encoding="utf-8").read())
        assert [c["id"] for c in raw["controls"]] == [c.id for c in framework.controls]
