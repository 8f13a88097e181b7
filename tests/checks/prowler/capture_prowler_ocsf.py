"""Capture real Prowler JSON-OCSF output for the converter's tests (run by hand, not by pytest).

    python tests/checks/prowler/capture_prowler_ocsf.py /opt/prowler-venv/bin/prowler

Runs Prowler through the bridge's own invocation code against a member account
of the loopback organization (moto on 127.0.0.1, fake credentials only) and
writes ``data/prowler-<version>-ocsf.json`` next to this file, plus a
``.meta.json`` saying how it was made.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[2]))

from checks.prowler.invocation import prowler_environment, run_prowler  # noqa: E402
from checks.prowler.settings import ProwlerSettings  # noqa: E402
from prowler_loopback import REGION, loopback_organization  # noqa: E402

#: PASS and FAIL (kms), FAIL for the account as a whole (cloudtrail), MANUAL (account).
SERVICES = ("kms", "cloudtrail", "account")


def prowler_version(executable: str) -> str:
    python = Path(executable).with_name("python")
    return subprocess.run(
        [str(python), "-c", "from prowler.config.config import prowler_version; print(prowler_version)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def main(executable: str) -> None:
    version = prowler_version(executable)
    settings = ProwlerSettings(executable=executable, services=SERVICES, timeout_seconds=600)
    with loopback_organization() as organization:
        inherited = {**os.environ, "AWS_ENDPOINT_URL": organization.endpoint_url}
        environment = prowler_environment(inherited, organization.assume_member_role(), REGION)
        run = run_prowler(settings, environment, (REGION,))
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    target = data / f"prowler-{version}-ocsf.json"
    target.write_text(json.dumps(run.records, indent=1) + "\n", encoding="utf-8")
    meta = {
        "prowler_version": version,
        "command": "prowler aws --services " + " ".join(SERVICES) + f" --region {REGION} --output-formats json-ocsf",
        "target": "member account of the loopback organization (moto server on 127.0.0.1, fake credentials)",
        "account_id": organization.member_account_id,
        "unrotated_key_id": organization.unrotated_key_id,
        "rotated_key_id": organization.rotated_key_id,
        "exit_status": run.exit_status,
        "logged_errors": list(run.logged_errors),
    }
    (data / f"prowler-{version}-ocsf.meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"{target}: {len(run.records)} findings, exit status {run.exit_status}, {run.logged_error_count} logged errors")


if __name__ == "__main__":
    main(sys.argv[1])
