"""Fault 1: role assumption denied in two accounts: those accounts are ERROR with the reason, the rest fully scanned."""
from __future__ import annotations

from tests.reliability.harness import MEMBERS, assert_accounts_for_everything, results_of, scan

from scanner.simulator import Faults

DENIED = {MEMBERS[0], MEMBERS[2]}


def test_denied_role_makes_only_those_accounts_error(org, clean_scan, tmp_path):
    org.faults = Faults(deny_assume_role=set(DENIED))

    run = scan(org, tmp_path)

    document = run.document
    assert run.exit_code in (1, 3), run.stderr
    assert_accounts_for_everything(document)
    accounts = {a["id"]: a for a in document["scan"]["accounts"]}
    for account_id in DENIED:
        account = accounts[account_id]
        assert account["status"] == "error"
        assert f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole" in account["error"]
        assert "AccessDenied" in account["error"]
        results = results_of(document, account_id)
        assert results and {r["status"] for r in results} == {"ERROR"}
        assert all("cannot assume" in r["message"] and "AccessDenied" in r["message"] for r in results)
    clean = clean_scan.document
    for account_id in set(accounts) - DENIED:
        assert accounts[account_id]["status"] == "scanned"
        assert results_of(document, account_id) == results_of(clean, account_id)
