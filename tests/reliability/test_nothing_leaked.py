"""Nothing leaked: no credential, session token or sensitive value reaches an output file or the log, at debug level.

A full scan of the default simulated organization (which plants secrets in tags,
URLs and names for the sensitive-data checks to find) runs as a real
``orgscan`` process with ``--log-level debug`` and every report format; then
every file under the output directory and the process's whole stderr are
searched for the scanner's own keys, every assumed-role key and token the
simulator issued, and every planted sensitive value.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys

from tests.reliability.harness import REPO_ROOT, scan_arguments, scan_environment

from scanner.simulator import default_scenario

FORMATS = ("html", "sarif", "csv", "markdown", "asff")
#: Shorter matches would be ordinary words, not secrets.
SHORTEST_SECRET = 8


def planted_sensitive_values(scenario) -> set[str]:
    """Every substring of the scenario's tags, URLs, names and descriptions that the sensitive-data detector flags."""
    from checks.sensitive_data.detector import SensitiveDataDetector

    detector = SensitiveDataDetector()
    texts: list[tuple[str, str]] = []
    for account in scenario.accounts:
        holders = [*account.kms_keys, *account.vpcs, *account.trails, *account.iam_roles, *account.iam_users,
                   *account.sns_topics, *account.s3_buckets]
        for holder in holders:
            texts.extend((key, value) for key, value in getattr(holder, "tags", {}).items())
        texts.extend(("description", key.description) for key in account.kms_keys)
        texts.extend(("name", principal.name) for principal in (*account.iam_users, *account.iam_roles))
        texts.extend(("endpoint", s.endpoint) for topic in account.sns_topics for s in topic.subscriptions)
        texts.extend(("url", destination.url) for destination in account.api_destinations)
    found = set()
    for name, text in texts:
        for start, end, _ in detector.spans(text, name):
            if end - start >= SHORTEST_SECRET:
                found.add(text[start:end])
    return found


def issued_credentials(simulation) -> set[str]:
    """The scanner's own keys and every key and token the simulator's STS issued (its fake keys count as secrets)."""
    from moto.sts.models import sts_backends

    environment = simulation.environment()
    secrets = {environment["AWS_SECRET_ACCESS_KEY"], environment["AWS_SESSION_TOKEN"], environment["AWS_ACCESS_KEY_ID"]}
    for account_id in list(sts_backends.keys()):
        for role in sts_backends[account_id]["aws"].assumed_roles:
            secrets.update({role.access_key_id, role.secret_access_key, role.session_token})
    return {s for s in secrets if s and len(s) >= SHORTEST_SECRET}


def test_no_secret_reaches_any_output_or_log(make_org, tmp_path):
    scenario = default_scenario()
    simulation = make_org(scenario)
    output_dir = tmp_path / "out"
    environment = scan_environment(simulation, tmp_path)
    environment["PYTHONPATH"] = str(REPO_ROOT)
    argv = scan_arguments(output_dir, "--log-level", "debug", "--format", ",".join(FORMATS), plugins=())
    argv = [a for a in argv if a != "--quiet"]
    argv[argv.index("--regions") + 1] = ",".join(scenario.regions)
    completed = subprocess.run([sys.executable, "-m", "scanner.cli", *argv], cwd=REPO_ROOT, env=environment,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode in (1, 3), completed.stderr[-2000:]
    # orgscan logs at debug; the SDK is held at INFO so that response bodies never reach the log.
    assert " INFO " in completed.stderr, "nothing was logged"

    planted = planted_sensitive_values(scenario)
    assert len(planted) >= 3, planted
    credentials = issued_credentials(simulation)
    assert len(credentials) > 3, "no assumed-role credentials were issued"
    document = (output_dir / "results.json").read_text()
    assert "sensitive" in document  # the sensitive-data checks did run and report

    files = [p for p in output_dir.rglob("*") if p.is_file()]
    written = {p.name for p in files}
    assert {"results.json"} <= written and len(files) >= 1 + len(FORMATS), sorted(written)
    haystacks = {"stderr": completed.stderr, "stdout": completed.stdout}
    haystacks.update({str(p.relative_to(output_dir)): p.read_bytes().decode("utf-8", "replace") for p in files})
    for secret in sorted(planted | credentials):
        for where, text in haystacks.items():
            assert secret not in text, f"a secret ({secret[:3]}...) was written to {where}"


def test_outputs_are_owner_only_and_no_temporary_file_is_left(make_org, tmp_path):
    from tests.reliability.harness import run_orgscan_in_process

    simulation = make_org(default_scenario())
    run = run_orgscan_in_process(simulation, tmp_path / "out", "--format", ",".join(FORMATS), plugins=())

    assert run.exit_code in (1, 3), run.stderr
    assert stat.S_IMODE(run.output_dir.stat().st_mode) & 0o077 == 0, "the output directory orgscan created is open to others"
    entries = list(run.output_dir.rglob("*"))
    assert any(p.name == "results.json" for p in entries)
    assert len([p for p in entries if p.is_file()]) >= 1 + len(FORMATS)
    for path in entries:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode & 0o077 == 0, f"{path} is readable by others: {oct(mode)}"
        else:
            assert mode == 0o600, f"{path} is not owner-only: {oct(mode)}"
            # .orgscan-reports lists the reports written, for the next scan to remove (docs/results.md).
            assert not (path.name.startswith(".") and path.name not in (".orgscan-spool", ".orgscan-reports")), f"temporary file left: {path}"


def test_private_files_are_replaced_atomically(tmp_path):
    from scanner.reporting import write_private_file

    target = tmp_path / "results.json"
    write_private_file(target, b'{"complete": true}')
    before = target.stat().st_ino

    try:
        write_private_file(target, None)  # type: ignore[arg-type]  # a write that fails half-way
    except TypeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("writing None should fail")
    assert target.read_bytes() == b'{"complete": true}', "a failed write damaged the previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"], "the temporary file was not removed"
    write_private_file(target, b"{}")
    assert target.stat().st_ino != before, "the file was rewritten in place instead of renamed over"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.access(target, os.R_OK)
