"""scanner.baseline: what is new, changed, unchanged and fixed, and what is not known this time.

The end-to-end test against the simulated organization is tests/reports/test_baseline_scan.py; here the
comparison's rules are checked one by one on documents built by the host's own record and document
builders (``scanner.document``), and the command line's handling of a bad baseline.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.baseline import compare_with_baseline, counts_toward_exit, judged_targets, load_baseline
from scanner.document import build_document, result_record
from scanner.errors import UsageError
from scanner.results_schema import validate_document
from scanner.scan import exit_code_for

MGMT, PROD, DEV = "111111111111", "222222222222", "333333333333"


def record(status: str, account: str = PROD, region: str = "us-east-1", resource: str = "key-1",
           check: str = "kms_key_policy_no_public_access", severity: str = "critical", message: str = "") -> dict:
    return result_record(check_id=check, title="title", service="kms", status=status, severity=severity,
                         account_id=account, region=region, target_region=region, resource_type="AWS::KMS::Key",
                         resource_id=resource, resource_arn=None, message=message or f"{resource} {status}", evidence={})


def doc(results: list[dict], accounts: dict[str, str] | None = None, regions: tuple[str, ...] = ("us-east-1",),
        scan_id: str = "scan-2") -> dict:
    accounts = accounts or {MGMT: "scanned", PROD: "scanned", DEV: "scanned"}
    scan = {"id": scan_id, "started_at": "2026-11-30T10:00:00.000Z", "finished_at": "2026-11-30T10:01:00.000Z",
            "mode": "organization", "organization_id": "o-exampleorg01", "management_account_id": MGMT,
            "regions": list(regions), "checks": [{"id": "kms_key_policy_no_public_access", "title": "t", "severity": "critical"}],
            "accounts": [{"id": a, "name": a, "status": s, "error": None if s == "scanned" else "x"} for a, s in accounts.items()]}
    return build_document(scan, results)


def test_new_unchanged_and_changed_by_fingerprint():
    before = doc([record("FAIL", resource="same"), record("FAIL", resource="msg", message="old"),
                  record("FAIL", resource="sev", severity="high")], scan_id="scan-1")
    after = doc([record("FAIL", resource="same"), record("FAIL", resource="msg", message="new text"),
                 record("FAIL", resource="sev", severity="critical"), record("FAIL", resource="brand-new")])
    compared = compare_with_baseline(after, before)
    change = {r["resource_id"]: r["change"] for r in compared["results"]}
    assert change == {"same": "unchanged", "msg": "changed", "sev": "changed", "brand-new": "new"}
    previous = {r["resource_id"]: r.get("previous") for r in compared["results"]}
    assert previous["msg"]["message"] == "old" and previous["sev"]["severity"] == "high"
    assert previous["same"] is None
    assert compared["baseline"] == {"scan_id": "scan-1", "started_at": before["scan"]["started_at"],
                                    "finished_at": before["scan"]["finished_at"], "interrupted": False,
                                    "counts": {"new": 1, "unchanged": 1, "changed": 2, "fixed": 0}}
    validate_document(compared)


def test_fixed_when_it_passes_or_its_resource_is_gone():
    before = doc([record("FAIL", resource="passes"), record("FAIL", resource="gone"), record("FAIL", resource="stays")],
                 scan_id="scan-1")
    after = doc([record("PASS", resource="passes"), record("FAIL", resource="stays")])
    compared = compare_with_baseline(after, before)
    assert {f["resource_id"]: f["fixed_reason"] for f in compared["fixed"]} == {"passes": "passes", "gone": "gone"}
    validate_document(compared)


@pytest.mark.parametrize("after_results, accounts, regions, why", [
    ([record("ERROR", resource=PROD)], None, ("us-east-1",), "the check ended in ERROR for that target"),
    ([record("ERROR", resource=PROD)], {MGMT: "scanned", PROD: "error"}, ("us-east-1",), "the role could not be assumed"),
    ([], {MGMT: "scanned", PROD: "skipped"}, ("us-east-1",), "the account was skipped"),
    ([record("PASS", account=MGMT, resource="other")], {MGMT: "scanned"}, ("us-east-1",), "the account was excluded or left"),
    ([record("PASS", region="eu-west-1", resource="other")], None, ("eu-west-1",), "the region was not scanned"),
    ([record("NOT_APPLICABLE", resource="gone")], None, ("us-east-1",), "NOT_APPLICABLE is not a PASS"),
])
def test_not_judged_is_not_fixed(after_results, accounts, regions, why):
    before = doc([record("FAIL", resource="gone")], scan_id="scan-1")
    compared = compare_with_baseline(doc(after_results, accounts=accounts, regions=regions), before)
    assert compared["fixed"] == [], why


def test_another_check_in_the_same_target_does_not_judge_it():
    before = doc([record("FAIL", resource="gone")], scan_id="scan-1")
    after = doc([record("PASS", resource="gone-too", check="kms_key_policy_admin_restricted")])
    assert judged_targets(after) == {(PROD, "us-east-1", "kms_key_policy_admin_restricted")}
    assert compare_with_baseline(after, before)["fixed"] == []


def test_a_second_comparison_replaces_the_first():
    before = doc([record("FAIL", resource="a")], scan_id="scan-1")
    once = compare_with_baseline(doc([record("PASS", resource="a")]), before)
    again = compare_with_baseline(once, doc([record("PASS", resource="a")], scan_id="scan-0"))
    assert again["fixed"] == [] and again["baseline"]["scan_id"] == "scan-0"
    assert [r["change"] for r in again["results"]] == ["unchanged"]
    assert "previous" not in again["results"][0]


def test_fail_on_new_counts_only_new_failures():
    before = doc([record("FAIL", resource="known")], scan_id="scan-1")
    compared = compare_with_baseline(doc([record("FAIL", resource="known"), record("FAIL", resource="new", severity="low")]), before)
    assert exit_code_for(compared["results"], "low", fail_on_new=True) == 1
    assert exit_code_for(compared["results"], "high", fail_on_new=True) == 0  # the new FAIL is below --fail-on
    assert exit_code_for(compared["results"], "high") == 1
    assert [r["resource_id"] for r in counts_toward_exit(compared["results"], True)] == ["new"]
    # Without a baseline (the first scan of a history) every FAIL is new.
    assert len(counts_toward_exit(doc([record("FAIL")])["results"], True)) == 1


def test_hostile_text_in_a_baseline_is_made_safe(tmp_path):
    before = doc([record("FAIL", resource="gone")], scan_id="scan-1")
    before["results"][0]["message"] = "evil\x00\x1b[31m text"
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(before), encoding="utf-8")
    compared = compare_with_baseline(doc([record("PASS", resource="other")]), load_baseline(path))
    assert "\x00" not in compared["fixed"][0]["message"] and "\x1b" not in compared["fixed"][0]["message"]


@pytest.mark.parametrize("content, expected", [
    (None, "no such file"),
    ("{not json", "not valid JSON"),
    ('{"schema_version": 1, "tool": {}, "scan": {}, "results": []}', "not an orgscan result document"),
    ('{"schema_version": 7}', "schema_version 7 is not supported"),
])
def test_a_bad_baseline_is_one_line_and_exit_2(tmp_path, capsys, content, expected):
    from scanner.cli import main

    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=expected):
        load_baseline(path)
    # The scan refuses it before any AWS call: no credentials or simulator are needed to get exit code 2.
    assert main(["scan", "--baseline", str(path), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--baseline" in err and expected in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_fail_on_new_needs_a_baseline(tmp_path, capsys):
    from scanner.cli import main

    assert main(["scan", "--fail-on-new", "--output-dir", str(tmp_path / "out")]) == 2
    assert "--fail-on-new needs --baseline" in capsys.readouterr().err


def test_report_baseline_renders_the_comparison(tmp_path):
    from scanner.cli import main

    before = doc([record("FAIL", resource="gone"), record("FAIL", resource="stays")], scan_id="scan-1")
    after = doc([record("FAIL", resource="stays"), record("FAIL", resource="new")])
    (tmp_path / "before.json").write_text(json.dumps(before), encoding="utf-8")
    (tmp_path / "results.json").write_text(json.dumps(after), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["report", str(tmp_path / "results.json"), "--baseline", str(tmp_path / "before.json"),
                 "--format", "json,asff,markdown", "--output-dir", str(out)]) == 0
    rendered = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [f["resource_id"] for f in rendered["fixed"]] == ["gone"]
    # ASFF: the finding of the resource that is gone is archived and PASSED, as `upload securityhub` archives gone resources.
    findings = json.loads((out / "findings.asff.json").read_text(encoding="utf-8"))
    archived = [f for f in findings if f["RecordState"] == "ARCHIVED"]
    assert [(f["Compliance"]["Status"], f["ProductFields"]["orgscan/Fingerprint"]) for f in archived] == [
        ("PASSED", before["results"][0]["fingerprint"])]
    assert "**1 new FAIL**, **1 fixed**, 0 changed." in (out / "summary.md").read_text(encoding="utf-8")
    assert main(["report", str(tmp_path / "results.json"), "--baseline", str(tmp_path / "missing.json"),
                 "--format", "json", "--output-dir", str(out)]) == 2
