"""``orgscan upload securityhub`` against the simulated organization's Security Hub, over HTTP, through real AssumeRole."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scanner.integrations import securityhub
from scanner.integrations.asff import finding_id, product_arn
from tests.reports.report_documents import KMS_KEY_ROTATION, ROOT_MFA, TAGS_SENSITIVE, document, key_arn, result
from scanner.simulator import Faults

MANAGEMENT, PROD, DEV = "111111111111", "222222222222", "333333333333"
REGIONS = ("us-east-1", "eu-west-1")
SCENARIO = {
    "name": "securityhub-upload",
    "organization": {"management_account": MANAGEMENT, "id": "o-uploadtest01", "regions": list(REGIONS)},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com"},
        {"id": PROD, "name": "prod", "email": "prod@example.com"},
        {"id": DEV, "name": "dev", "email": "dev@example.com"},
    ],
}


def accounts_entries():
    return [{"id": a, "name": n, "status": "scanned", "error": None}
            for a, n in ((MANAGEMENT, "management"), (PROD, "prod"), (DEV, "dev"))]


def key_result(status, account_id, region, key_id):
    return result(KMS_KEY_ROTATION, status, account_id, region, key_id,
                  f"rotation {'off' if status == 'FAIL' else 'on'}", {"KeyRotationEnabled": status == "PASS"},
                  key_arn(account_id, region, key_id))


def first_scan():
    return document([
        key_result("FAIL", PROD, "us-east-1", "key-fixed-later"),
        key_result("FAIL", PROD, "us-east-1", "key-deleted-later"),
        key_result("FAIL", PROD, "eu-west-1", "key-eu"),
        key_result("PASS", PROD, "eu-west-1", "key-always-fine"),
        key_result("FAIL", DEV, "us-east-1", "key-dev"),
        result(ROOT_MFA, "FAIL", DEV, "global", DEV, "no root MFA", {"AccountMFAEnabled": 0}, f"arn:aws:iam::{DEV}:root"),
        result(TAGS_SENSITIVE, "FAIL", MANAGEMENT, "us-east-1", "bucket-a", "tag holds a secret",
               {"tag_value": "****"}, "arn:aws:s3:::bucket-a"),
    ], accounts=accounts_entries(), regions=REGIONS, organization_id="o-uploadtest01")


def second_scan():
    later = document([
        key_result("PASS", PROD, "us-east-1", "key-fixed-later"),
        # key-deleted-later is gone: no result for it any more
        key_result("PASS", PROD, "eu-west-1", "key-always-fine"),
        result(KMS_KEY_ROTATION, "ERROR", PROD, "eu-west-1", PROD, "access denied to kms:ListKeys"),
        key_result("FAIL", DEV, "us-east-1", "key-dev"),
        result(ROOT_MFA, "FAIL", DEV, "global", DEV, "no root MFA", {"AccountMFAEnabled": 0}, f"arn:aws:iam::{DEV}:root"),
        result(TAGS_SENSITIVE, "FAIL", MANAGEMENT, "us-east-1", "bucket-a", "tag holds a secret",
               {"tag_value": "****"}, "arn:aws:s3:::bucket-a"),
    ], accounts=accounts_entries(), regions=REGIONS, organization_id="o-uploadtest01")
    later["scan"].update(id="scan-2", started_at="2026-11-29T21:00:00Z", finished_at="2026-11-29T21:05:00Z")
    return later


def write(tmp_path: Path, doc: dict, name: str = "results.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def hub_findings(sim, account_id, region):
    client = sim.client("securityhub", region, account_id=account_id)
    findings, kwargs = [], {}
    while True:
        page = client.get_findings(**kwargs)
        findings += [f for f in page["Findings"] if f["AwsAccountId"] == account_id]
        if not page.get("NextToken"):
            return {f["Id"]: f for f in findings}
        kwargs["NextToken"] = page["NextToken"]


@pytest.fixture
def org(make_org):
    sim = make_org(SCENARIO)
    for account_id in (MANAGEMENT, PROD, DEV):
        for region in REGIONS:
            sim.client("securityhub", region, account_id=account_id).enable_security_hub()
    return sim


def test_imports_each_finding_into_its_own_account_and_region(org, tmp_path, capsys):
    doc = first_scan()
    code = securityhub.main([write(tmp_path, doc)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == "6 imported, 0 updated, 0 archived, 0 failed"

    prod_us = hub_findings(org, PROD, "us-east-1")
    assert len(prod_us) == 2
    for finding in prod_us.values():
        assert finding["ProductArn"] == product_arn(PROD, "us-east-1") == f"arn:aws:securityhub:us-east-1:{PROD}:product/{PROD}/default"
        assert finding["Compliance"]["Status"] == "FAILED"
        assert finding["Resources"][0]["Region"] == "us-east-1"
    assert len(hub_findings(org, PROD, "eu-west-1")) == 1  # the PASS of a key never imported before is not sent
    # the account-wide root MFA result lives in the scan's first region
    dev_us = hub_findings(org, DEV, "us-east-1")
    root = next(f for f in dev_us.values() if f["GeneratorId"] == "iam_root_mfa_enabled")
    assert root["Severity"]["Label"] == "CRITICAL" and root["Resources"][0]["Type"] == "AwsAccount"
    assert hub_findings(org, DEV, "eu-west-1") == {}
    assert set(hub_findings(org, MANAGEMENT, "us-east-1")) == {finding_id(doc["results"][-1])}


def test_later_scan_updates_passing_findings_and_archives_gone_resources(org, tmp_path, capsys):
    assert securityhub.main([write(tmp_path, first_scan(), "first.json")]) == 0
    capsys.readouterr()
    before = hub_findings(org, PROD, "eu-west-1")

    later = second_scan()
    assert securityhub.main([write(tmp_path, later, "second.json")]) == 0
    # imported: two FAILs in DEV, one in the management account, and the ERROR in PROD eu-west-1
    assert capsys.readouterr().out.strip() == "4 imported, 1 updated, 1 archived, 0 failed"

    prod_us = {f["ProductFields"]["orgscan/ResourceId"]: f for f in hub_findings(org, PROD, "us-east-1").values()}
    assert prod_us["key-fixed-later"]["Compliance"]["Status"] == "PASSED"
    assert prod_us["key-fixed-later"]["RecordState"] == "ACTIVE"
    assert prod_us["key-fixed-later"]["CreatedAt"] == "2026-11-28T21:05:00Z"  # first seen in the first scan
    assert prod_us["key-fixed-later"]["UpdatedAt"] == "2026-11-29T21:05:00Z"
    assert prod_us["key-deleted-later"]["RecordState"] == "ARCHIVED"
    # kms in PROD eu-west-1 errored this time: its earlier finding is neither archived nor changed
    after = hub_findings(org, PROD, "eu-west-1")
    eu = next(f for f in after.values() if f["ProductFields"]["orgscan/ResourceId"] == "key-eu")
    assert eu["RecordState"] == "ACTIVE" and eu == before[eu["Id"]]


def test_an_older_document_does_not_undo_a_newer_import(org, tmp_path, capsys):
    newer, older = first_scan(), second_scan()
    newer["scan"]["finished_at"], older["scan"]["finished_at"] = older["scan"]["finished_at"], newer["scan"]["finished_at"]
    assert securityhub.main([write(tmp_path, newer, "newer.json")]) == 0
    capsys.readouterr()
    before = hub_findings(org, PROD, "us-east-1")
    assert securityhub.main([write(tmp_path, older, "older.json")]) == 0
    # only the ERROR finding, which the newer import does not hold, goes in
    assert capsys.readouterr().out.strip() == "1 imported, 0 updated, 0 archived, 0 failed"
    assert hub_findings(org, PROD, "us-east-1") == before


def test_account_whose_role_cannot_be_assumed_fails_and_others_are_imported(org, tmp_path, capsys):
    org.faults.deny_assume_role = {DEV}
    code = securityhub.main([write(tmp_path, first_scan())])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.strip() == "4 imported, 0 updated, 0 archived, 2 failed"
    assert f"account {DEV}: access denied to sts:AssumeRole" in captured.err
    assert len(hub_findings(org, PROD, "us-east-1")) == 2


def test_throttled_imports_are_retried_until_everything_is_in(make_org, tmp_path, capsys, monkeypatch):
    # Standard mode backs off without adaptive mode's client-side rate limiting, which only slows the test down.
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    sim = make_org(SCENARIO, faults=Faults(throttle_rate=0.3, seed=3, fault_operations=("securityhub:BatchImportFindings",)))
    doc = document([key_result("FAIL", PROD, "us-east-1", f"key-{n:04d}") for n in range(150)],
                   accounts=accounts_entries(), regions=REGIONS, organization_id="o-uploadtest01")
    assert securityhub.main([write(tmp_path, doc)]) == 0
    assert capsys.readouterr().out.strip() == "150 imported, 0 updated, 0 archived, 0 failed"
    calls = sim.call_counts()[(PROD, "us-east-1", "securityhub:BatchImportFindings")]
    assert calls > math.ceil(150 / 100)  # some calls were throttled and made again
    sim.faults = Faults()
    assert len(hub_findings(sim, PROD, "us-east-1")) == 150


def test_at_most_100_findings_per_call(org, tmp_path, capsys):
    doc = document([key_result("FAIL", PROD, "eu-west-1", f"key-{n:04d}") for n in range(201)],
                   accounts=accounts_entries(), regions=REGIONS, organization_id="o-uploadtest01")
    assert securityhub.main([write(tmp_path, doc)]) == 0
    assert org.call_counts()[(PROD, "eu-west-1", "securityhub:BatchImportFindings")] == 3


def test_failed_findings_are_retried_then_reported(org):
    client = org.client("securityhub", "us-east-1", account_id=PROD)
    good = securityhub.plan_targets(first_scan())[(PROD, "us-east-1")].current[0]
    broken = dict(good, Id="orgscan/broken", Resources=[])  # Security Hub refuses a finding without resources
    waits = []
    outcome = securityhub.import_findings(client, [good, broken], attempts=3, sleep=waits.append)
    assert outcome.succeeded == 1
    assert [item[:2] for item in outcome.failed] == [("orgscan/broken", "InvalidInput")]
    assert len(waits) == 2
    assert org.call_counts()[(PROD, "us-east-1", "securityhub:BatchImportFindings")] == 3


def test_dry_run_imports_nothing(org, tmp_path, capsys):
    assert securityhub.main([write(tmp_path, first_scan()), "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == "6 would be imported, 0 would be updated, 0 would be archived, 0 failed"
    assert hub_findings(org, PROD, "us-east-1") == {}


def test_concurrency_must_be_positive(tmp_path, capsys):
    assert securityhub.main([str(tmp_path / "results.json"), "--concurrency", "0"]) == 2
    assert capsys.readouterr().err.strip() == "orgscan upload securityhub: --concurrency must be between 1 and 1024"


@pytest.mark.parametrize("content, expected", [
    (None, "no such file"),
    ("{not json", "not valid JSON"),
    (json.dumps({"schema_version": 2, "results": [], "scan": {}}), "schema_version 2 is not supported"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, expected):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert securityhub.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and str(path) in err and len(err.strip().splitlines()) == 1


def test_accounts_the_scan_could_not_reach_are_skipped_and_named(org, tmp_path, capsys):
    doc = first_scan()
    doc["scan"]["accounts"][2].update(status="error", error="could not assume role")
    doc["results"] = [r for r in doc["results"] if r["account_id"] != DEV]
    doc["results"].append(result(KMS_KEY_ROTATION, "ERROR", DEV, "us-east-1", DEV, "could not assume role"))
    from scanner.cli import main as orgscan  # the command line the user runs

    assert orgscan(["upload", "securityhub", write(tmp_path, doc)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "4 imported, 0 updated, 0 archived, 0 failed"
    assert f"skipped 1 account(s) the scan could not reach: {DEV}" in captured.err
    assert hub_findings(org, DEV, "us-east-1") == {}


def test_timestamps_are_compared_as_instants():
    from scanner.integrations.securityhub import _instant, _newer

    assert _instant("2026-11-28T21:05:00Z") == _instant("2026-11-28T21:05:00.000Z") == _instant("2026-11-28T22:05:00+01:00")
    assert _newer("2026-11-28T21:05:00.5Z", _instant("2026-11-28T21:05:00.000000Z"))
    assert not _newer("2026-11-28T21:05:00.000Z", _instant("2026-11-28T21:05:00Z"))
    assert not _newer("not a time", _instant("2026-11-28T21:05:00Z"))


def test_a_finding_reported_in_another_region_than_its_target_is_archived_when_gone(org, tmp_path, capsys):
    # An account-wide check (target "global") reporting a trail in its home region, eu-west-1.
    trail = result(ROOT_MFA, "FAIL", PROD, "eu-west-1", "trail-a", "trail not validated")
    trail["target_region"] = "global"
    first = document([trail], accounts=accounts_entries(), regions=REGIONS, organization_id="o-uploadtest01")
    assert securityhub.main([write(tmp_path, first, "first.json")]) == 0
    capsys.readouterr()
    gone = result(ROOT_MFA, "NOT_APPLICABLE", PROD, "global", PROD, "no trails")
    later = document([gone], accounts=accounts_entries(), regions=REGIONS, organization_id="o-uploadtest01")
    later["scan"]["finished_at"] = "2026-11-29T21:05:00Z"
    assert securityhub.main([write(tmp_path, later, "later.json")]) == 0
    assert capsys.readouterr().out.strip() == "0 imported, 0 updated, 1 archived, 0 failed"
    (finding,) = hub_findings(org, PROD, "eu-west-1").values()
    assert finding["RecordState"] == "ARCHIVED"


def test_account_wide_findings_move_with_the_scans_first_region(org, tmp_path, capsys):
    root = result(ROOT_MFA, "FAIL", DEV, "global", DEV, "no root MFA", {}, f"arn:aws:iam::{DEV}:root")
    first = document([root], accounts=accounts_entries(), regions=REGIONS, organization_id="o-uploadtest01")
    assert securityhub.main([write(tmp_path, first, "first.json")]) == 0
    later = document([root], accounts=accounts_entries(), regions=tuple(reversed(REGIONS)), organization_id="o-uploadtest01")
    later["scan"]["finished_at"] = "2026-11-29T21:05:00Z"
    capsys.readouterr()
    assert securityhub.main([write(tmp_path, later, "later.json")]) == 0
    assert capsys.readouterr().out.strip() == "1 imported, 0 updated, 1 archived, 0 failed"
    (old,) = hub_findings(org, DEV, "us-east-1").values()
    (new,) = hub_findings(org, DEV, "eu-west-1").values()
    assert old["Id"] == new["Id"] and old["RecordState"] == "ARCHIVED" and new["RecordState"] == "ACTIVE"


class FirstRequestsOf:
    """Picks the first ``count`` requests of one account for ExpiredToken (the simulator's expire_requests)."""

    def __init__(self, account_id: str, count: int = 1):
        self.account_id, self.count, self.picked = account_id, count, 0

    def __call__(self, call) -> bool:
        if call.account_id != self.account_id or self.picked >= self.count:
            return False
        self.picked += 1
        return True


def assume_role_calls(sim):
    """AssumeRole calls (the simulator counts them under the caller's account, the management account)."""
    return sum(n for (_, _, action), n in sim.call_counts().items() if action == "sts:AssumeRole")


@pytest.mark.parametrize("action", ["securityhub:GetFindings", "securityhub:BatchImportFindings"])
def test_credentials_that_expire_mid_upload_are_renewed_once_and_the_upload_goes_on(org, tmp_path, capsys, action):
    expire = FirstRequestsOf(PROD)
    org.faults = Faults(expire_requests={action: expire})
    before = assume_role_calls(org)  # the fixture's own calls that enabled Security Hub
    code = securityhub.main([write(tmp_path, first_scan())])
    assert expire.picked == 1
    assert (code, capsys.readouterr().out.strip()) == (0, "6 imported, 0 updated, 0 archived, 0 failed")
    assert assume_role_calls(org) - before == 3  # PROD's and DEV's roles for the upload, and PROD's once more to renew
    org.faults = Faults()
    assert len(hub_findings(org, PROD, "us-east-1")) == 2


def test_credentials_expired_again_at_once_fail_that_targets_findings_naming_the_code(org, tmp_path, capsys):
    org.faults = Faults(expire_requests={"securityhub:BatchImportFindings": lambda call: call.account_id == PROD})
    code = securityhub.main([write(tmp_path, first_scan())])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.strip() == "3 imported, 0 updated, 0 archived, 3 failed"  # PROD's 3 FAILs; DEV and MANAGEMENT in
    assert f"account {PROD} us-east-1: ExpiredToken" in captured.err
    # Each of PROD's regions: tried, renewed, tried once more; never a third time.
    calls = {region: org.call_counts().get((PROD, region, "securityhub:BatchImportFindings"), 0) for region in REGIONS}
    assert calls == {"us-east-1": 2, "eu-west-1": 2}
