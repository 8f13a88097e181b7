"""Issue 15, finding 4: an output directory someone else can reach must not be trusted.

Each test scans the small organization through the real command line, then
plays the attacker with write access to the output directory (or to the spool
in it): a planted symbolic link, a group-writable directory, a forged PASS in
the spool, a plugin named in ``plan.json``. See docs/security.md.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.reliability.harness import FAKE_PLUGIN, assert_accounts_for_everything, run_orgscan_in_process

CHECKS = ("--checks", "kms_key_policy_no_public_access,fake_vpc_count")
SPOOL_DIR = ".orgscan-spool"


def _one_line_exit_2(run, *fragments: str) -> None:
    assert run.exit_code == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("orgscan: error:"), run.stderr
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def _resume(org, output_dir: Path, *extra: str, plugins=(FAKE_PLUGIN,), environment=None):
    """``orgscan scan --resume`` with the plugins named on its own command line."""
    import contextlib
    import io

    from scanner.cli import main
    from tests.reliability.harness import _environment, scan_environment, unloadable_plugins

    argv = ["scan", "--resume", str(output_dir), "--quiet", *extra]
    for plugin in plugins:
        argv += ["--plugin", plugin]
    for name in unloadable_plugins():
        argv += ["--disable-plugin", name]
    stderr = io.StringIO()
    with _environment({**scan_environment(org, output_dir.parent), **(environment or {})}), contextlib.redirect_stderr(stderr):
        code = main(argv)
    from tests.reliability.harness import ScanRun

    return ScanRun(code, stderr.getvalue(), output_dir)


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    return path


def test_a_symlinked_spool_file_is_never_followed(org, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.chmod(victim, 0o600)
    output_dir = _private_dir(tmp_path / "out")
    _private_dir(output_dir / SPOOL_DIR)
    (output_dir / SPOOL_DIR / "results.jsonl").symlink_to(victim)

    run = run_orgscan_in_process(org, output_dir, *CHECKS)

    assert run.exit_code == 1, run.stderr
    assert victim.read_text() == "precious\n"
    assert oct(victim.stat().st_mode & 0o777) == "0o600"
    spool = output_dir / SPOOL_DIR / "results.jsonl"
    assert not spool.is_symlink() and spool.is_file()
    assert_accounts_for_everything(run.document)


def test_resume_refuses_a_symlinked_spool_file(org, tmp_path):
    output_dir = tmp_path / "out"
    assert run_orgscan_in_process(org, output_dir, *CHECKS).exit_code == 1
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    spool = output_dir / SPOOL_DIR / "results.jsonl"
    spool.unlink()
    spool.symlink_to(victim)

    run = _resume(org, output_dir)

    _one_line_exit_2(run, "results.jsonl", "symbolic link")
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777], ids=["group-writable", "world-writable", "both"])
def test_an_output_directory_others_can_write_is_refused(org, tmp_path, mode):
    output_dir = _private_dir(tmp_path / "out")
    os.chmod(output_dir, mode)

    run = run_orgscan_in_process(org, output_dir, *CHECKS)

    _one_line_exit_2(run, str(output_dir), "writable by group or others")
    assert list(output_dir.iterdir()) == [], "nothing may be created in a refused directory"


def test_a_spool_directory_others_can_write_is_refused(org, tmp_path):
    output_dir = _private_dir(tmp_path / "out")
    spool = _private_dir(output_dir / SPOOL_DIR)
    os.chmod(spool, 0o777)

    run = run_orgscan_in_process(org, output_dir, *CHECKS)

    _one_line_exit_2(run, SPOOL_DIR, "writable by group or others")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_an_output_directory_of_another_user_is_refused(org, tmp_path):
    output_dir = _private_dir(tmp_path / "out")
    os.chown(output_dir, 4242, -1)

    run = run_orgscan_in_process(org, output_dir, *CHECKS)

    _one_line_exit_2(run, str(output_dir), "owned by another user")


def test_a_forged_pass_in_the_spool_is_ignored_on_resume(org, tmp_path):
    output_dir = tmp_path / "out"
    clean = run_orgscan_in_process(org, output_dir, *CHECKS)
    assert clean.exit_code == 1, clean.stderr
    failing = [r for r in clean.document["results"] if r["status"] == "FAIL" and r["check_id"] == "kms_key_policy_no_public_access"]
    assert failing, "the small organization has public keys"
    spool = output_dir / SPOOL_DIR / "results.jsonl"
    # The attacker turns every FAIL into a PASS, keeping everything else as it was.
    forged = spool.read_text().replace('"status": "FAIL"', '"status": "PASS"')
    assert forged != spool.read_text()
    spool.write_text(forged)
    (output_dir / "results.json").unlink()

    run = _resume(org, output_dir)

    assert run.exit_code == 1, run.stderr
    assert "does not match its HMAC" in run.stderr
    resumed = run.document
    assert_accounts_for_everything(resumed)
    assert {r["fingerprint"] for r in resumed["results"] if r["status"] == "FAIL"} >= {r["fingerprint"] for r in failing}
    assert [(r["fingerprint"], r["status"]) for r in resumed["results"]] == [(r["fingerprint"], r["status"]) for r in clean.document["results"]]


def test_a_changed_plan_is_refused_and_its_plugin_never_loaded(org, tmp_path):
    canary = tmp_path / "canary.log"
    output_dir = tmp_path / "out"
    assert run_orgscan_in_process(org, output_dir, *CHECKS).exit_code == 1
    plan_path = output_dir / SPOOL_DIR / "plan.json"
    plan = json.loads(plan_path.read_text())
    plan["settings"]["plugin"].append("tests.plugins.import_canary")
    plan_path.write_text(json.dumps(plan, indent=1, sort_keys=True))

    run = _resume(org, output_dir, environment={"ORGSCAN_TEST_CANARY": str(canary)})

    _one_line_exit_2(run, "plan.json", "HMAC")
    assert not canary.exists(), "a plugin named only in plan.json was loaded"


def test_resume_loads_only_the_plugins_its_command_line_names(org, tmp_path):
    """Even an authentic plan's plugins are not imported on its word: the command line names them again."""
    canary = tmp_path / "canary.log"
    output_dir = tmp_path / "out"
    first = run_orgscan_in_process(org, output_dir, *CHECKS, plugins=(FAKE_PLUGIN, "tests.plugins.import_canary"),
                                   environment={"ORGSCAN_TEST_CANARY": str(canary)})
    assert first.exit_code == 1, first.stderr
    loads = canary.read_text().count("loaded")
    (output_dir / "results.json").unlink()

    run = _resume(org, output_dir, environment={"ORGSCAN_TEST_CANARY": str(canary)})

    assert run.exit_code == 1, run.stderr
    assert canary.read_text().count("loaded") == loads, "resume loaded a plugin its command line did not name"
    assert_accounts_for_everything(run.document)


def test_resume_without_the_plugin_of_a_planned_check_says_which(org, tmp_path):
    output_dir = tmp_path / "out"
    assert run_orgscan_in_process(org, output_dir, *CHECKS).exit_code == 1

    run = _resume(org, output_dir, plugins=())

    _one_line_exit_2(run, "fake_vpc_count", "--plugin", FAKE_PLUGIN)


def test_spool_key_lives_outside_the_output_directory_and_is_private(org, tmp_path):
    from scanner.output_dir import SPOOL_KEY_FILE, state_dir

    output_dir = tmp_path / "out"
    assert run_orgscan_in_process(org, output_dir, *CHECKS).exit_code == 1
    key = state_dir() / SPOOL_KEY_FILE
    assert key.is_file() and oct(key.stat().st_mode & 0o777) == "0o600"
    assert output_dir.resolve() not in key.resolve().parents
    assert oct(state_dir().stat().st_mode & 0o777) == "0o700"
