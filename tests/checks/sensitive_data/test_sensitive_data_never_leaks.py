"""A full organization scan, every report format, debug logging: no planted secret or personal data anywhere.

The values planted in tags, names, descriptions and URLs of the simulated
organization must be reported (FAIL, by kind and masked preview) and must not
appear in results.json, any report, any other file the scan wrote, or the log.
"""
from __future__ import annotations

import logging
from pathlib import Path

from test_sensitive_data_checks import CLEAN, DIRTY, PLANTED, SCENARIO

FORMATS = "html,sarif,asff,csv,markdown"


def test_planted_values_never_reach_outputs_or_logs(make_org, run_orgscan, tmp_path, capfd, caplog):
    make_org(SCENARIO)
    caplog.set_level(logging.DEBUG)
    code, document = run_orgscan("--org", "--regions", "us-east-1,eu-west-1", "--format", FORMATS,
                                 "--log-level", "debug", "--quiet")
    assert document is not None, f"scan wrote no results.json (exit {code})"
    mine = {"tags_no_sensitive_data", "names_no_sensitive_data", "urls_no_embedded_credentials"}
    failed = {(r["check_id"], r["account_id"]) for r in document["results"] if r["status"] == "FAIL" and r["check_id"] in mine}
    assert failed == {(check_id, DIRTY) for check_id in mine}
    assert any(r["check_id"] in mine and r["status"] == "PASS" and r["account_id"] == CLEAN for r in document["results"])

    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    suffixes = {path.suffix for path in written}
    assert {".json", ".html", ".sarif", ".csv", ".md"} <= suffixes, suffixes
    captured = capfd.readouterr()
    texts = {str(path): path.read_bytes().decode("utf-8", errors="replace") for path in written}
    texts["<stdout>"], texts["<stderr>"] = captured.out, captured.err
    texts["<log records>"] = "\n".join(record.getMessage() for record in caplog.records)
    for where, text in texts.items():
        for value in PLANTED:
            # JSON and HTML may escape characters; search the raw and the escaped forms
            for form in {value, value.replace("/", "\\/"), value.replace("+", "\\u002b"), value.replace("!", "&#33;")}:
                assert form not in text, f"{Path(where).name} holds planted value {value[:3]}..."
