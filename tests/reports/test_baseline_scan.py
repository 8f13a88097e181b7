"""``--baseline`` end to end: the simulated organization scanned twice, with changes in between.

Between the scans (real API calls to the simulated organization, as the accounts' own roles):

* the KMS key whose policy is open to everyone gets a policy that trusts only its account (fixed);
* a new key with a policy open to everyone is created in another account (new);
* an account that had a FAIL leaves the organization (not scanned: its FAILs are not "fixed").

Expected verdicts of the KMS public access check follow AWS's documentation: a key policy statement
that allows ``"Principal": "*"`` without a condition gives everyone access
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html, "Principal";
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html, "Allows access to the
AWS account and enables IAM policies" is the account-only statement). SARIF's ``baselineState``
values are SARIF 2.1.0 section 3.27.24 (new, unchanged, updated, absent).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from report_browser import open_report, visible_rows
from test_sarif import assert_valid

CHECKS = "kms_key_policy_no_public_access,kms_key_policy_admin_restricted,iam_root_mfa_enabled"
PUBLIC_CHECK = "kms_key_policy_no_public_access"
REGIONS = "us-east-1,eu-west-1"


def _account_only_policy(account_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"}]})


def _public_policy(account_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "EveryoneMayDecrypt", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]})


def _scan(output: Path, *extra: str) -> tuple[int, dict]:
    from scanner.cli import main

    code = main(["scan", "--org", "--regions", REGIONS, "--checks", CHECKS, "--output-dir", str(output), "--quiet", *extra])
    return code, json.loads((output / "results.json").read_text(encoding="utf-8"))


_SCANS: dict[str, object] = {}


@pytest.fixture
def two_scans(request):
    """(first document, second document, second output dir, what changed) around real changes to the organization.

    Made once for the module; ``changes["third"]`` holds a third scan of the unchanged state.
    """
    if not _SCANS:
        _SCANS["value"] = _make_scans(request.getfixturevalue("make_org"),
                                      request.getfixturevalue("tmp_path_factory").mktemp("baseline"))
    return _SCANS["value"]


def _make_scans(make_org, tmp_path):
    from scanner.simulator import default_scenario

    sim = make_org(default_scenario())
    first_dir, second_dir = tmp_path / "week1", tmp_path / "week2"
    code, first = _scan(first_dir)
    assert code == 1
    public = next(r for r in first["results"] if r["check_id"] == PUBLIC_CHECK and r["status"] == "FAIL")
    management = first["scan"]["management_account_id"]
    # An account with a FAIL that is neither the management account nor the public key's leaves the organization.
    leaving = next(r["account_id"] for r in first["results"]
                   if r["status"] == "FAIL" and r["account_id"] not in (management, public["account_id"]))
    gaining = next(a["id"] for a in first["scan"]["accounts"]
                   if a["status"] == "scanned" and a["id"] not in (management, public["account_id"], leaving))

    sim.client("kms", public["region"], account_id=public["account_id"]).put_key_policy(
        KeyId=public["resource_id"], PolicyName="default", Policy=_account_only_policy(public["account_id"]))
    created = sim.client("kms", "us-east-1", account_id=gaining).create_key(
        Description="shared by mistake", Policy=_public_policy(gaining))["KeyMetadata"]
    sim.client("organizations").remove_account_from_organization(AccountId=leaving)

    code, second = _scan(second_dir, "--baseline", str(first_dir / "results.json"), "--fail-on-new",
                         "--format", "html,sarif,asff,markdown")
    changes = {"fixed": public, "new_key": created["KeyId"], "new_key_account": gaining, "left": leaving, "code": code}
    # A third scan of the same state, with and without --fail-on-new.
    changes["third"] = _scan(tmp_path / "week3", "--baseline", str(second_dir / "results.json"), "--fail-on-new")
    changes["third_plain_code"] = _scan(tmp_path / "week3-plain", "--baseline", str(second_dir / "results.json"))[0]
    return first, second, second_dir, changes


def test_every_change_and_fixed_result(two_scans):
    first, second, _, changes = two_scans
    # The new public key is a new critical FAIL: --fail-on-new fails the run.
    assert changes["code"] == 1
    assert second["baseline"]["scan_id"] == first["scan"]["id"]

    by_fp = {r["fingerprint"]: r for r in second["results"]}
    fixed_now = by_fp[changes["fixed"]["fingerprint"]]
    assert fixed_now["status"] == "PASS" and fixed_now["change"] == "changed"
    assert fixed_now["previous"]["status"] == "FAIL"

    new_key = next(r for r in second["results"] if r["check_id"] == PUBLIC_CHECK and changes["new_key"] in r["resource_id"])
    assert new_key["status"] == "FAIL" and new_key["change"] == "new"
    assert new_key["account_id"] == changes["new_key_account"]

    # Nothing of the account that left was scanned, and none of its FAILs counts as fixed.
    assert all(r["account_id"] != changes["left"] for r in second["results"])
    assert [f["fingerprint"] for f in second["fixed"]] == [changes["fixed"]["fingerprint"]]
    assert second["fixed"][0]["fixed_reason"] == "passes"

    # Everything else is what the first scan found: the same fingerprint with the same verdict.
    earlier = {r["fingerprint"]: r for r in first["results"]}
    for result in second["results"]:
        if result["fingerprint"] in (fixed_now["fingerprint"],) or result is new_key:
            continue
        if result["fingerprint"] not in earlier:
            # The new key's other verdicts (admin check) are new too.
            assert changes["new_key"] in result["resource_id"], result
            assert result["change"] == "new"
            continue
        assert result["change"] == "unchanged", result
    counts = second["baseline"]["counts"]
    assert counts["fixed"] == 1 and counts["changed"] == 1
    assert counts["new"] == sum(1 for r in second["results"] if r["change"] == "new") >= 1
    assert counts["new"] + counts["changed"] + counts["unchanged"] == len(second["results"])

    from scanner.results_schema import validate_document

    validate_document(second)


def test_sarif_baseline_state(two_scans):
    _, second, output, changes = two_scans
    log = assert_valid(output / "results.sarif")
    results = log["runs"][0]["results"]
    by_fp = {}
    for result in results:
        by_fp.setdefault(result["partialFingerprints"]["orgscanFingerprint/v1"], []).append(result)
    absent = by_fp[changes["fixed"]["fingerprint"]]
    assert [r["baselineState"] for r in absent] == ["absent"]
    assert absent[0]["properties"]["fixed_reason"] == "passes"
    # Nothing fails any more: the fixed finding is not an alert (SARIF 3.27.9 kind "pass", 3.27.10 level "none").
    assert (absent[0]["kind"], absent[0]["level"]) == ("pass", "none")
    expected = {"new": "new", "unchanged": "unchanged", "changed": "updated"}
    for record in second["results"]:
        if record["status"] == "FAIL":
            assert [r["baselineState"] for r in by_fp[record["fingerprint"]]] == [expected[record["change"]]]
    assert sum(1 for r in results if r["baselineState"] == "new") == sum(
        1 for r in second["results"] if r["status"] == "FAIL" and r["change"] == "new")


def test_markdown_leads_with_the_delta(two_scans):
    _, second, output, _ = two_scans
    summary = (output / "summary.md").read_text(encoding="utf-8")
    assert summary.index("### Since the last scan") < summary.index("**Pass rate")
    new_fails = sum(1 for r in second["results"] if r["status"] == "FAIL" and r["change"] == "new")
    assert f"**{new_fails} new FAIL**, **1 fixed**, 1 changed." in summary


def test_asff_of_a_compared_scan_is_importable(two_scans):
    import botocore.session
    from botocore.validate import ParamValidator

    _, second, output, changes = two_scans
    findings = json.loads((output / "findings.asff.json").read_text(encoding="utf-8"))
    shape = botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings[:100]}, shape)
    assert not report.has_errors(), report.generate_report()
    # The fixed key is the current PASS result: a PASSED finding with the same Id as last week's FAILED one.
    fixed = [f for f in findings if f["ProductFields"]["orgscan/Fingerprint"] == changes["fixed"]["fingerprint"]]
    assert [(f["Compliance"]["Status"], f["RecordState"]) for f in fixed] == [("PASSED", "ACTIVE")]


@pytest.mark.browser
def test_html_since_the_last_scan_in_chromium(two_scans, chromium_browser, tmp_path):
    _, second, output, changes = two_scans
    new_fails = sum(1 for r in second["results"] if r["status"] in ("FAIL", "ERROR") and r["change"] == "new")
    context, page, problems = open_report(chromium_browser, output / "report.html")
    try:
        assert page.locator("#delta-new").text_content() == str(new_fails)
        assert page.locator("#delta-fixed").text_content() == "1"
        assert page.locator("#delta-changed").text_content() == "1"
        assert changes["fixed"]["resource_id"] in page.locator("#delta-fixed-list").text_content()
        assert changes["new_key"] in page.locator("#delta-new-list").text_content()
        page.select_option("#filter-change", label="new")
        assert visible_rows(page) == new_fails
        assert changes["new_key"] in page.locator("#findings-body").text_content()
        page.select_option("#filter-status", label="all statuses")
        page.select_option("#filter-change", label="changed")
        assert visible_rows(page) == 1
        assert changes["fixed"]["resource_id"] in page.locator("#findings-body").text_content()
        page.click("#filter-reset")
        assert visible_rows(page) == min(100, sum(1 for r in second["results"] if r["status"] != "PASS"))
        assert problems == []
    finally:
        context.close()


def test_fail_on_new_ignores_known_failures(two_scans):
    """A third scan of the same state: every FAIL is known, so only the ERROR of the denied account sets the exit code."""
    _, _, _, changes = two_scans
    code, third = changes["third"]
    assert {r["change"] for r in third["results"]} == {"unchanged"}
    assert third["fixed"] == []
    assert any(r["status"] == "FAIL" for r in third["results"])
    assert any(r["status"] == "ERROR" for r in third["results"])
    assert code == 3
    assert changes["third_plain_code"] == 1
