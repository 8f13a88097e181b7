"""Fault 3: a check that raises gives ERROR for that check only; a check that hangs is timed out and the scan finishes."""
from __future__ import annotations

from tests.reliability import hanging_plugin, raising_plugin
from tests.reliability.harness import FAKE_PLUGIN, FEW_CHECKS, assert_accounts_for_everything, restricted, results_of, scan


def _without(document, check_id):
    return [r for r in results_of(document) if r["check_id"] != check_id]


def test_a_raising_check_errors_alone(org, clean_scan, tmp_path):
    run = scan(org, tmp_path, plugins=(FAKE_PLUGIN, "tests.reliability.raising_plugin"))

    document = run.document
    assert_accounts_for_everything(document)
    raised = [r for r in document["results"] if r["check_id"] == "raising_check"]
    # one ERROR per (account, region), each naming the exception and its message, no traceback
    assert len(raised) == len(document["scan"]["accounts"]) * len(document["scan"]["regions"])
    for result in raised:
        assert result["status"] == "ERROR"
        assert result["message"] == f"check failed: ValueError: {raising_plugin.MESSAGE}"
        assert "Traceback" not in result["message"]
    assert _without(document, "raising_check") == results_of(clean_scan.document)
    assert "Traceback" not in run.stderr


def test_a_hanging_check_times_out_and_the_scan_finishes(org, clean_scan, tmp_path):
    hanging_plugin.RELEASE.clear()
    hanging_plugin.STARTED.clear()
    hanging_plugin.RETURNED.clear()
    try:
        run = scan(
            org, tmp_path, "--check-timeout", "3", "--checks", ",".join((*FEW_CHECKS, "hanging_check")),
            plugins=(FAKE_PLUGIN, "tests.reliability.hanging_plugin"),
        )
        # The scan finished while every hanging check was still waiting to be released: it waited for
        # the timeout, never for the check (no clock is read here: the checks' own state says so).
        started, returned = sorted(hanging_plugin.STARTED), list(hanging_plugin.RETURNED)
    finally:
        hanging_plugin.RELEASE.set()

    document = run.document
    assert_accounts_for_everything(document)
    hung = [r for r in document["results"] if r["check_id"] == "hanging_check"]
    assert len(hung) == len(document["scan"]["accounts"])
    for result in hung:
        assert result["status"] == "ERROR"
        assert result["message"] == "check timed out after 3 s"
    assert restricted(document, FEW_CHECKS) == restricted(clean_scan.document, FEW_CHECKS)
    assert run.exit_code in (1, 3)
    assert started == sorted(r["account_id"] for r in hung) and returned == []


def test_a_check_breaking_its_contract_errors_alone(org, clean_scan, tmp_path):
    run = scan(org, tmp_path, plugins=(FAKE_PLUGIN, "tests.reliability.misbehaving_plugin"))

    assert (run.output_dir / "results.json").exists(), f"the whole scan died: {run.stderr}"
    document = run.document
    assert_accounts_for_everything(document)
    wrong = [r for r in document["results"] if r["check_id"] == "wrong_yield_check"]
    errors = [r for r in wrong if r["status"] == "ERROR"]
    assert len(errors) == len(document["scan"]["accounts"]) * len(document["scan"]["regions"])
    assert all("dict" in r["message"] and "Finding" in r["message"] for r in errors)
    assert _without(document, "wrong_yield_check") == results_of(clean_scan.document)
