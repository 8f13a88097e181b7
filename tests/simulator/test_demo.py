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
