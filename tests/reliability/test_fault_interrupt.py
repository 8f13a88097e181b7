"""Fault 6: SIGINT or SIGTERM mid-scan: what was collected is on disk and valid, and ``--resume`` finishes the scan.

The scan runs as a real ``orgscan`` process against the loopback organization
served by this test process, slowed down by injected latency so that there is
time to interrupt it after its first targets are done.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.harness import (
    FAKE_PLUGIN,
    REPO_ROOT,
    assert_accounts_for_everything,
    comparable,
    scan_arguments,
    scan_environment,
    unloadable_plugins,
    _environment,
)

from scanner.simulator import Faults
from tests.reliability import result_signal_plugin

SPOOL = Path(".orgscan-spool") / "results.jsonl"
#: --resume loads only the plugins named on its own command line, never those plan.json names.
RESUME_PLUGINS = ("--plugin", FAKE_PLUGIN, *[arg for name in unloadable_plugins() for arg in ("--disable-plugin", name)])


def _done_markers(output_dir: Path) -> list[tuple[str, str]]:
    path = output_dir / SPOOL
    if not path.exists():
        return []
    markers = []
    for line in path.read_text().splitlines():
        if line.startswith('{"done"'):
            account, region, _ = json.loads(line)["done"]
            markers.append((account, region))
    return markers


def _wait_for_first_target(process: subprocess.Popen, ready: int, timeout: float = 60) -> None:
    """Block until the scan process reports its first result on the ``ready`` pipe (result_signal_plugin).

    ``timeout`` only keeps a broken scan from hanging the suite: nothing is timed.
    """
    readable, _, _ = select.select([ready], [], [], timeout)
    if not readable:
        raise AssertionError("no target was done in time")
    if os.read(ready, 1) != b"1":
        raise AssertionError(f"the scan ended before it could be interrupted: {process.communicate()}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_scan_keeps_what_it_collected_and_resumes(org, clean_scan, tmp_path, signum):
    output_dir = tmp_path / "out"
    environment = scan_environment(org, tmp_path)
    environment["PYTHONPATH"] = str(REPO_ROOT)
    org.faults = Faults(latency_ms=60)
    argv = scan_arguments(output_dir, plugins=(FAKE_PLUGIN, "tests.reliability.result_signal_plugin"))
    argv[argv.index("--concurrency") + 1] = "2"
    ready, notify = os.pipe()
    environment[result_signal_plugin.ENVIRONMENT_VARIABLE] = str(notify)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "scanner.cli", *argv], cwd=REPO_ROOT, env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, pass_fds=(notify,),
        )
    finally:
        os.close(notify)  # the process holds the only write end: its exit ends the pipe
    try:
        _wait_for_first_target(process, ready)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        os.close(ready)
        if process.poll() is None:
            process.kill()
            process.communicate()
    org.faults = Faults()

    # What was collected is on disk and valid.
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    results_path = output_dir / "results.json"
    interrupted = json.loads(results_path.read_text())
    assert interrupted["scan"]["interrupted"] is True
    assert_accounts_for_everything(interrupted)
    total_targets = len(interrupted["scan"]["accounts"]) * (len(interrupted["scan"]["regions"]) + 1)
    done_before = _done_markers(output_dir)
    assert 0 < len(done_before) < total_targets, "the interrupt came too late to leave anything to resume"
    for line in (output_dir / SPOOL).read_text().splitlines():
        json.loads(line)  # every spooled line is complete JSON
    not_scanned = [r for r in interrupted["results"] if "scan was interrupted" in r["message"]]
    assert not_scanned and all(r["status"] == "ERROR" and f"--resume {output_dir}" in r["message"] for r in not_scanned)
    assert {(r["account_id"], r["target_region"]) for r in not_scanned}.isdisjoint(done_before)
    assert stat.S_IMODE(results_path.stat().st_mode) == 0o600

    # Resume scans only what is missing, and the result equals an uninterrupted scan's.
    org.interceptor.reset_counts()
    from scanner.cli import main

    resume_stderr = io.StringIO()
    with _environment(scan_environment(org, tmp_path)), contextlib.redirect_stderr(resume_stderr):
        code = main(["scan", "--resume", str(output_dir), "--quiet", *RESUME_PLUGINS])
    assert code == clean_scan.exit_code, resume_stderr.getvalue()
    markers = Counter(_done_markers(output_dir))
    assert set(markers.values()) == {1}, f"targets scanned twice: {[t for t, n in markers.items() if n > 1]}"
    assert len(markers) == total_targets
    resumed_calls = sum(org.call_counts().values())
    assert 0 < resumed_calls < clean_scan.api_calls
    resumed = json.loads(results_path.read_text())
    assert "interrupted" not in resumed["scan"]
    assert resumed["scan"]["id"] == interrupted["scan"]["id"]
    assert_accounts_for_everything(resumed)
    assert comparable(resumed) == comparable(clean_scan.document)


def test_resume_after_a_kill_in_the_middle_of_a_spool_write(org, clean_scan, tmp_path):
    """A process killed while writing (SIGKILL, power loss) leaves a torn last line; resume must lose nothing."""
    import shutil

    output_dir = tmp_path / "out"
    shutil.copytree(clean_scan.output_dir, output_dir)
    (output_dir / "results.json").unlink()
    spool = output_dir / SPOOL
    lines = spool.read_text().splitlines(keepends=True)
    last_marker = max(i for i, line in enumerate(lines) if line.startswith('{"done"'))
    previous_marker = max(i for i, line in enumerate(lines[:last_marker]) if line.startswith('{"done"'))
    last_target_lines = lines[previous_marker + 1:last_marker + 1]
    assert len(last_target_lines) >= 2
    # The last target was being written when the process died: half of its first line reached the disk.
    torn = last_target_lines[0][: len(last_target_lines[0]) // 2]
    spool.write_text("".join(lines[: previous_marker + 1]) + torn)

    resume_stderr = io.StringIO()
    with _environment(scan_environment(org, tmp_path)), contextlib.redirect_stderr(resume_stderr):
        from scanner.cli import main

        code = main(["scan", "--resume", str(output_dir), "--quiet", *RESUME_PLUGINS])

    assert code == clean_scan.exit_code, resume_stderr.getvalue()
    markers = Counter(_done_markers(output_dir))
    assert set(markers.values()) == {1} and len(markers) == len(clean_scan.document["scan"]["accounts"]) * 3
    resumed = json.loads((output_dir / "results.json").read_text())
    assert_accounts_for_everything(resumed)
    assert comparable(resumed) == comparable(clean_scan.document), "a result was lost after the torn line"
