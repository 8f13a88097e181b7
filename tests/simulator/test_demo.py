"""`orgscan demo`: a real scan of a simulated organization, every report, a summary; --keep-running serves it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3

from scanner.simulator.demo import main

SMALL = """
[organization]
management_account = "111111111111"
regions = ["us-east-1", "eu-west-1"]
units = ["Prod"]

[[accounts]]
id = "111111111111"
name = "management"
email = "m@example.com"
default_vpc = false

[[accounts]]
id = "222222222222"
name = "prod"
email = "p@example.com"
ou = "Prod"
root_mfa = false
default_vpc = false

# Open to everyone (a "Principal": "*" statement without a condition: AWS KMS developer guide,
# "Key policies", Principal); the demo fixes it between its two scans.
[[accounts.kms_keys]]
id = "2b2b2b2b-2222-4222-8222-000000000001"
region = "us-east-1"
description = "public by mistake"
rotation = true
policy = '''
{"Version": "2012-10-17", "Statement": [
  {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:*", "Resource": "*"},
  {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
]}
'''

[[accounts]]
id = "333333333333"
name = "locked"
email = "l@example.com"
role_assumable = false

[[accounts]]
id = "444444444444"
name = "closed"
email = "c@example.com"
status = "SUSPENDED"
"""


def test_demo_scans_and_writes_every_report(tmp_path):
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL, encoding="utf-8")
    output = tmp_path / "out"
    # The installed command, as a user runs it; a profile that does not exist must not matter.
    environment = {**os.environ, "AWS_PROFILE": "must-not-be-used"}
    environment.pop("AWS_ENDPOINT_URL", None)
    finished = subprocess.run(
        [sys.executable, "-c", "import sys; from scanner.cli import main; sys.exit(main(sys.argv[1:]))",
         "demo", "--scenario", str(scenario), "--output-dir", str(output)],
        capture_output=True, text=True, env=environment, timeout=120,
    )
    assert finished.returncode in (1, 3), finished.stderr  # FAILs (root MFA) and ERRORs (the locked account)
    for name in ("results.json", "report.html", "results.sarif", "report.csv", "compliance.csv", "summary.md"):
        assert (output / name).exists(), name
    document = json.loads((output / "results.json").read_text())
    accounts = {a["id"]: a["status"] for a in document["scan"]["accounts"]}
    assert accounts == {"111111111111": "scanned", "222222222222": "scanned", "333333333333": "error", "444444444444": "skipped"}
    assert {r["region"] for r in document["results"]} >= {"us-east-1", "eu-west-1", "global"}
    assert f"HTML report: {(output / 'report.html').resolve()}" in finished.stdout
    assert "Results:" in finished.stdout
    assert "Traceback" not in finished.stderr
    # The reports are compared with "last week's" scan: the public key was fixed in between, and the
    # management account (the only other scanned account) created a public key.
    last_week = json.loads((output / "last-week" / "results.json").read_text())
    assert document["baseline"]["scan_id"] == last_week["scan"]["id"]
    assert [(f["account_id"], f["check_id"], f["fixed_reason"]) for f in document["fixed"]] == [
        ("222222222222", "kms_key_policy_no_public_access", "passes")]
    new_fails = [r for r in document["results"] if r["change"] == "new" and r["status"] == "FAIL"]
    assert [(r["account_id"], r["check_id"]) for r in new_fails] == [("111111111111", "kms_key_policy_no_public_access")]
    assert "Since last week's scan" in finished.stdout and "1 new FAIL, 1 fixed" in finished.stdout
    assert 'id="since-last-scan"' in (output / "report.html").read_text()


def test_demo_rejects_bad_options(tmp_path, capsys):
    assert main(["--scenario", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read scenario" in capsys.readouterr().err
    assert main(["--accounts", "0"]) == 2
    assert main(["--accounts", "3", "--scenario", "x.toml"]) == 2


def test_keep_running_serves_until_interrupted(tmp_path):
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from scanner.simulator.demo import main; sys.exit(main(sys.argv[1:]))",
         "--keep-running", "--scenario", str(scenario)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        exports = {}
        for line in process.stdout:
            if line.startswith("export "):
                name, _, value = line[len("export "):].strip().partition("=")
                exports[name] = value
            if line.startswith("Press Ctrl-C"):
                break
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        session = boto3.session.Session(aws_access_key_id=exports["AWS_ACCESS_KEY_ID"], aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
                                        aws_session_token=exports["AWS_SESSION_TOKEN"], region_name=exports["AWS_DEFAULT_REGION"])
        accounts = session.client("organizations", endpoint_url=exports["AWS_ENDPOINT_URL"]).list_accounts()["Accounts"]
        assert len(accounts) == 4
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_demo_of_the_default_organization_shows_accepted_risks(tmp_path):
    output = tmp_path / "out"
    environment = {**os.environ}
    environment.pop("AWS_ENDPOINT_URL", None)
    finished = subprocess.run(
        [sys.executable, "-c", "import sys; from scanner.cli import main; sys.exit(main(sys.argv[1:]))",
         "demo", "--output-dir", str(output)],
        capture_output=True, text=True, env=environment, timeout=300,
    )
    assert finished.returncode in (1, 3), finished.stderr
    document = json.loads((output / "results.json").read_text())
    accepted = document["suppressions"]
    assert accepted["source"] == str(output / "demo-suppressions.toml")
    suppressed = {(r["check_id"], r["account_id"], r["region"]) for r in document["results"] if "suppression" in r}
    # The demo file accepts Macie being off in the two non-production accounts and the research account's public test key.
    assert suppressed == {
        ("macie_enabled", "121212121212", "eu-west-1"),
        ("macie_enabled", "555555555555", "eu-west-1"), ("macie_enabled", "555555555555", "us-east-1"),
        ("kms_key_policy_no_public_access", "121212121212", "us-east-1"),
    }
    assert [e["id"] for e in accepted["expired"]] == ["web-dev-trail-migration"] and accepted["unused"] == []
    assert "web-dev-trail-migration" in finished.stderr  # the expired entry is warned about
    assert "Accepted risks: 4 FAIL(s) suppressed" in finished.stdout
    assert 'id="filter-suppressed"' in (output / "report.html").read_text(encoding="utf-8")
