"""The result document: fingerprints, the spool (torn lines, resume markers), gaps and the summary."""
import json

from scanner.document import Spool, build_document, find_gaps, load_document, result_record, summarise
from scanner.errors import UsageError
from scanner.model import fingerprint

import pytest


def record(check="c1", account="111111111111", region="us-east-1", status="PASS", resource="r1", severity="high"):
    return result_record(
        check_id=check, title="t", service="s", status=status, severity=severity, account_id=account,
        region=region, target_region=region, resource_type="T", resource_id=resource, resource_arn=None, message="m",
    )


def test_fingerprint_is_stable_and_distinguishes_every_part():
    base = fingerprint("c", "111111111111", "us-east-1", "r")
    assert base == fingerprint("c", "111111111111", "us-east-1", "r")
    assert len({base, fingerprint("d", "111111111111", "us-east-1", "r"), fingerprint("c", "222222222222", "us-east-1", "r"),
                fingerprint("c", "111111111111", "eu-west-1", "r"), fingerprint("c", "111111111111", "us-east-1", "s")}) == 5


def test_spool_keeps_only_completed_targets(tmp_path):
    spool = Spool(tmp_path)
    spool.create()
    spool.write_plan({"scan_id": "s1"})
    spool.open(truncate=True)
    spool.write_target("111111111111", "us-east-1", ["c1"], [record()])
    spool.close()
    # A process killed mid-target leaves results without a done marker, and maybe a torn line.
    with open(spool.path, "a") as handle:
        handle.write(json.dumps(record(region="eu-west-1")) + "\n")
        handle.write('{"check_id": "c1", "sta')
    assert spool.completed_targets() == {("111111111111", "us-east-1")}
    assert [r["region"] for r in spool.results()] == ["us-east-1"]
    assert oct(spool.path.stat().st_mode & 0o777) == "0o600"


def test_a_spooled_line_that_is_not_safe_json_makes_its_target_run_again(tmp_path, caplog):
    # Each spooled line is parsed once, strictly: one that holds NaN (JSON that orgscan never writes) is not a
    # record, so its target's HMAC no longer matches, and the target counts as not done instead of stopping the read.
    spool = Spool(tmp_path)
    spool.create()
    spool.write_plan({"scan_id": "s1"})
    spool.open(truncate=True)
    spool.write_target("111111111111", "us-east-1", ["c1"], [record()])
    spool.write_target("111111111111", "eu-west-1", ["c1"], [record(region="eu-west-1")])
    spool.close()
    lines = spool.path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace('"evidence": {}', '"evidence": {"x": NaN}')
    assert "NaN" in lines[0]
    spool.path.write_text("".join(lines))
    assert spool.completed_targets() == {("111111111111", "eu-west-1")}
    assert [r["region"] for r in spool.results()] == ["eu-west-1"]
    assert "does not match its HMAC" in caplog.text


def test_gaps_name_every_unaccounted_planned_result():
    planned = [("111111111111", "us-east-1", "c1"), ("111111111111", "us-east-1", "c2"), ("111111111111", "global", "bridge")]
    results = [record(check="c1"), {**record(check="prowler.x", region="global")}]
    gaps = find_gaps(planned, results, origin_of={"prowler.x": "bridge"})
    assert gaps == [("111111111111", "us-east-1", "c2")]


def test_summary_counts_and_pass_rate():
    results = [record(status="PASS"), record(status="FAIL", resource="r2"), record(status="FAIL", resource="r3", severity="low"),
               record(status="ERROR", resource="r4")]
    summary = summarise(results)
    assert summary["by_status"] == {"PASS": 1, "FAIL": 2, "ERROR": 1, "NOT_APPLICABLE": 0}
    assert summary["failed_by_severity"]["high"] == 1 and summary["failed_by_severity"]["low"] == 1
    assert summary["pass_rate"] == round(1 / 3, 4)
    document = build_document({"id": "x"}, results)
    assert document["schema_version"] == 1 and document["tool"]["name"] == "orgscan"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON"),
        ('{"schema_version": 7}', "schema_version 7 is not supported"),
        ('{"schema_version": 1}', "'tool' is a required property"),
        ('{"schema_version": 1, "tool": {"name": "orgscan", "version": "1"}, "scan": {}, "results": []}', r"scan: 'id' is a required property"),
    ],
)
def test_load_document_rejects_bad_files_with_one_line(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_document(path)
