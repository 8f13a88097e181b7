"""Fault 4: one action denied inside an account: only the checks needing it are ERROR, naming the action."""
from __future__ import annotations

from tests.reliability.harness import MEMBERS, assert_accounts_for_everything, results_of, scan

from scanner.simulator import Faults

ACCOUNT = MEMBERS[1]
ACTION = "kms:GetKeyPolicy"


def test_a_denied_action_errors_only_the_checks_that_need_it(org, clean_scan, tmp_path):
    org.faults = Faults(deny_actions={ACCOUNT: [ACTION]})

    run = scan(org, tmp_path)

    document = run.document
    assert_accounts_for_everything(document)
    clean = clean_scan.document
    needing = {c["id"] for c in document["scan"]["checks"] if ACTION in c["iam_actions"]}
    assert needing, f"no loaded check declares {ACTION}"
    for account in document["scan"]["accounts"]:
        if account["id"] != ACCOUNT:
            assert results_of(document, account["id"]) == results_of(clean, account["id"])
    assert {a["id"]: a["status"] for a in document["scan"]["accounts"]}[ACCOUNT] == "scanned"

    denied_account = results_of(document, ACCOUNT)
    errors = [r for r in denied_account if r["status"] == "ERROR"]
    assert errors, "the denied action produced no ERROR"
    for result in errors:
        assert result["check_id"] in needing
        assert ACTION in result["message"], result["message"]
    untouched = [r for r in denied_account if r["check_id"] not in needing]
    assert untouched == [r for r in results_of(clean, ACCOUNT) if r["check_id"] not in needing]
    # The checks needing it are ERROR exactly where the clean run read a key policy.
    for check_id in needing:
        clean_had_keys = any(r["check_id"] == check_id and r["status"] in ("PASS", "FAIL") for r in results_of(clean, ACCOUNT))
        now_errors = any(r["check_id"] == check_id and r["status"] == "ERROR" for r in denied_account)
        assert now_errors == clean_had_keys, check_id
