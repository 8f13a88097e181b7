"""Issue 15, finding 2: strings from a member account that no encoder can write must never stop the scan.

A key policy is JSON that the member account writes; ``"Sid": "Open\\ud800"``
decodes to a lone surrogate, which UTF-8 cannot encode. The scan goes through
the real command line against the simulated organization; the value must
reach ``results.json`` visibly replaced, and every account must get results.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import re
from pathlib import Path

import pytest

from scanner.document import result_record
from scanner.sanitizer import MAX_SAFE_INTEGER, REPLACEMENT, safe_evidence, safe_text
from tests.reliability.harness import assert_accounts_for_everything, scan_environment, _environment

MANAGEMENT, MEMBER, OTHER_MEMBER = "111111111111", "222222222222", "333333333333"
REGION = "us-east-1"

#: The JSON text of a key policy whose public statement's Sid holds a lone surrogate and a NUL (JSON escapes: ASCII on the wire).
HOSTILE_POLICY_TEXT = (
    '{"Version": "2012-10-17", "Statement": ['
    f'{{"Sid": "Root", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{MEMBER}:root"}}, "Action": "kms:*", "Resource": "*"}},'
    '{"Sid": "Open\\ud800 and \\u0000 here", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}'
    "]}"
)

HOSTILE_ORG = {
    "name": "hostile-strings",
    "organization": {"management_account": MANAGEMENT, "regions": [REGION]},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com", "default_vpc": False},
        {"id": MEMBER, "name": "hostile", "email": "hostile@example.com", "default_vpc": False,
         "kms_keys": [{"region": REGION, "policy_text": HOSTILE_POLICY_TEXT, "aliases": ["alias/hostile"]}]},
        {"id": OTHER_MEMBER, "name": "innocent", "email": "innocent@example.com", "default_vpc": False,
         "kms_keys": [{"region": REGION, "aliases": ["alias/innocent"]}]},
    ],
}


def _scan(sim, tmp_path: Path, output_dir: Path, *extra: str) -> tuple[int, str]:
    from scanner.cli import main

    stderr = io.StringIO()
    argv = ["scan", "--org", "--regions", REGION, "--output-dir", str(output_dir), "--quiet",
            "--checks", "kms_key_policy_no_public_access", *extra]
    with _environment(scan_environment(sim, tmp_path)), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stderr.getvalue()


def test_a_lone_surrogate_in_a_key_policy_reaches_results_visibly_replaced(make_org, tmp_path):
    sim = make_org(HOSTILE_ORG)
    output_dir = tmp_path / "out"

    code, stderr = _scan(sim, tmp_path, output_dir, "--format", "html,sarif,csv,markdown,asff")

    # Public key in the hostile account: a FAIL (exit 1), not an internal error (exit 4).
    assert code == 1, stderr
    raw = (output_dir / "results.json").read_bytes()
    raw.decode("utf-8")  # strict UTF-8 throughout
    document = json.loads(raw)
    assert_accounts_for_everything(document)
    by_account = {r["account_id"]: r for r in document["results"] if r["check_id"] == "kms_key_policy_no_public_access"}
    assert by_account[OTHER_MEMBER]["status"] == "PASS"
    hostile = by_account[MEMBER]
    assert hostile["status"] == "FAIL"
    sid = hostile["evidence"]["public_statements"][0]["sid"]
    assert sid == f"Open{REPLACEMENT} and {REPLACEMENT} here"
    # No JSON escape of a surrogate or NUL either: decoded, the document holds none.
    assert not re.search("[\x00\ud800-\udfff]", json.dumps(document, ensure_ascii=False))
    for name in ("report.html", "results.sarif", "report.csv", "summary.md", "findings.asff.json"):
        assert (output_dir / name).read_bytes().decode("utf-8"), name


def test_resume_of_a_scan_with_hostile_strings_finishes(make_org, tmp_path):
    sim = make_org(HOSTILE_ORG)
    output_dir = tmp_path / "out"
    assert _scan(sim, tmp_path, output_dir)[0] == 1

    (output_dir / "results.json").unlink()
    from scanner.cli import main

    stderr = io.StringIO()
    with _environment(scan_environment(sim, tmp_path)), contextlib.redirect_stderr(stderr):
        code = main(["scan", "--resume", str(output_dir), "--quiet"])

    assert code == 1, stderr.getvalue()
    assert_accounts_for_everything(json.loads((output_dir / "results.json").read_text(encoding="utf-8")))


def test_reports_of_an_earlier_scan_do_not_stay_next_to_a_failed_one(make_org, tmp_path, monkeypatch):
    """A scan that dies before writing must not leave the previous scan's reports looking current."""
    sim = make_org(HOSTILE_ORG)
    output_dir = tmp_path / "out"
    assert _scan(sim, tmp_path, output_dir, "--format", "html,csv")[0] == 1
    assert (output_dir / "report.html").exists() and (output_dir / "report.csv").exists()

    # The next scan breaks after planning (a bug in a report writer, say): exit 4, nothing new written.
    import reports.json_document

    def broken_writer(document, directory):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(reports.json_document, "write_document", broken_writer)
    from scanner.plugins import build_plugin_manager  # noqa: F401 - the writer is looked up at registration

    code, stderr = _scan(sim, tmp_path, output_dir, "--format", "html")

    assert code == 4, stderr
    leftovers = sorted(p.name for p in output_dir.iterdir() if not p.name.startswith("."))
    assert leftovers == [], f"reports of the earlier scan left behind: {leftovers}"


# -- the sanitizer itself: one place, every value --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Open\ud800", f"Open{REPLACEMENT}"),
        ("a\x00b", f"a{REPLACEMENT}b"),
        ("tab\tnew\nline\r", "tab\tnew\nline\r"),
        ("\udcff\udfff", REPLACEMENT * 2),
        ("\ufeffbom kept, \u202e bidi kept (escaped by the text formats)", "\ufeffbom kept, \u202e bidi kept (escaped by the text formats)"),
    ],
)
def test_safe_text_replaces_what_no_encoder_writes(value, expected):
    assert safe_text(value) == expected
    safe_text(value).encode("utf-8")


def test_safe_text_bounds_absurd_sizes():
    text = safe_text("x" * 10_000_000, limit=100)
    assert len(text) < 200 and text.endswith("[truncated 9999900 chars]")


def test_evidence_is_plain_bounded_json():
    huge = 10**5000
    evidence = safe_evidence({
        "nan": math.nan, "inf": -math.inf, "huge": huge, "fine": MAX_SAFE_INTEGER, "ok": 1.5,
        "deep": _nested(100), "wide": list(range(5000)), 7: {"set": {3, 1}}, "sid": "Open\ud800",
    })
    text = json.dumps(evidence, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    assert evidence["nan"] == "NaN" and evidence["inf"] == "-Infinity"
    assert evidence["huge"].startswith("[integer of about 500")
    assert evidence["fine"] == MAX_SAFE_INTEGER and evidence["ok"] == 1.5
    assert len(evidence["wide"]) == 1001 and "more items" in evidence["wide"][-1]
    assert evidence["7"] == {"set": [1, 3]}
    assert "nested too deep" in json.dumps(evidence["deep"])


def test_every_field_of_a_record_is_made_safe():
    record = result_record(
        check_id="c", title="t\ud800", service="s", status="FAIL", severity="high", account_id=MEMBER, region=REGION,
        target_region=REGION, resource_type="T\x00", resource_id="key\udfff" + "k" * 5000, resource_arn="arn:\ud800",
        message="m\ud800" * 10_000, evidence={"n": math.inf},
    )
    text = json.dumps(record, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    assert record["resource_id"].startswith(f"key{REPLACEMENT}") and len(record["resource_id"]) < 2_100
    assert len(record["message"]) < 4_200


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"d": value}
    return value
